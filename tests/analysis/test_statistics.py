"""Statistics against Elephant's own functions (1e-12), numpy, and closed forms."""
import warnings

import elephant.statistics as es
import numpy as np
import pytest
from elephant.conversion import BinnedSpikeTrain

import ann2neo
from ann2neo import sample

RTOL = 1e-12


def elephant_reference(matrix, window):
    """Per-node statistics computed with Elephant alone, train by train."""
    trains = ann2neo.to_spiketrains(matrix)
    n = matrix.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rate = np.array([float(es.mean_firing_rate(st)) for st in trains])
        counts = BinnedSpikeTrain(trains, bin_size=window * sample, t_start=0 * sample,
                                  t_stop=n * sample).to_array()
        # Elephant's fanofactor over the node's window trains (counts = lengths)
        ff = np.array([es.fanofactor([np.zeros(c) for c in row]) if row.sum() else np.nan for row in counts])
        cv = np.array([es.cv(es.isi(st)) if len(st) >= 3 else np.nan for st in trains])
        lv = np.array([es.lv(es.isi(st)) if len(st) >= 3 else np.nan for st in trains])
    return rate, ff, cv, lv


@pytest.mark.parametrize("window", [1, 7, 100, 1050])
def test_node_statistics_equal_elephant(hetero_matrix, window):
    table = ann2neo.node_statistics(hetero_matrix, window=window)
    rate, ff, cv, lv = elephant_reference(hetero_matrix, window)
    np.testing.assert_allclose(table["firing_rate"], rate, rtol=RTOL, atol=0)
    if window == 1050:  # one window: Elephant's fanofactor says 0.0, ann2neo says undefined
        assert (ff[~np.isnan(ff)] == 0).all() and table["fano_factor"].isna().all()
        assert table["note"].str.contains("one window: Fano factor undefined").sum() == 39  # all but the silent
    else:
        np.testing.assert_allclose(table["fano_factor"], ff, rtol=RTOL, atol=1e-15, equal_nan=True)
    np.testing.assert_allclose(table["cv_isi"], cv, rtol=RTOL, atol=1e-15, equal_nan=True)
    np.testing.assert_allclose(table["lv"], lv, rtol=RTOL, atol=1e-15, equal_nan=True)
    assert (table["n_windows"] == 1050 // window).all() and table.attrs["n_windows"] == 1050 // window


def test_ddof1_is_the_sample_variance(hetero_matrix):
    from scipy.stats import variation

    counts = ann2neo.window_counts(hetero_matrix, 100).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = counts.var(axis=0, ddof=1) / counts.mean(axis=0)
    np.testing.assert_allclose(ann2neo.fano_factor(hetero_matrix, 100, ddof=1), expected, rtol=RTOL, equal_nan=True)
    cv1 = ann2neo.cv_isi(hetero_matrix, ddof=1)
    ref = np.array([variation(d, ddof=1) if d.size >= 2 else np.nan for d in ann2neo.isi(hetero_matrix)])
    np.testing.assert_allclose(cv1, ref, rtol=RTOL, equal_nan=True)
    t0, t1 = ann2neo.node_statistics(hetero_matrix, 100), ann2neo.node_statistics(hetero_matrix, 100, ddof=1)
    for column in ("dispersion", "cv_dispersion", "lv_dispersion"):  # ratios do not depend on ddof
        np.testing.assert_allclose(t0[column], t1[column], rtol=1e-12, equal_nan=True)
    with pytest.raises(ValueError, match="ddof"):
        ann2neo.fano_factor(hetero_matrix, 100, ddof=2)


def test_single_window_fano_factor_is_nan_with_reason(rng):
    m = rng.random((150, 3)) < 0.3
    t = ann2neo.node_statistics(m, window=150)
    assert t["fano_factor"].isna().all() and t["dispersion"].isna().all()  # not Elephant's 0.0
    assert t["note"].str.contains("one window").all()
    assert not t["cv_isi"].isna().any()  # the ISI statistics do not need windows
    s = ann2neo.network_summary(t)
    assert s["n_windows"] == 1 and "single window" in s["flags"] and np.isnan(s["mf"])


def test_fano_factor_equals_numpy_on_window_counts(hetero_matrix):
    counts = hetero_matrix[:1000].reshape(10, 100, -1).sum(axis=1)
    with np.errstate(invalid="ignore"):
        expected = counts.var(axis=0) / counts.mean(axis=0)
    np.testing.assert_allclose(ann2neo.fano_factor(hetero_matrix, 100), expected, rtol=RTOL, equal_nan=True)
    np.testing.assert_array_equal(ann2neo.window_counts(hetero_matrix, 100), counts)


def test_single_functions_agree_with_the_table(hetero_matrix):
    table = ann2neo.node_statistics(hetero_matrix, 100)
    np.testing.assert_array_equal(ann2neo.firing_rate(hetero_matrix), table["firing_rate"])
    np.testing.assert_array_equal(ann2neo.cv_isi(hetero_matrix), table["cv_isi"])
    np.testing.assert_array_equal(ann2neo.lv(hetero_matrix), table["lv"])
    trains = ann2neo.to_spiketrains(hetero_matrix)
    np.testing.assert_array_equal(ann2neo.fano_factor(trains, 100), table["fano_factor"])
    isis = ann2neo.isi(hetero_matrix)
    for st, got in zip(trains, isis, strict=True):
        np.testing.assert_array_equal(got, es.isi(st).magnitude)


def test_degenerate_nodes_are_nan_not_errors(hetero_matrix):
    t = ann2neo.node_statistics(hetero_matrix, 100)
    assert t.loc[0, "firing_rate"] == 0 and np.isnan(t.loc[0, ["fano_factor", "cv_isi", "lv"]].astype(float)).all()
    assert t.loc[0, "note"].startswith("silent")
    assert t.loc[1, "firing_rate"] == 1 and t.loc[1, "fano_factor"] == 0 and t.loc[1, "cv_isi"] == 0
    # always on: F = 0 equals Elephant, but the null has no variance either: 0/0 is undefined
    assert np.isnan(t.loc[1, ["dispersion", "cv_dispersion", "lv_dispersion"]].astype(float)).all()
    assert "always on" in t.loc[1, "note"]
    assert np.isnan(t.loc[2, "cv_isi"]) and np.isnan(t.loc[3, "cv_isi"]) and np.isnan(t.loc[3, "lv"])
    assert "fewer than 3 spikes" in t.loc[3, "note"]
    assert np.isnan(t.loc[5, "fano_factor"]) and t.loc[5, "n_spikes"] == 30 and t.loc[5, "n_spikes_windowed"] == 0
    assert "no spike in the complete windows" in t.loc[5, "note"]
    assert (t.loc[6:, "note"] == "").sum() > 30
    s = ann2neo.network_summary(t)
    assert s["n_silent"] == 1 and s["n_always"] == 1 and s["n_undefined_ff"] == 2
    assert s["n_undefined_dispersion"] == 3 and s["n_windows"] == 10 and s["flags"] == "few windows (10 < 20)"


def test_summary_flags_and_small_sample_warning(rng):
    with pytest.warns(ann2neo.analysis.SmallSampleWarning, match=r"few windows \(13 < 20\)"):
        r = ann2neo.analyze(rng.random((1300, 5)) < 0.3)
    assert r.summary["flags"] == "few windows (13 < 20)" and r.summary["n_windows"] == 13
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 20 windows: nothing to flag, no warning
        ok = ann2neo.analyze(rng.random((2000, 5)) < 0.3)
    assert ok.summary["flags"] == "" and ok.summary["n_windows"] == 20
    with pytest.warns(ann2neo.analysis.SmallSampleWarning, match="all nodes silent"):
        silent = ann2neo.analyze(np.zeros((2000, 3), bool))
    assert silent.summary["flags"] == "all nodes silent" and np.isnan(silent.summary["mean_dispersion"])
    with pytest.warns(ann2neo.analysis.SmallSampleWarning, match="all nodes always on"):
        on = ann2neo.analyze(np.ones((400, 3), bool))
    assert on.summary["flags"] == "few windows (4 < 20); all nodes always on"


def test_exact_null_removes_the_small_n_bias_of_the_train_test_comparison():
    """Issue #7 B: 13 vs 4 windows of independent spiking differ in MF by the estimator alone."""
    rng = np.random.default_rng(11)
    rate = rng.uniform(0.05, 0.6, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ann2neo.analysis.SmallSampleWarning)
        train = [ann2neo.analyze(rng.random((1300, 300)) < rate).summary for _ in range(20)]
        test = [ann2neo.analyze(rng.random((400, 300)) < rate).summary for _ in range(20)]
    mf_train, mf_test = np.mean([s["mf"] for s in train]), np.mean([s["mf"] for s in test])
    assert mf_train - mf_test == pytest.approx(np.mean(1 - rate) * (1200 / 1299 - 300 / 399),
                                               abs=0.015)  # a 0.12 artefact of N
    for key in ("mean_dispersion", "mean_cv_dispersion", "mean_lv_dispersion"):
        a, b = np.mean([s[key] for s in train]), np.mean([s[key] for s in test])
        assert a == pytest.approx(1, abs=0.02) and b == pytest.approx(1, abs=0.02), key
        # the standard error describes the spread of the network mean over repeated recordings
        spread = np.std([s[key] for s in test], ddof=1)
        assert np.mean([s[key + "_se"] for s in test]) == pytest.approx(spread, rel=0.5), key
    assert np.mean([s["mf_null"] for s in test]) == pytest.approx(mf_test, abs=0.01)


def test_window_longer_than_recording_is_a_clear_error(hetero_matrix):
    with pytest.raises(ValueError, match="longer than the recording"):
        ann2neo.analyze(hetero_matrix, window=2000)
    with pytest.raises(ValueError, match="whole number"):
        ann2neo.fano_factor(hetero_matrix, window=2.5)


@pytest.mark.parametrize("p", [0.03, 0.12, 0.45, 0.62])
def test_bernoulli_closed_forms(p):
    """i.i.d. binary spikes: F = 1 - p, CV = sqrt(1 - p), LV of geometric ISIs within sampling error."""
    rng = np.random.default_rng(int(p * 1000))
    n, nodes, w = 60_000, 50, 100
    m = rng.random((n, nodes)) < p
    t = ann2neo.node_statistics(m, w)
    n_win = n // w
    # mean of 50 nodes; per-node SE of F is about (1-p)*sqrt(2/(N-1)) -> SE of the mean ~ 0.0082*(1-p)
    assert t["fano_factor"].mean() == pytest.approx((1 - p) * (n_win - 1) / n_win, abs=4 * 0.0082 * (1 - p))
    assert t["cv_isi"].mean() == pytest.approx(np.sqrt(1 - p), abs=0.01)
    assert t["dispersion"].mean() == pytest.approx(1.0, abs=0.04)
    assert t["cv_dispersion"].mean() == pytest.approx(1.0, abs=0.02)
    assert t["lv_dispersion"].mean() == pytest.approx(1.0, abs=0.01)
    assert t["fano_factor_null"].mean() == pytest.approx((1 - p) * (n_win - 1) / n_win, abs=0.002)
    assert t["firing_rate"].mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / (n * nodes)))


