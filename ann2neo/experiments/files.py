"""``ann2neo analyze FILE`` and ``ann2neo compare ANN REAL``: statistics of recordings on disk.

Both read any recording ann2neo knows — a spike matrix in ``.npy`` (samples ×
nodes), an ann2neo NWB or NIX file, a spike store (``.zarr``), or a recording
of real neurons (``.mat``, any NWB file's Units table, any file Neo reads,
through :func:`ann2neo.load_recording`) — and write into a new or empty
folder: CSV tables, a JSON summary, PNG figures and ``manifest.json`` last
(the run folder convention of ``ann2neo reproduce``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import quantities as pq

from ..core.units import sample
from ..io._atomic import atomic_path, write_text

__all__ = ["parse_duration", "load_any", "analyze_file", "compare_files"]

_UNITS = {"ms": pq.ms, "s": pq.s, "us": pq.us, "min": pq.min, "sample": sample, "samples": sample}


def parse_duration(text):
    """Parse ``"100"`` (samples), ``"100 samples"``, ``"50ms"``, ``"0.1 s"`` into a number or a quantity.

    Parameters
    ----------
    text : str

    Returns
    -------
    int or pq.Quantity
        A plain int for samples, a time quantity otherwise.

    Raises
    ------
    ValueError
        For text that is not a number with an optional unit among ms, s, us, min, samples.

    Examples
    --------
    >>> parse_duration("100"), parse_duration("50ms")
    (100, array(50.) * ms)
    """
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([a-z]*)\s*", str(text))
    if not match or match.group(2) not in ("", *_UNITS):
        raise ValueError(f"cannot read {text!r} as a duration: give samples (100) or a time (50ms, 0.1s)")
    value = float(match.group(1))
    unit = match.group(2)
    if unit in ("", "sample", "samples"):
        if not value.is_integer() or value < 1:
            raise ValueError(f"a window in samples must be a positive whole number, got {text!r}")
        return int(value)
    if not value > 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return value * _UNITS[unit]


def load_any(path, *, variables=None, bin_width=None) -> dict:
    """Recordings in a file, by name: ``{name: spike matrix, dask array or list of SpikeTrain}``.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (bool or 0/1 matrix, samples × nodes; memory-mapped), ``.zarr``
        (spike store, read lazily), an ann2neo NWB/NIX file (one entry per
        segment, in samples), or anything :func:`ann2neo.load_recording` reads
        (physical time: one entry per segment, or ``"units"`` when every
        segment holds one train, e.g. trials).
    variables, bin_width
        Passed to :func:`ann2neo.load_recording` for MATLAB files.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ann2neo.FileFormatError, ValueError
        If the file cannot be read as a recording.
    """
    from ..io.formats import read
    from ..io.loaders import load_recording
    from ..io.nwb import FileFormatError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file at {path}")
    if path.suffix == ".npy":
        return {path.stem: np.load(path, mmap_mode="r")}
    if path.suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists()):
        from ..io.store import read_store

        return read_store(path, lazy=True)
    if path.suffix in (".nwb", ".nix", ".h5"):
        try:
            block = read(path)
        except (FileFormatError, ValueError):
            block = None  # not written by ann2neo: a recording of real neurons
        if block is not None:
            return {seg.name or f"segment{i}": list(seg.spiketrains) for i, seg in enumerate(block.segments)}
    block = load_recording(path, variables=variables, bin_width=bin_width)
    segments = [seg for seg in block.segments if seg.spiketrains]
    if len(segments) > 1 and all(len(seg.spiketrains) == 1 for seg in segments):
        return {"units": [seg.spiketrains[0] for seg in segments]}  # one train per trial: a population of trials
    return {seg.name or f"segment{i}": list(seg.spiketrains) for i, seg in enumerate(segments)}


def _is_store(path) -> bool:
    path = Path(path)
    return path.suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists())


def _layer_of(data, name=None):
    """The layer a recording holds: a store's array name, a SpikeMatrix's ``layer``, or the trains' annotation."""
    if name is not None:
        return str(name)
    layer = getattr(data, "layer", None)
    if layer is None and isinstance(data, list) and data:
        layers = {repr(st.annotations.get("layer")) for st in data}
        layer = data[0].annotations.get("layer") if len(layers) == 1 else None
    return None if layer is None else str(layer)


