"""A grid of ``reproduce`` runs (architectures x widths x datasets x seeds) that resumes.

Each cell is one :func:`~ann2neo.experiments.reproduce.reproduce` run in its
own folder ``cells/<architecture>-w<width>-<dataset>-s<seed>/`` with its own
manifest.  A cell whose folder holds a complete manifest for the same
configuration is skipped; any other cell folder (missing, incomplete, another
configuration) is run again from scratch.  So a killed grid continues where it
stopped, and since every cell is seeded, it ends with the same results as an
uninterrupted run.  The grid's own ``grid.csv``, ``grid_hypotheses.csv``,
``grid.md``, ``figures/fig4_by_width.*`` (Figure 4) and, last, ``manifest.json``
are written after the last cell.
"""
from __future__ import annotations

import itertools
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from ..io._atomic import write_text
from ..io._lock import LOCK_NAME, run_lock
from ..io.manifest import MANIFEST, check_run, prepare_run_dir, write_manifest
from .config import ReproduceConfig
from .reproduce import _checkpoint

__all__ = ["GRID_AXES", "grid_configs", "load_grid_toml", "run_grid", "cell_name"]

#: Fields that can take a list of values in a grid.
GRID_AXES = ("architecture", "width", "dataset", "seed")
log = logging.getLogger("ann2neo.reproduce")


def cell_name(config: ReproduceConfig) -> str:
    """Folder name of a cell, e.g. ``mlp-w128-mnist5k-s0``."""
    source = config.dataset if config.data is None else "npz-" + Path(config.data).stem
    return f"{config.architecture}-w{config.width}-{source}-s{config.seed}"


def grid_configs(axes: dict, **settings) -> list:
    """Every combination of the ``axes`` values, as validated configurations.

    Parameters
    ----------
    axes : dict
        ``{field: list of values}`` for fields in :data:`GRID_AXES`.
    **settings
        Other :class:`ReproduceConfig` fields, shared by all cells.

    Returns
    -------
    list of ReproduceConfig
        In the order architecture, width, dataset, seed (the last varies fastest).

    Raises
    ------
    ValueError, TypeError
        For an unknown axis or any invalid cell, before anything runs.
    """
    unknown = set(axes) - set(GRID_AXES)
    if unknown:
        raise ValueError(f"grid axes must be among {GRID_AXES}; got {sorted(unknown)}")
    default = ReproduceConfig(**settings)
    names = [a for a in GRID_AXES if a in axes]
    values = []
    for a in names:
        v = axes[a]
        v = [v] if isinstance(v, (str, int)) else list(v)
        if not v:
            raise ValueError(f"grid axis {a} is empty")
        values.append(v)
    configs = [default.replace(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*values)]
    seen = [cell_name(c) for c in configs]
    if len(set(seen)) != len(seen):
        raise ValueError("the grid lists a cell twice")
    return configs


def load_grid_toml(path) -> tuple:
    """Read a grid file: a ``[grid]`` table of axes, other top-level keys are shared settings.

    Example file::

        epochs = 20
        mem_epochs = 200
        [grid]
        architecture = ["mlp", "cnn"]
        width = [64, 128, 256, 512]
        dataset = ["digits", "mnist5k"]

    Returns
    -------
    axes : dict
    settings : dict
    """
    import tomllib

    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    axes = doc.pop("grid", {})
    if not isinstance(axes, dict):
        raise ValueError(f"{path}: [grid] must be a table of axes")
    return axes, doc


