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

from ..core.recording import Recording
from ..core.units import parse_duration
from ..io._atomic import atomic_path, write_text
from ..io._lock import run_lock
from ..io._names import unique_file_names

__all__ = ["parse_duration", "read_recordings", "load_any", "analyze_file", "compare_files", "cli_message"]


def read_recordings(path, *, variables=None, bin_width=None, t_start=None, t_stop=None, time_unit=None,
                    variables_as=None) -> dict:
    """The recordings in a file, by name: an :class:`ann2neo.Recording` each (a chunked store stays a dask array).

    The one reading step of ``ann2neo analyze`` and ``ann2neo compare``: :func:`ann2neo.read_all`.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (bool or 0/1 matrix, samples × nodes; memory-mapped), ``.zarr``
        (spike store, read lazily: dask arrays), an ann2neo NWB/NIX file (one
        Recording per segment, in samples), or anything :func:`ann2neo.read`
        reads (recordings of neurons: units over trials, in physical time, with
        their conditions).
    variables : str or list of str, optional
        MATLAB variables holding the spikes.
    bin_width : pq.Quantity, optional
        Bin width of a MATLAB trial x bin matrix.
    t_start, t_stop : pq.Quantity, optional
        Extent of a recording in physical time, passed to the reader.
    time_unit : str or pq unit, optional
        Unit of the numbers in a MATLAB file (see :func:`ann2neo.read`).
    variables_as : {"units", "trials"}, optional
        Several MATLAB spike-time variables as units or as trials of one neuron.

    Returns
    -------
    dict
        ``{name: Recording}`` (a dask array for a layer of a chunked store).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` does not exist, or is a folder that is not a spike store.
    ann2neo.FileFormatError, ValueError
        If the file cannot be read as a recording, or ``t_start``/``t_stop``
        are given for a recording in samples.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "layer.npy"); np.save(f, np.eye(3, 2, dtype=bool))
    >>> read_recordings(f)
    {'layer': Recording(2 units x 3 trials x 1 bin of 1 sample)}
    """
    from ..io.formats import read_all

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file at {path}")
    store = path.suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists())
    if path.is_dir() and not store:
        raise IsADirectoryError(f"{path} is a folder, not a recording file (a spike store is a folder with "
                                "zarr.json); give a file: .npy, .mat, .nwb, .nix, or a format Neo reads")
    if (store or path.suffix == ".npy") and (t_start is not None or t_stop is not None):
        raise ValueError(f"{path.name} is a recording in samples: --t-start/--t-stop apply to recordings in "
                         "physical time")
    options = {"lazy": True} if store else {"variables": variables, "bin_width": bin_width, "t_start": t_start,
                                            "t_stop": t_stop, "time_unit": time_unit, "variables_as": variables_as}
    if path.suffix == ".npy":
        options = {}
    return read_all(path, **{k: v for k, v in options.items() if v is not None})


def load_any(path, *, variables=None, bin_width=None) -> dict:
    """Deprecated name of :func:`read_recordings` (ann2neo 0.2): recordings in a file, by name."""
    return read_recordings(path, variables=variables, bin_width=bin_width)


def cli_message(message: str) -> str:
    """An error message with Python argument syntax rewritten as command-line options.

    ``bin_width= (e.g. 1 * pq.ms)`` becomes ``--bin-width (e.g. 1ms)``.

    Examples
    --------
    >>> cli_message("pass bin_width= (e.g. 1 * pq.ms) and t_start=")
    'pass --bin-width (e.g. 1ms) and --t-start'
    >>> cli_message("pass --t-stop 1000s (t_stop=1000 * pq.s in Python)")
    'pass --t-stop 1000s'
    """
    message = re.sub(r",\s*[^(),;]*\bin Python(?=\))", "", message)  # "(--bin-width, bin_width= in Python)"
    message = re.sub(r"\s*\([^()]*\bin Python\)", "", message)  # "(t_stop=1000 * pq.s in Python)"
    message = re.sub(r"(\d+(?:\.\d+)?)\s*\*\s*pq\.(ms|s|us|min)\b", r"\1\2", message)
    message = re.sub(r"(\d+(?:\.\d+)?)\s*\*\s*(?:ann2neo\.)?sample\b", r"\1", message)
    for name in ("bin_width", "t_start", "t_stop", "window", "real_window", "sample_duration", "variables"):
        message = re.sub(rf"\b{name}=(\[\.\.\.\])?", "--" + name.replace("_", "-") + " ", message)
    return re.sub(r" +", " ", message).replace(" )", ")").strip()


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
    from ..analysis._timebase import as_view

    if as_view(data).time_base == "physical":
        if window is None:
            from ..core.defaults import DEFAULT_TIME_WINDOW

            return DEFAULT_TIME_WINDOW
        if not isinstance(window, pq.Quantity):
            raise ValueError("recorded spike trains are in physical time: give the window as a time, e.g. "
                             "--window 100ms")
        return window
    if isinstance(window, pq.Quantity):
        raise ValueError("an ANN recording is in samples: give the window as a number of samples, e.g. --window 100")
    from ..core.defaults import PAPER_WINDOW

    return PAPER_WINDOW if window is None else window