def _default_recording(path, recordings):
    """The recording ``compare`` uses when none is named (see :func:`compare_files`)."""
    names = list(recordings)
    if len(names) == 1:
        return names[0]
    if _is_store(path):
        from ..io.store import store_attrs

        default = store_attrs(path).get("default_layer")
        if default in recordings:
            return default
        raise ValueError(f"{path} holds {len(names)} layers {names} and no default layer (the model's last hidden "
                         f"layer was ambiguous or the store predates it); choose one with --recording LAYER "
                         f"(ann_recording=)")
    layers = {_layer_of(data) for data in recordings.values()}
    if len(layers) > 1:
        raise ValueError(f"{path} holds recordings of several layers ({sorted(map(str, layers))}) in {names}; "
                         f"choose one with --recording NAME (ann_recording=)")
    return names[-1]


def _window_for(data, window):
    from ..analysis import physical

    if physical.is_physical(data):
        if window is None:
            return 100 * pq.ms
        if not isinstance(window, pq.Quantity):
            raise ValueError("recorded spike trains are in physical time: give the window as a time, e.g. 100ms")
        return window
    if isinstance(window, pq.Quantity):
        raise ValueError("an ANN recording is in samples: give the window as a number of samples, e.g. 100")
    return 100 if window is None else window


def _summary_figure(name, data, nodes, png):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting import plot_raster

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    plot_raster(data, ax=axes[0], span=None)
    axes[0].set_title(f"{name}: first units")
    unit = "spikes/sample" if "fano_factor_bernoulli" in nodes else "Hz"
    axes[1].hist(nodes["firing_rate"], bins=30, color="C0")
    axes[1].set_xlabel(f"firing rate ({unit})")
    axes[1].set_title("rates")
    for column, color in (("dispersion", "C1"), ("cv_dispersion", "C2"), ("lv_dispersion", "C3")):
        values = nodes[column].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size:
            axes[2].hist(values, bins=30, histtype="step", color=color, label=column)
    axes[2].axvline(1.0, color="grey", lw=0.8)
    axes[2].set_xlabel("statistic / its exact null (1 = as irregular as the null)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(png, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def analyze_file(path, out, *, window=None, diagnostics=True, overwrite=False, variables=None, bin_width=None,
                 figures=True, argv=None) -> pd.DataFrame:
    """Analyse every recording in a file; write tables, a JSON summary, figures and a manifest.

    Parameters
    ----------
    path : str or Path
        See :func:`load_any`.
    out : str or Path
        New or empty output folder (``overwrite=True`` replaces an earlier run).
    window : int, pq.Quantity or str, optional
        Fano window: samples for ANN recordings (default 100), a time for
        recorded neurons (default 100 ms); a string is read by
        :func:`parse_duration`.
    diagnostics : bool, default True
        Add the Poisson-model diagnostics (not for chunked stores, which are
        analysed without loading them).
    overwrite : bool, default False
    variables, bin_width
        For MATLAB files, see :func:`ann2neo.load_recording`.
    figures : bool, default True
    argv : list of str, optional
        Command line recorded in the manifest.

    Returns
    -------
    pandas.DataFrame
        One row per recording: ``recording``, ``time``, ``layer`` (the layer
        analysed, None when the file does not say), then the summary and the
        network-level tests of :func:`ann2neo.analyze`.

    Raises
    ------
    FileNotFoundError, FileExistsError, NotADirectoryError, ValueError, ann2neo.UnitError
        For a missing file, an output folder that is not new or empty, or a
        recording or window that cannot be analysed.
    """
    import warnings

    from ..analysis.report import analyze
    from ..analysis.statistics import SmallSampleWarning, is_chunked
    from ..io.manifest import jsonable, prepare_run_dir, write_manifest

    if isinstance(window, str):
        window = parse_duration(window)
    recordings = load_any(path, variables=variables, bin_width=bin_width)
    is_store = _is_store(path)
    out = prepare_run_dir(out, overwrite, owned=("nodes_*.csv", "summary.csv", "results.json", "*.png")).resolve()
    rows, written, results = [], [], {}
    for name, data in recordings.items():
        w = _window_for(data, window)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmallSampleWarning)
            result = analyze(data, window=w, diagnostics=diagnostics and not is_chunked(data),
                             layer=_layer_of(data, name if is_store else None))
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))
        nodes_csv = out / f"nodes_{safe}.csv"
        write_text(nodes_csv, result.nodes.to_csv())
        written.append(nodes_csv)
        row = {"recording": name, "time": "physical" if result.n_samples is None else "samples", **result.to_dict(),
               "warnings": "; ".join(str(c.message) for c in caught)}
        rows.append(row)
        results[str(name)] = jsonable(row)
        if figures and not is_chunked(data):
            png = out / f"summary_{safe}.png"
            _summary_figure(str(name), data, result.nodes, png)
            written.append(png)
    table = pd.DataFrame(rows)
    write_text(out / "summary.csv", table.to_csv(index=False))
    write_text(out / "results.json", json.dumps({"file": str(path), "recordings": results}, indent=2,
                                                allow_nan=False))
    written += [out / "summary.csv", out / "results.json"]
    write_manifest(out, written, config={"file": str(path), "window": jsonable(window),
                                         "diagnostics": diagnostics}, argv=argv)
    return table