def _with_population(cell: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A cell's rows with its ``population.csv`` columns after them (``note`` as ``population_note``)."""
    if not path.exists():  # a cell written before population.csv existed
        return cell
    keys = ["condition", "split", "layer"]
    pop = pd.read_csv(path, keep_default_na=False, na_values=[""]).rename(columns={"note": "population_note"})
    pop = pop[keys + [c for c in pop.columns if c not in cell.columns]]
    return cell.merge(pop.astype({k: cell[k].dtype for k in keys}), on=keys, how="left", validate="one_to_one")


def _same_config(folder: Path, config: ReproduceConfig) -> bool:
    status = check_run(folder)
    return status.complete and status.manifest.get("config") == json.loads(json.dumps(config.to_dict()))


def run_grid(out, configs, *, overwrite=False, argv=None) -> pd.DataFrame:
    """Run (or resume) a grid of cells; returns the grid table.

    Parameters
    ----------
    out : str or Path
        Grid folder.  A folder from an earlier run of the same kind is resumed;
        a folder holding anything else needs ``overwrite``.
    configs : list of ReproduceConfig
        From :func:`grid_configs`.
    overwrite : bool, default False
        Start over: the earlier grid's cells are removed.
    argv : list of str, optional

    Returns
    -------
    pandas.DataFrame
        All cells' rows, with ``architecture``, ``width``, ``dataset``, ``seed`` and ``cell`` first,
        then each cell's ``results.csv`` columns and its ``population.csv`` columns (``note`` renamed
        ``population_note``).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder")
    with run_lock(out):  # one grid per folder: a second one refuses
        return _run_grid(out, configs, overwrite, argv)


def _run_grid(out, configs, overwrite, argv):
    from .reproduce import reproduce

    marker = out / "grid.json"
    if any(p.name != LOCK_NAME for p in out.iterdir()) and not marker.exists() and not overwrite:
        raise FileExistsError(f"--out {out} is not empty and holds no grid; choose a new folder or pass --overwrite")
    if overwrite:
        prepare_run_dir(out, True, owned=("cells", "figures", "grid.*", "grid_*", MANIFEST))
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # the grid is incomplete until its manifest is rewritten
    write_text(marker, json.dumps({"cells": [cell_name(c) for c in configs]}, indent=2))
    frames = []
    for i, config in enumerate(configs):
        name = cell_name(config)
        folder = out / "cells" / name
        if _same_config(folder, config):
            log.info("cell %d/%d %s: complete, skipped (resume)", i + 1, len(configs), name)
        else:
            log.info("cell %d/%d %s: running", i + 1, len(configs), name)
            reproduce(folder, config, overwrite=True, argv=argv)
        _checkpoint(f"after-cell:{name}")
        cell = _with_population(pd.read_csv(folder / "results.csv", keep_default_na=False, na_values=[""]),
                                folder / "population.csv")
        cell.insert(0, "cell", name)
        for j, axis in enumerate(GRID_AXES):
            cell.insert(j, axis, getattr(config, axis) if axis != "dataset" else config.source)
        frames.append(cell)
    table = pd.concat(frames, ignore_index=True)
    files = ["grid.json"]
    write_text(out / "grid.csv", table.to_csv(index=False))
    files.append("grid.csv")
    from .outputs import hypotheses, rates_from_nodes, to_markdown

    hyp = []
    for name, cell in table.groupby("cell", sort=False):
        nodes = out / "cells" / name / "nodes.csv"
        rates = rates_from_nodes(pd.read_csv(nodes)) if nodes.exists() else None
        margin = next(c.equivalence_margin for c in configs if cell_name(c) == name)
        h = hypotheses(cell, rates=rates, margin=margin)
        h.insert(0, "cell", name)
        hyp.append(h)
    hyp = pd.concat(hyp, ignore_index=True)
    write_text(out / "grid_hypotheses.csv", hyp.to_csv(index=False))
    files.append("grid_hypotheses.csv")
    summary = hyp.groupby(["hypothesis", "split"])["holds"].agg(["sum", "count"]).reset_index()
    summary = summary.rename(columns={"sum": "cells_where_it_holds", "count": "cells"})
    write_text(out / "grid.md", "# Grid: hypotheses of section 3.2, cell by cell\n\n" + to_markdown(summary)
               + "\n" + to_markdown(hyp))
    files.append("grid.md")
    if any(c.figures for c in configs):
        from .outputs import write_grid_figure

        files.extend(str(f.relative_to(out)) for f in write_grid_figure(out / "figures", table))
    cell_files = [f"cells/{cell_name(c)}/{MANIFEST}" for c in configs]
    write_manifest(out, files + cell_files, config={"cells": [c.to_dict() for c in configs]},
                   argv=list(sys.argv if argv is None else argv))
    return table