def _extent(data) -> dict:
    """``t_start``/``t_stop`` (and their unit) of a recording, as written in every output."""
    if isinstance(data, Recording) and data.n_trials:
        return {"t_start": float(data.t_start.min()), "t_stop": float(data.t_stop.max()),
                "time_unit": data.unit_name, "n_trials": int(data.n_trials)}
    return {"t_start": 0.0, "t_stop": float(data.shape[0]), "time_unit": "sample", "n_trials": int(data.shape[0])}


def _summary_figure(name, data, nodes, png):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting import plot_raster

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    plot_raster(data, ax=axes[0], span=None)
    axes[0].set_title(f"{name}: first units")
    unit = {"1/sample": "spikes/sample"}.get(nodes.attrs.get("rate_unit"), nodes.attrs.get("rate_unit", "Hz"))
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
                 figures=True, argv=None, t_start=None, t_stop=None, time_unit=None, variables_as=None) -> pd.DataFrame:
    """Analyse every recording in a file; write tables, a JSON summary, figures and a manifest.

    Per recording ``NAME``: ``nodes_NAME.csv`` (one row per unit, with its
    name), and for a recording of several trials ``units_NAME.csv`` (rates over
    trials, across-trial Fano factor), ``trials_NAME.csv`` (one row per trial
    and unit), ``conditions_NAME.csv`` (one row per unit and condition value)
    and ``psth_NAME.csv``; then ``summary.csv``, ``results.json`` (every value
    used, ``t_start``/``t_stop`` of each recording), PNG figures and
    ``manifest.json`` last.

    Parameters
    ----------
    path : str or Path
        See :func:`read_recordings`.
    out : str or Path
        New or empty output folder (``overwrite=True`` replaces an earlier run).
    window : int, pq.Quantity or str, optional
        Fano window: samples for ANN recordings (default 100), a time for
        recorded neurons (default 100 ms); a string is read by
        :func:`parse_duration`.
    diagnostics : bool, default True
        Add the diagnostics (not for chunked stores, which are analysed
        without loading them).
    overwrite : bool, default False
    variables : str or list of str, optional
        For MATLAB files, see :func:`read_recordings`.
    bin_width : pq.Quantity, optional
        For MATLAB files, see :func:`read_recordings`.
    figures : bool, default True
    argv : list of str, optional
        Command line recorded in the manifest.
    t_start, t_stop : pq.Quantity or str, optional
        Extent of a recording in physical time, passed to the reader.
    time_unit, variables_as : optional
        Passed to the reader, see :func:`read_recordings`.

    Returns
    -------
    pandas.DataFrame
        One row per recording: ``recording``, ``time``, ``layer`` (the layer
        analysed, None when the file does not say), ``t_start``, ``t_stop``,
        ``time_unit``, ``n_trials``, then the summary and the network-level
        tests of :func:`ann2neo.analyze`.

    Raises
    ------
    FileNotFoundError, FileExistsError, NotADirectoryError, ValueError, ann2neo.UnitError
        For a missing file, an output folder that is not new or empty, or a
        recording or window that cannot be analysed.
    """
    window, t_start, t_stop = (parse_duration(v) if isinstance(v, str) else v for v in (window, t_start, t_stop))
    options = dict(variables=variables, bin_width=bin_width, t_start=t_start, t_stop=t_stop, time_unit=time_unit,
                   variables_as=variables_as)
    recordings = read_recordings(path, **options)
    with run_lock(out):
        return _analyze_into(path, out, recordings, window, diagnostics, overwrite, figures, argv, options)