def test_network_summary_matches_numpy(hetero_matrix):
    t = ann2neo.node_statistics(hetero_matrix, 100)
    s = ann2neo.network_summary(t)
    rate, ff = t["firing_rate"].to_numpy(), t["fano_factor"].dropna().to_numpy()
    assert s["mfr"] == pytest.approx(rate.mean(), rel=1e-14)
    assert s["cv_fr"] == pytest.approx(rate.std() / rate.mean() * 100, rel=1e-12)
    assert s["mf"] == pytest.approx(ff.mean(), rel=1e-14)
    assert s["cv_ff"] == pytest.approx(ff.std() / ff.mean() * 100, rel=1e-12)
    assert s["cv_fr"] == pytest.approx(float(es.cv(rate)) * 100, rel=1e-12)
    # the null columns, recomputed from the ISIs and window counts with numpy
    isis = ann2neo.isi(hetero_matrix)
    k = t["n_spikes"].to_numpy()
    span = np.array([d.sum() for d in isis])
    kk = k - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        cv2_null = np.where(k >= 3, (span - kk) * (kk - 1) / ((kk + 1) * span), np.nan)
        expected = (t["cv_isi"].to_numpy() ** 2 / cv2_null)
    expected[~(cv2_null > 0)] = np.nan
    np.testing.assert_allclose(t["cv_dispersion"], expected, rtol=1e-12, equal_nan=True)
    assert s["mean_cv_dispersion"] == pytest.approx(np.nanmean(expected), rel=1e-12)
    defined = expected[~np.isnan(expected)]
    assert s["mean_cv_dispersion_se"] == pytest.approx(defined.std(ddof=1) / np.sqrt(defined.size), rel=1e-12)
    counts = ann2neo.window_counts(hetero_matrix, 100)
    k_w = counts.sum(axis=0)
    ff_null = (1 - k_w / 1000) * 900 / 999
    assert s["null"] == "bernoulli" and s["mf_null"] == pytest.approx(ff_null[k_w > 0].mean(), rel=1e-12)