def compare_files(ann_path, real_path, out, *, sample_duration, ann_recording=None, window=100,
                  real_window=100 * pq.ms, overwrite=False, variables=None, bin_width=None, argv=None):
    """Compare an ANN recording with recorded neurons from two files (:func:`ann2neo.compare`).

    Parameters
    ----------
    ann_path : str or Path
        ANN recording (``.npy``, ann2neo NWB/NIX, ``.zarr``).
    real_path : str or Path
        Recorded neurons (``.mat``, NWB, any file Neo reads).
    out : str or Path
        New or empty output folder.
    sample_duration : pq.Quantity or str
        How long one sample is taken to last (e.g. ``"1ms"``); required.
    ann_recording : str, optional
        Which recording of the ANN file (segment or layer name).  Default: the
        only one; in a store of several layers, the model's default layer
        (:func:`ann2neo.keras.default_layer`, kept in the store) and an error
        listing the layers where there is none; in an NWB/NIX file, the last
        segment (the test split of a reproduce file) if all segments hold the
        same layer, an error listing the layers otherwise.
    window : int, default 100
        ANN Fano window in samples.
    real_window : pq.Quantity or str, default 100 ms
    overwrite : bool, default False
    variables, bin_width
        For a MATLAB file of recorded neurons.
    argv : list of str, optional

    Returns
    -------
    ann2neo.analysis.compare.Comparison

    Raises
    ------
    ValueError
        For an unknown ``ann_recording``, a file with no recording, or a
        file of several layers with no default one (the message lists them).
    ann2neo.UnitError
        For a ``sample_duration`` that is not a time.
    """
    from ..analysis.compare import compare
    from ..io.manifest import jsonable, prepare_run_dir, write_manifest
    from ..plotting import plot_comparison

    if isinstance(sample_duration, str):
        sample_duration = parse_duration(sample_duration)
    if isinstance(real_window, str):
        real_window = parse_duration(real_window)
    anns = load_any(ann_path)
    if not anns:
        raise ValueError(f"{ann_path} holds no recording")
    if ann_recording is None:
        ann_recording = _default_recording(ann_path, anns)
    if ann_recording not in anns:
        raise ValueError(f"{ann_path} has no recording {ann_recording!r}; it holds {list(anns)}")
    ann = anns[ann_recording]
    layer = _layer_of(ann, ann_recording if _is_store(ann_path) else None)
    reals = load_any(real_path, variables=variables, bin_width=bin_width)
    real = [st for trains in reals.values() for st in trains]
    out = prepare_run_dir(out, overwrite, owned=("compare_*.csv", "comparison.json", "comparison.png")).resolve()
    import warnings

    from ..analysis.statistics import SmallSampleWarning

    with warnings.catch_warnings():  # the flags are in result.notes and ks["flag"], both written and shown
        warnings.simplefilter("ignore", SmallSampleWarning)
        result = compare(np.asarray(ann) if not isinstance(ann, list) else ann, real,
                         sample_duration=sample_duration, window=window, real_window=real_window, layer=layer)
    files = {"compare_nodes_ann.csv": result.nodes["ann"].to_csv(), "compare_nodes_real.csv":
             result.nodes["real"].to_csv(), "compare_summary.csv": result.summary.to_csv(index=False),
             "compare_ks.csv": result.ks.to_csv(index=False), "compare_fano_curve.csv":
             result.fano_curve.to_csv(index=False)}
    for name, text in files.items():
        write_text(out / name, text)
    meta = {"ann_file": str(ann_path), "ann_recording": str(ann_recording), "layer": layer,
            "real_file": str(real_path),
            "sample_duration": jsonable(sample_duration), "binning": result.binning, "notes": result.notes,
            "summary": result.summary.to_dict(orient="records"), "ks": result.ks.to_dict(orient="records")}
    write_text(out / "comparison.json", json.dumps(jsonable(meta), indent=2, allow_nan=False))
    fig = plot_comparison(result, ann=ann, real=real)
    with atomic_path(out / "comparison.png", overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    write_manifest(out, [out / n for n in (*files, "comparison.json", "comparison.png")],
                   config={k: meta[k] for k in ("ann_file", "ann_recording", "layer", "real_file", "sample_duration")},
                   argv=argv)
    return result