def _analyze_into(path, out, recordings, window, diagnostics, overwrite, figures, argv, options):
    import warnings

    from ..analysis.report import analyze
    from ..analysis.statistics import SmallSampleWarning, is_chunked
    from ..io.manifest import jsonable, prepare_run_dir, write_manifest

    out = prepare_run_dir(out, overwrite, owned=("nodes_*.csv", "units_*.csv", "trials_*.csv", "conditions_*.csv",
                                                 "psth_*.csv", "summary.csv", "results.json", "*.png")).resolve()
    rows, written, results, trial_results = [], [], {}, {}
    is_store = _is_store(path)
    for (name, data), safe in zip(recordings.items(), unique_file_names(recordings), strict=True):
        w = _window_for(data, window)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmallSampleWarning)
            result = analyze(data, window=w, diagnostics=diagnostics and not is_chunked(data),
                             layer=_layer_of(data, name if is_store else None))
        tables = {f"nodes_{safe}.csv": result.nodes.to_csv()}
        if result.trials is not None:
            t = trial_results[str(name)] = result.trials
            tables[f"units_{safe}.csv"] = t.units.to_csv(index=False)
            for label, frame in (("conditions", t.conditions), ("trials", t.trials), ("psth", t.psth)):
                if frame is not None:
                    tables[f"{label}_{safe}.csv"] = frame.to_csv(index=False)
        for file_name, text in tables.items():
            write_text(out / file_name, text)
            written.append(out / file_name)
        row = {"recording": name, "time": "samples" if result.n_samples is not None else "physical",
               **_extent(data), **result.to_dict(), "warnings": "; ".join(str(c.message) for c in caught)}
        rows.append(row)
        entry = dict(row, views=result.views)
        if result.trials is not None:
            entry["trials"] = {"condition": result.trials.condition, "rate_unit": result.trials.rate_unit,
                               "ddof": result.trials.ddof, "units": result.trials.units.to_dict(orient="records"),
                               "conditions": None if result.trials.conditions is None else
                               result.trials.conditions.to_dict(orient="records")}
        results[str(name)] = jsonable(entry)
        if figures and not is_chunked(data):
            png = out / f"summary_{safe}.png"
            _summary_figure(str(name), data, result.nodes, png)
            written.append(png)
    table = pd.DataFrame(rows)
    table.attrs["trials"] = trial_results
    config = {"file": str(path), "window": jsonable(window), "diagnostics": diagnostics,
              "variables": options["variables"], "bin_width": jsonable(options["bin_width"]),
              "t_start": jsonable(options["t_start"]), "t_stop": jsonable(options["t_stop"]),
              "time_unit": options["time_unit"], "variables_as": options["variables_as"],
              "windows_used": {str(n): r.get("window", r.get("window_s")) for n, r in zip(results, rows, strict=True)}}
    write_text(out / "summary.csv", table.to_csv(index=False))
    write_text(out / "results.json", json.dumps(jsonable({"file": str(path), "config": config,
                                                          "recordings": results}), indent=2, allow_nan=False))
    written += [out / "summary.csv", out / "results.json"]
    write_manifest(out, written, config=jsonable(config), argv=argv)
    return table