def test_analyze_accepts_matrix_trains_and_segment(hetero_matrix):
    with pytest.warns(ann2neo.analysis.SmallSampleWarning):
        a = ann2neo.analyze(hetero_matrix)
        b = ann2neo.analyze(ann2neo.to_spiketrains(hetero_matrix))
        c = ann2neo.analyze(ann2neo.to_segment(hetero_matrix))
    assert a.summary.keys() == b.summary.keys() == c.summary.keys()
    for key, value in a.summary.items():
        assert value == b.summary[key] == c.summary[key] or (np.isnan(value) and np.isnan(b.summary[key])), key
    assert list(a.nodes.columns[:4]) == ["firing_rate", "fano_factor", "cv_isi", "lv"]
    assert a.window == 100 and a.n_samples == 1050


def test_time_histogram_equals_elephant(hetero_matrix):
    trains = ann2neo.to_spiketrains(hetero_matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = es.time_histogram(trains, bin_size=25 * sample)
    got = ann2neo.time_histogram(hetero_matrix, bin_size=25)
    np.testing.assert_array_equal(got.magnitude, ref.magnitude)
    assert got.sampling_period == 25 * sample
    rate = ann2neo.time_histogram(hetero_matrix, 25, output="rate")
    np.testing.assert_allclose(rate.magnitude.ravel(), ref.magnitude.ravel() / (40 * 25))


def test_instantaneous_rate_in_spikes_per_sample(rng):
    m = rng.random((2000, 3)) < np.array([0.1, 0.4, 0.8])
    r = ann2neo.instantaneous_rate(m, kernel_width=20)
    assert r.units == (1 / sample).units and r.shape == (2000, 3)
    # away from the edges the smoothed rate averages to the firing rate
    np.testing.assert_allclose(r.magnitude[200:-200].mean(axis=0), m[200:-200].mean(axis=0), atol=0.02)
    with pytest.raises(ann2neo.UnitError, match="kernel_width must be given in samples"):
        ann2neo.instantaneous_rate(m, kernel_width=20 * __import__("quantities").ms)


# -- one time-base adapter: one return type per function, seconds accepted everywhere -------------------------------
def _poisson_trains(seed=0, n=6, duration=20.0):
    import neo
    import quantities as pq

    rng = np.random.default_rng(seed)
    return [neo.SpikeTrain(np.sort(rng.uniform(0, duration, rng.poisson(duration * r))) * pq.s,
                           t_stop=duration * pq.s, name=f"cell{j}") for j, r in enumerate(rng.uniform(2, 30, n))]


def test_every_statistic_has_one_return_type_in_both_time_bases(hetero_matrix):
    import quantities as pq

    trains = _poisson_trains()
    for fn, args_m, args_t in [(ann2neo.firing_rate, (), ()), (ann2neo.fano_factor, (100,), (1 * pq.s,)),
                               (ann2neo.cv_isi, (), ()), (ann2neo.lv, (), ())]:
        a, b = fn(hetero_matrix, *args_m), fn(trains, *args_t)
        assert type(a) is type(b) is np.ndarray and a.dtype == b.dtype == np.float64, fn.__name__
    wa, wb = ann2neo.window_counts(hetero_matrix, 100), ann2neo.window_counts(trains, 1 * pq.s)
    assert type(wa) is type(wb) is np.ndarray and wa.dtype == wb.dtype == np.int64 and wb.shape == (20, 6)
    ia, ib = ann2neo.isi(hetero_matrix), ann2neo.isi(trains)
    assert all(x.dtype == np.float64 for x in ia + ib)
    ta, tb = ann2neo.node_statistics(hetero_matrix, 100), ann2neo.node_statistics(trains, 1 * pq.s)
    assert list(ta.columns) == list(tb.columns)
    assert (ta.attrs["null"], tb.attrs["null"]) == ("bernoulli", "poisson")
    assert (ta.attrs["rate_unit"], tb.attrs["rate_unit"]) == ("1/sample", "Hz")
    assert tb["unit"].tolist() == [f"cell{j}" for j in range(6)]  # names, never "node 0" for a named unit
    sa, sb = ann2neo.network_summary(ta), ann2neo.network_summary(tb)
    assert sa.keys() == sb.keys() and "mf_null" in sa and not any(k.endswith(("_bernoulli", "_poisson")) for k in sa)


def test_window_counts_time_histogram_and_rate_accept_seconds_like_elephant():
    import quantities as pq
    from elephant.kernels import GaussianKernel

    trains = _poisson_trains(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binned = BinnedSpikeTrain(trains, bin_size=250 * pq.ms, t_start=0 * pq.s, t_stop=20 * pq.s).to_array()
        ref = es.time_histogram(trains, bin_size=250 * pq.ms)
        ref_rate = es.time_histogram(trains, bin_size=250 * pq.ms, output="rate")
        ref_inst = es.instantaneous_rate(trains[:2], sampling_period=1 * pq.ms,
                                         kernel=GaussianKernel(sigma=200 * pq.ms))
    np.testing.assert_array_equal(ann2neo.window_counts(trains, 250 * pq.ms), binned.T)
    got = ann2neo.time_histogram(trains, 250 * pq.ms)
    np.testing.assert_array_equal(got.magnitude, ref.magnitude)
    rate = ann2neo.time_histogram(trains, 250 * pq.ms, output="rate")
    assert rate.units == pq.Hz
    np.testing.assert_allclose(rate.magnitude, ref_rate.rescale(pq.Hz).magnitude, rtol=1e-12)
    inst = ann2neo.instantaneous_rate(trains, kernel_width=200 * pq.ms, nodes=[0, 1])
    assert inst.units == pq.Hz
    np.testing.assert_allclose(inst.magnitude, ref_inst.rescale(pq.Hz).magnitude, rtol=1e-10)
    np.testing.assert_allclose(ann2neo.firing_rate(trains), [float(es.mean_firing_rate(st).rescale(pq.Hz))
                                                             for st in trains], rtol=1e-12)
    with pytest.raises(TypeError, match="ambiguous"):
        ann2neo.window_counts(trains, 250)


def test_unsorted_spike_times_are_sorted_with_a_warning_w1():
    """W1: shuffled spike times gave CV -666 and LV 35,100 silently; now sorted with a warning, as Elephant."""
    import neo
    import quantities as pq

    rng = np.random.default_rng(4)
    times = np.sort(rng.uniform(0, 10, 60))
    shuffled = neo.SpikeTrain(rng.permutation(times) * pq.s, t_stop=10 * pq.s)
    ordered = neo.SpikeTrain(times * pq.s, t_stop=10 * pq.s)
    with pytest.warns(UserWarning, match="not sorted"):
        result = ann2neo.analyze([shuffled], window=1 * pq.s)
    isis = np.diff(times)
    assert result.nodes["cv_isi"].iloc[0] == pytest.approx(isis.std() / isis.mean(), rel=1e-12)
    assert result.nodes["cv_isi"].iloc[0] == pytest.approx(float(es.cv(es.isi(ordered))), rel=1e-12)
    assert result.nodes["lv"].iloc[0] == pytest.approx(float(es.lv(es.isi(ordered))), rel=1e-12)


def test_nan_spike_time_is_refused_not_counted_w5():
    """W5: a NaN spike time was counted in the rate (3.0 Hz); it is refused with the train named."""
    import neo
    import quantities as pq

    st = neo.SpikeTrain([0.1, np.nan, 0.5] * pq.s, t_stop=1 * pq.s, name="tetrode 3")
    for fn in (ann2neo.firing_rate, ann2neo.analyze, ann2neo.cv_isi):
        with pytest.raises(ValueError, match="NaN or infinite.*tetrode 3|tetrode 3.*NaN or infinite"):
            fn([st])


def test_identical_spike_times_get_a_note_u4():
    """U4: three identical spike times gave CV and LV NaN with an empty note."""
    import neo
    import quantities as pq

    st = neo.SpikeTrain([0.5, 0.5, 0.5] * pq.s, t_stop=1 * pq.s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = ann2neo.node_statistics([st], 100 * pq.ms)
    assert np.isnan(t["cv_isi"].iloc[0]) and np.isnan(t["lv"].iloc[0])
    assert "identical spike times" in t["note"].iloc[0] and "CV and LV undefined" in t["note"].iloc[0]


def test_analysis_modules_import_without_cycles():
    """statistics -> physical -> diagnostics -> statistics was a cycle: the module-level imports form none now."""
    import ast
    from pathlib import Path

    folder = Path(ann2neo.analysis.__file__).parent
    graph = {}
    for f in folder.glob("*.py"):
        tree = ast.parse(f.read_text())
        deps = set()
        for node in tree.body:  # module level only: function-level imports are lazy by design
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(alias.name for alias in node.names)
        graph[f.stem] = {d for d in deps if (folder / f"{d}.py").exists()}

    def visit(node, path):
        assert node not in path, f"import cycle: {' -> '.join(path + [node])}"
        for dep in graph.get(node, ()):
            visit(dep, path + [node])

    for module in graph:
        if module != "__init__":
            visit(module, [])
    assert "physical" not in graph["statistics"] and "diagnostics" not in graph["statistics"]
