"""ann2neo analyze FILE and ann2neo compare ANN REAL: tables, JSON, figures, manifest."""
import json

import numpy as np
import pytest
import quantities as pq

import ann2neo
from ann2neo.cli import main
from ann2neo.experiments.files import parse_duration


@pytest.fixture
def ann_npy(tmp_path):
    m = np.random.default_rng(0).random((3000, 12)) < 0.3
    np.save(tmp_path / "ann.npy", m)
    return tmp_path / "ann.npy", m


def test_parse_duration():
    assert parse_duration("100") == 100 and parse_duration("100 samples") == 100
    assert parse_duration("50ms") == 50 * pq.ms and parse_duration("0.1 s") == 0.1 * pq.s
    for bad in ("ten", "1.5", "5 parsecs", "-3ms"):
        with pytest.raises(ValueError, match="duration|whole number|positive"):
            parse_duration(bad)


def test_analyze_a_spike_matrix_file(ann_npy, tmp_path, capsys):
    path, m = ann_npy
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--window", "50"]) == 0
    summary = json.loads((out / "results.json").read_text())["recordings"]["ann"]
    assert summary["mfr"] == pytest.approx(m.mean(), rel=1e-12) and summary["n_windows"] == 60
    nodes = np.genfromtxt(out / "nodes_ann.csv", delimiter=",", names=True, dtype=None, encoding=None)
    np.testing.assert_allclose(nodes["fano_factor"], ann2neo.fano_factor(m, 50), rtol=1e-12)
    assert (out / "summary_ann.png").stat().st_size > 5000 and (out / "manifest.json").exists()
    assert main(["check-run", str(out)]) == 0
    # a second run into the same folder is refused, nothing lost
    before = (out / "results.json").read_text()
    assert main(["analyze", str(path), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err and (out / "results.json").read_text() == before
    assert main(["analyze", str(path), "--out", str(tmp_path / "o2"), "--window", "100ms"]) == 2
    assert "in samples" in capsys.readouterr().err


def test_analyze_and_compare_real_recordings(ann_npy, tmp_path, real_neurons, capsys):
    import warnings

    DATA = real_neurons  # noqa: N806
    path, m = ann_npy
    out = tmp_path / "stn"
    assert main(["analyze", str(DATA / "10_spikes-1.mat"), "--bin-width", "1ms", "--t-start=-1s", "--out",
                 str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "50 trials" in printed and "6.574" in printed and "58.66" in printed and "35.26" in printed
    results = json.loads((out / "results.json").read_text())
    rec = results["recordings"]["10_spikes-1"]  # one recording of one unit over 50 trials, not 50 "units"
    assert rec["rate_unit"] == "Hz" and rec["mfr"] == pytest.approx((58.66 + 35.26) / 2, abs=0.01)
    assert rec["n_nodes"] == 1 and rec["n_trials"] == 50 and (rec["t_start"], rec["t_stop"]) == (-1.0, 1.0)
    assert results["config"]["t_start"] == "-1.0 s" and results["config"]["bin_width"] == "1.0 ms"
    assert rec["trials"]["units"][0]["fano_factor_trials"] == pytest.approx(6.574, abs=5e-4)
    conditions = {r["direction"]: r["rate"] for r in rec["trials"]["conditions"]}
    assert conditions == {0: pytest.approx(58.66, abs=0.005), 1: pytest.approx(35.26, abs=0.005)}
    trials_csv = (out / "trials_10_spikes-1.csv").read_text().splitlines()
    assert trials_csv[0] == "trial,direction,unit,t_start,t_stop,n_spikes,duration,rate" and len(trials_csv) == 51
    assert (out / "psth_10_spikes-1.csv").exists() and (out / "conditions_10_spikes-1.csv").exists()
    assert ",train," in trials_csv[1]  # the unit's name (the MATLAB variable), never "node 0"
    # the same trials through compare: one unit, so no KS test between "populations" of trials
    stn_cmp = tmp_path / "stn_cmp"
    assert main(["compare", str(path), str(DATA / "10_spikes-1.mat"), "--bin-width", "1ms", "--sample-duration",
                 "1ms", "--out", str(stn_cmp)]) == 0
    ks = json.loads((stn_cmp / "comparison.json").read_text())["ks"]
    assert all(r["p_value"] is None and "not applicable" in r["note"] for r in ks)
    # a MATLAB trial matrix without its bin width: the message speaks command-line syntax
    assert main(["analyze", str(DATA / "10_spikes-1.mat"), "--out", str(tmp_path / "nobin")]) == 2
    err = capsys.readouterr().err
    assert "--bin-width" in err and "pq." not in err and "bin_width=" not in err
    cmp_out = tmp_path / "cmp"
    hpc = tmp_path / "all_unit.nwb"  # the .mat does not state when the recording stopped; this NWB file does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ann2neo.write(hpc, ann2neo.read(DATA / "all_unit.mat", t_stop=1000 * pq.s))
    assert main(["compare", str(path), str(DATA / "all_unit.mat"), "--sample-duration", "1ms",
                 "--out", str(tmp_path / "c0")]) == 2   # t_stop is never the last spike
    assert main(["compare", str(path), str(hpc), "--sample-duration", "1ms",
                 "--out", str(cmp_out)]) == 0
    meta = json.loads((cmp_out / "comparison.json").read_text())
    assert meta["binning"]["n_spikes"] == 35_112 and meta["binning"]["n_lost"] == 20
    assert {r["quantity"] for r in meta["ks"]} >= {"cv_isi", "cv_dispersion", "lv_dispersion"}
    assert (cmp_out / "comparison.png").stat().st_size > 20_000
    assert main(["compare", str(path), str(hpc), "--sample-duration", "1",
                 "--out", str(tmp_path / "c2")]) == 2


def test_analyze_passes_t_start_and_t_stop_to_the_reader_and_records_them(tmp_path, real_neurons, capsys):
    """The place cell: 220 spikes / 177.761 s = 1.238 Hz, not 1.294 Hz up to the last spike."""
    out = tmp_path / "pc"
    assert main(["analyze", str(real_neurons / "spikes-1.mat"), "--variables", "spiketimes", "--t-start", "0s",
                 "--t-stop", "177.761s", "--window", "1s", "--out", str(out), "--no-figures",
                 "--no-diagnostics"]) == 0
    results = json.loads((out / "results.json").read_text())
    rec = results["recordings"]["spikes-1"]
    assert rec["mfr"] == pytest.approx(220 / 177.761, rel=1e-12) and rec["n_windows"] == 177
    assert (rec["t_start"], rec["t_stop"], rec["time_unit"]) == (0.0, 177.761, "s")
    assert results["config"]["t_stop"] == "177.761 s" and results["config"]["window"] == "1.0 s"
    assert main(["analyze", str(real_neurons / "spikes-1.mat"), "--variables", "spiketimes", "--t-stop", "soon",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "cannot read 'soon' as a time" in capsys.readouterr().err


def _real_nwb(path, n_units=6, seed=0):
    """A plain NWB file of recorded units (pynwb only, not ann2neo): spike times in s."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="test units", identifier="units", session_start_time=datetime.now(timezone.utc))
    for _ in range(n_units):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 20, 300)), obs_intervals=[[0.0, 20.0]])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_compare_on_a_store_uses_its_default_layer_and_says_so(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(1, activation="sigmoid", name="out")])
    x = np.random.default_rng(0).normal(size=(3000, 10)).astype("float32")
    store = ann2neo.record(model, x, layers="all", out=tmp_path / "all.zarr")
    real = _real_nwb(tmp_path / "real.nwb")
    out = tmp_path / "cmp"
    assert main(["compare", str(store), str(real), "--sample-duration", "1ms", "--out", str(out)]) == 0
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["ann_recording"] == "hidden" and meta["layer"] == "hidden"  # not 'out', the 1-node output
    assert "ANN layer: hidden" in capsys.readouterr().out
    assert {r["n_ann"] for r in meta["ks"]} <= set(range(2, 17))
    # analyze says which layer each row is
    assert main(["analyze", str(store), "--out", str(tmp_path / "ana"), "--no-figures"]) == 0
    rows = json.loads((tmp_path / "ana" / "results.json").read_text())["recordings"]
    assert {name: r["layer"] for name, r in rows.items()} == {"hidden": "hidden", "out": "out"}
    assert "hidden" in capsys.readouterr().out


def test_compare_refuses_a_store_of_several_layers_without_a_default(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    inp = keras.Input((4,))
    heads = [keras.layers.Dense(2, name=f"head{k}")(keras.layers.Dense(3, name=f"branch{k}")(inp)) for k in (0, 1)]
    model = keras.Model(inp, heads)  # two outputs, two last hidden layers: no default
    store = ann2neo.record(model, np.zeros((50, 4), "float32"), layers=["branch0", "branch1"],
                           out=tmp_path / "two.zarr")
    assert main(["compare", str(store), str(tmp_path / "no.nwb"), "--sample-duration", "1ms",
                 "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "['branch0', 'branch1']" in err and "--recording" in err


def test_ks_tests_on_one_unit_are_not_run_and_few_units_are_flagged():
    import neo

    from ann2neo.analysis.compare import compare

    rng = np.random.default_rng(1)
    real = [neo.SpikeTrain(np.sort(rng.uniform(0, 10, 200)) * pq.s, t_stop=10 * pq.s) for _ in range(6)]
    one = rng.random((4000, 1)) < 0.3
    with pytest.warns(ann2neo.SmallSampleWarning, match="not applicable: fewer than 5 units"):
        result = compare(one, real, sample_duration=1 * pq.ms)
    assert result.ks["p_value"].isna().all() and result.ks["note"].str.startswith("not applicable").all()
    few = rng.random((4000, 6)) < 0.3
    with pytest.warns(ann2neo.SmallSampleWarning, match="low power"):
        result = compare(ann2neo.SpikeMatrix(few, layer="h"), real, sample_duration=1 * pq.ms)
    assert result.ks["p_value"].notna().all() and result.layer == "h" and result.notes[0].startswith("ANN layer: h")


def test_verbose_flag_is_accepted_before_and_after_the_command(ann_npy, tmp_path):
    import logging

    path, _ = ann_npy
    level = logging.getLogger("ann2neo").level
    try:
        assert main(["--verbose", "analyze", str(path), "--out", str(tmp_path / "a"), "--no-figures"]) == 0
        assert main(["analyze", str(path), "-v", "--out", str(tmp_path / "b"), "--no-figures"]) == 0
        assert logging.getLogger("ann2neo").level == logging.DEBUG
    finally:
        logging.getLogger("ann2neo").setLevel(level)


def test_compare_writes_the_population_part(ann_npy, tmp_path, real_neurons, capsys):
    """compare_population.csv: the STN neuron per direction next to the ANN per class; skipped without conditions."""
    import pandas as pd

    path, m = ann_npy
    labels = tmp_path / "labels.npy"
    np.save(labels, np.arange(len(m)) % 2)
    out = tmp_path / "pop"
    assert main(["compare", str(path), str(real_neurons / "10_spikes-1.mat"), "--bin-width", "1ms",
                 "--sample-duration", "1ms", "--ann-labels", str(labels), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "population part (compare_population.csv" in printed and "ann 1/sample, real Hz" in printed
    table = pd.read_csv(out / "compare_population.csv", keep_default_na=False, na_values=[""])
    real = table[table["population"] == "real"].set_index(["statistic", "condition"])
    assert real.loc[("rate", "0"), "value"] == pytest.approx(58.66, abs=0.005)      # left, as analyze gives it
    assert real.loc[("rate", "1"), "value"] == pytest.approx(35.26, abs=0.005)
    assert np.isnan(real.loc[("noise_correlation_mean", "all"), "value"])
    assert "one unit" in real.loc[("noise_correlation_mean", "all"), "note"]
    ann = table[table["population"] == "ann"].set_index(["statistic", "condition"])
    assert ann.loc[("rate", "1"), "value"] == pytest.approx(m[1::2].mean(), rel=1e-12)
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["condition"] == {"ann": "label", "real": "direction"}
    assert "compare_population.csv" in {f["path"] for f in json.loads((out / "manifest.json").read_text())["files"]}
    # a wrong condition column is a clear error; without any condition the part is skipped, not an error
    assert main(["compare", str(path), str(real_neurons / "10_spikes-1.mat"), "--bin-width", "1ms",
                 "--sample-duration", "1ms", "--condition", "side", "--out", str(tmp_path / "bad")]) == 2
    assert "'side' is not a column" in capsys.readouterr().err
    out2 = tmp_path / "skip"
    assert main(["compare", str(path), str(_real_nwb(tmp_path / "units.nwb")), "--sample-duration", "1ms",
                 "--out", str(out2)]) == 0
    assert "population part: skipped" in capsys.readouterr().out
    assert pd.read_csv(out2 / "compare_population.csv").empty
    assert json.loads((out2 / "comparison.json").read_text())["condition"] == {"ann": None, "real": None}