def compare_files(ann_path, real_path, out, *, sample_duration, ann_recording=None, window=100,
                  real_window=100 * pq.ms, overwrite=False, variables=None, bin_width=None, argv=None, t_start=None,
                  t_stop=None, time_unit=None, variables_as=None, condition=None, ann_condition=None,
                  ann_labels=None):
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
    variables : str or list of str, optional
        For a MATLAB file of recorded neurons, see :func:`read_recordings`.
    bin_width : pq.Quantity, optional
        For a MATLAB file of recorded neurons, see :func:`read_recordings`.
    argv : list of str, optional
    t_start, t_stop, time_unit, variables_as : optional
        How the file of recorded neurons is read, see :func:`read_recordings`.
    condition : str, optional
        The recording's condition column (default: its own condition, else
        its first trials column when its values repeat over trials), see
        :func:`ann2neo.compare`.
    ann_condition : str, optional
        The ANN recording's condition column (e.g. ``label`` in an ann2neo
        NWB file), or the name given to ``ann_labels``.
    ann_labels : str, Path or array_like, optional
        The class of each ANN sample: an array, or a ``.npy`` file of one
        label per sample.

    Returns
    -------
    ann2neo.analysis.compare.Comparison

    Raises
    ------
    ValueError
        For an unknown ``ann_recording``, a file with no recording, a
        file of several layers with no default one (the message lists them),
        or condition columns / labels that do not fit (see :func:`ann2neo.compare`).
    ann2neo.UnitError
        For a ``sample_duration`` that is not a time.
    """
    if isinstance(sample_duration, str):
        sample_duration = parse_duration(sample_duration)
    if isinstance(real_window, str):
        real_window = parse_duration(real_window)
    anns = read_recordings(ann_path)
    if not anns:
        raise ValueError(f"{ann_path} holds no recording")
    if ann_recording is None:
        ann_recording = _default_recording(ann_path, anns)
    if ann_recording not in anns:
        raise ValueError(f"{ann_path} has no recording {ann_recording!r}; it holds {list(anns)}")
    ann = anns[ann_recording]
    layer = _layer_of(ann, ann_recording if _is_store(ann_path) else None)
    reals = read_recordings(real_path, variables=variables, bin_width=bin_width, t_start=t_start, t_stop=t_stop,
                            time_unit=time_unit, variables_as=variables_as)
    if len(reals) != 1:
        raise ValueError(f"{real_path} holds {len(reals)} recordings ({list(reals)}); compare takes one")
    real = next(iter(reals.values()))
    if isinstance(ann_labels, (str, Path)):
        labels_path = Path(ann_labels)
        if labels_path.suffix != ".npy":
            raise ValueError(f"ann_labels {labels_path} must be a .npy file of one label per sample")
        ann_labels = np.load(labels_path, allow_pickle=False)
    population = {"condition": condition, "ann_condition": ann_condition, "ann_labels": ann_labels}
    with run_lock(out):
        return _compare_into(ann_path, real_path, out, ann, ann_recording, layer, real, sample_duration, window,
                             real_window, overwrite, argv, population)


def _compare_into(ann_path, real_path, out, ann, ann_recording, layer, real, sample_duration, window, real_window,
                  overwrite, argv, population=None):
    import warnings

    from ..analysis.compare import compare
    from ..analysis.statistics import SmallSampleWarning
    from ..io.manifest import jsonable, prepare_run_dir, write_manifest
    from ..plotting import plot_comparison

    out = prepare_run_dir(out, overwrite, owned=("compare_*.csv", "comparison.json", "comparison.png")).resolve()
    with warnings.catch_warnings():  # the flags are in result.notes and ks["note"], both written and shown
        warnings.simplefilter("ignore", SmallSampleWarning)
        result = compare(ann if isinstance(ann, Recording) else np.asarray(ann), real,
                         sample_duration=sample_duration, window=window, real_window=real_window, layer=layer,
                         **(population or {}))
    files = {"compare_nodes_ann.csv": result.nodes["ann"].to_csv(), "compare_nodes_real.csv":
             result.nodes["real"].to_csv(), "compare_summary.csv": result.summary.to_csv(index=False),
             "compare_ks.csv": result.ks.to_csv(index=False), "compare_fano_curve.csv":
             result.fano_curve.to_csv(index=False), "compare_population.csv": result.population.to_csv(index=False)}
    for name, text in files.items():
        write_text(out / name, text)
    meta = {"ann_file": str(ann_path), "ann_recording": str(ann_recording), "layer": layer,
            "real_file": str(real_path),
            "sample_duration": jsonable(sample_duration), "condition": _population_conditions(result),
            "binning": result.binning, "notes": result.notes,
            "summary": result.summary.to_dict(orient="records"), "ks": result.ks.to_dict(orient="records")}
    write_text(out / "comparison.json", json.dumps(jsonable(meta), indent=2, allow_nan=False))
    fig = plot_comparison(result, ann=ann, real=real)
    with atomic_path(out / "comparison.png", overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    write_manifest(out, [out / n for n in (*files, "comparison.json", "comparison.png")],
                   config={k: meta[k] for k in ("ann_file", "ann_recording", "layer", "real_file", "sample_duration")},
                   argv=argv)
    return result


def _population_conditions(result):
    """The condition column each side of the population part used (``None``: no conditions, or skipped)."""
    used = result.population.attrs.get("conditions", {})
    return {side: used.get(side) for side in ("ann", "real")}
