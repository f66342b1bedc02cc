"""trial_statistics (rates per trial and condition, across-trial Fano factor, PSTH) against NumPy references.

The across-trial Fano factor and the PSTH of :func:`ann2neo.trial_statistics` (and so of ``analyze(...).trials``
and the CLI tables ``units_``, ``conditions_``, ``psth_``) are those of :func:`ann2neo.trial_fano_factor` and
:func:`ann2neo.psth`: these tests pin both routes to closed forms and to each other.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import quantities as pq
import scipy.io

import ann2neo
from ann2neo.analysis import conditioned, trials


def _reference(counts, ddof):
    """Mean, variance (ddof) and Fano factor over axis 0 of integer counts; NaN below 2 trials or at mean 0."""
    c = np.asarray(counts, dtype=np.float64)
    n = c.shape[0]
    mean = c.mean(axis=0) if n else np.full(c.shape[1:], np.nan)
    if n < 2:
        return mean, np.full(c.shape[1:], np.nan), np.full(c.shape[1:], np.nan)
    var = c.var(axis=0, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return mean, var, np.where(mean > 0, var / mean, np.nan)


@pytest.fixture
def stn(real_neurons):
    d = scipy.io.loadmat(real_neurons / "10_spikes-1.mat")
    rec = ann2neo.Recording.from_binned(d["train"], 1 * pq.ms, t_start=-1 * pq.s,
                                        trials={"direction": d["direction"].ravel()}, condition="direction")
    return rec, d["train"], d["direction"].ravel()


@pytest.mark.parametrize("ddof", [0, 1])
def test_stn_across_trial_fano_factor_and_rates_equal_numpy(stn, ddof):
    rec, train, direction = stn
    counts = train.sum(axis=1)                                       # spikes per 2 s trial
    t = trials.trial_statistics(rec, ddof=ddof)
    ff = counts.var(ddof=ddof) / counts.mean()
    assert t.units["fano_factor_trials"].iloc[0] == pytest.approx(ff, rel=1e-12)
    if ddof == 0:
        assert t.units["fano_factor_trials"].iloc[0] == pytest.approx(6.574, abs=5e-4)
    cond = t.conditions.set_index("direction")
    assert cond["rate"].tolist() == pytest.approx([58.66, 35.26], abs=0.005)
    for value in (0, 1):
        c = counts[direction == value]
        assert cond.loc[value, "fano_factor_trials"] == pytest.approx(c.var(ddof=ddof) / c.mean(), rel=1e-12)
        assert cond.loc[value, "rate"] == pytest.approx(c.mean() / 2.0, rel=1e-12)
        assert cond.loc[value, "rate_se"] == pytest.approx(c.std(ddof=1) / np.sqrt(c.size) / 2.0, rel=1e-12)
        assert cond.loc[value, "mean_count"] == pytest.approx(c.mean(), rel=1e-12)
    # the public across-trial Fano factor over the whole trial (one 2 s bin) gives the same numbers
    tf = ann2neo.trial_fano_factor(rec, 2 * pq.s, ddof=ddof)
    assert tf.conditions.tolist() == [0, 1] and tf.n_trials.tolist() == [25, 25]
    np.testing.assert_allclose(tf.fano[:, 0, 0], cond["fano_factor_trials"], rtol=1e-12)
    one = ann2neo.trial_fano_factor(rec.select(), 2 * pq.s, ddof=ddof, labels=np.zeros(50, int))
    assert one.fano[0, 0, 0] == pytest.approx(t.units["fano_factor_trials"].iloc[0], rel=1e-12)


@pytest.fixture
def synthetic():
    """21 trials of 12 bins of 5 ms, 4 units, conditions A (10 trials), B (5), C (5) and D (one trial)."""
    rng = np.random.default_rng(3)
    labels = np.array(list("ABCA") * 5 + ["D"])
    counts = rng.poisson(rng.uniform(0.2, 3, (1, 4, 1)), size=(21, 4, 12)).astype(np.uint8)
    counts[:, 1] = 0                        # a silent unit: Fano factor undefined
    counts[labels == "B", 2] = 2            # constant in condition B: Fano factor 0
    rec = ann2neo.Recording.from_binned(counts, 5 * pq.ms, trials={"c": labels}, condition="c")
    return rec, counts.astype(np.int64), labels


@pytest.mark.parametrize("ddof", [0, 1])
def test_synthetic_conditions_units_and_psth_equal_numpy(synthetic, ddof):
    rec, counts, labels = synthetic
    per_trial = counts.sum(axis=2)          # (21, 4)
    t = trials.trial_statistics(rec, ddof=ddof)
    assert list(t.units.columns) == ["unit", "n_trials", "rate", "rate_se", "mean_count", "fano_factor_trials",
                                     "note"]
    assert list(t.conditions.columns) == ["unit", "c", "n_trials", "rate", "rate_se", "mean_count",
                                          "fano_factor_trials"]
    mean, _, ff = _reference(per_trial, ddof)
    np.testing.assert_allclose(t.units["mean_count"], mean, rtol=1e-12)
    np.testing.assert_allclose(t.units["rate"], mean / 0.06, rtol=1e-12)
    np.testing.assert_allclose(t.units["rate_se"], per_trial.std(axis=0, ddof=1) / np.sqrt(21) / 0.06, rtol=1e-12)
    np.testing.assert_allclose(t.units["fano_factor_trials"], ff, rtol=1e-12)
    assert np.isnan(t.units["fano_factor_trials"].iloc[1])           # silent
    for value in "ABCD":
        rows = t.conditions[t.conditions["c"] == value]
        mean, _, ff = _reference(per_trial[labels == value], ddof)
        assert rows["unit"].tolist() == ["unit 0", "unit 1", "unit 2", "unit 3"]
        assert (rows["n_trials"] == np.count_nonzero(labels == value)).all()
        np.testing.assert_allclose(rows["mean_count"], mean, rtol=1e-12)
        np.testing.assert_allclose(rows["fano_factor_trials"], ff, rtol=1e-12)
    b = t.conditions[t.conditions["c"] == "B"]["fano_factor_trials"].to_numpy()
    assert b[2] == 0.0 and np.isnan(b[1])
    assert t.conditions[t.conditions["c"] == "D"]["fano_factor_trials"].isna().all()   # one trial: undefined
    assert t.conditions[t.conditions["c"] == "D"]["rate_se"].isna().all()
    # the PSTH: mean count per 5 ms bin over each condition's trials, in Hz
    assert list(t.psth.columns) == ["unit", "c", "bin_start", "bin_stop", "n_trials", "rate"]
    assert len(t.psth) == 4 * 4 * 12 and t.psth.attrs["bin_width"] == 5.0
    for value in "ABCD":
        got = t.psth[t.psth["c"] == value]
        ref = counts[labels == value].mean(axis=0) / 0.005           # (4, 12)
        np.testing.assert_allclose(got["rate"].to_numpy().reshape(4, 12), ref, rtol=1e-12)
        np.testing.assert_array_equal(got["bin_start"].to_numpy().reshape(4, 12), np.tile(np.arange(12) * 5.0, (4, 1)))
    # the public PSTH and across-trial Fano factor of the same trials give the same numbers
    h = ann2neo.psth(rec)
    np.testing.assert_allclose(h.rate.ravel(), t.psth["rate"], rtol=1e-12)
    assert h.n_trials.tolist() == [10, 5, 5, 1]
    tf = ann2neo.trial_fano_factor(rec, 60 * pq.ms, ddof=ddof)
    several = t.conditions["c"] != "D"
    np.testing.assert_allclose(tf.fano[:, :, 0].ravel()[several], t.conditions["fano_factor_trials"][several],
                               rtol=1e-12)


def test_synthetic_fano_factor_per_bin_equals_numpy(synthetic):
    rec, counts, labels = synthetic
    for ddof in (0, 1, 2):
        tf = ann2neo.trial_fano_factor(rec, 10 * pq.ms, ddof=ddof)
        assert tf.fano.shape == (4, 4, 6) and tf.bin_width == 10.0
        pairs = counts.reshape(21, 4, 6, 2).sum(axis=3)
        for i, value in enumerate("ABCD"):
            c = pairs[labels == value].astype(np.float64)
            if c.shape[0] > ddof:
                mean, var = c.mean(axis=0), c.var(axis=0, ddof=ddof)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ff = np.where(mean > 0, var / mean, np.nan)
            else:
                mean = var = ff = np.full((4, 6), np.nan)
            np.testing.assert_allclose(tf.mean[i], mean, rtol=1e-12)
            np.testing.assert_allclose(tf.variance[i], var, rtol=1e-12)
            np.testing.assert_allclose(tf.fano[i], ff, rtol=1e-12)
    h = ann2neo.psth(rec, 10 * pq.ms)
    for i, value in enumerate("ABC"):
        c = counts.reshape(21, 4, 6, 2).sum(axis=3)[labels == value]
        np.testing.assert_allclose(h.rate[i], c.mean(axis=0) / 0.01, rtol=1e-12)
        np.testing.assert_allclose(h.sem[i], c.std(axis=0, ddof=1) / np.sqrt(c.shape[0]) / 0.01, rtol=1e-12)
    assert np.isnan(h.sem[3]).all() and h.n_trials.tolist() == [10, 5, 5, 1]


@pytest.mark.parametrize("per_trial", [False, True])
def test_binary_one_bin_trials_fano_factor_is_bernoulli(per_trial):
    """A layer's 0/1 trials: across-trial Fano factor 1 - p (ddof=0), n(1 - p)/(n - 1) (ddof=1), rate p."""
    rng = np.random.default_rng(11)
    m = rng.random((600, 7)) < rng.uniform(0.05, 0.95, 7)
    m[:, 0] = False
    labels = rng.integers(0, 3, 600)
    rec = ann2neo.Recording.from_matrix(m, labels=labels)
    for ddof in (0, 1):
        t = trials.trial_statistics(rec, ddof=ddof, per_trial=per_trial)
        assert t.psth is None and (t.trials is None) == (not per_trial)
        for value in range(3):
            x = m[labels == value]
            n, p = x.shape[0], x.mean(axis=0)
            rows = t.conditions[t.conditions["label"] == value]
            with np.errstate(invalid="ignore", divide="ignore"):
                ff = np.where(p > 0, (1 - p) * (n / (n - 1) if ddof else 1.0), np.nan)
            np.testing.assert_allclose(rows["fano_factor_trials"], ff, rtol=1e-12)
            np.testing.assert_allclose(rows["rate"], p, rtol=1e-12)
            np.testing.assert_allclose(rows["rate_se"], np.sqrt(p * (1 - p) / (n - 1)), rtol=1e-12, atol=1e-15)
        tf = ann2neo.trial_fano_factor(m, labels=labels, ddof=ddof)
        np.testing.assert_allclose(tf.fano[:, :, 0].ravel(), t.conditions["fano_factor_trials"], rtol=1e-12)


def test_trials_of_unequal_length_use_trial_rates_and_say_so():
    rng = np.random.default_rng(5)
    starts, lengths = np.array([0.0, 3, 6, 9]), np.array([1.0, 2, 1, 1.5])
    times = [[np.sort(rng.uniform(s, s + L, rng.poisson(8 * L))) for _ in range(3)]
             for s, L in zip(starts, lengths, strict=True)]
    rec = ann2neo.Recording.from_spike_times(times, t_start=starts * pq.s, t_stop=(starts + lengths) * pq.s,
                                             trials={"c": [0, 1, 0, 1]}, condition="c")
    t = trials.trial_statistics(rec)
    counts = np.array([[len(u) for u in trial] for trial in times])
    rates = counts / lengths[:, None]
    np.testing.assert_allclose(t.units["rate"], rates.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(t.units["rate_se"], rates.std(axis=0, ddof=1) / 2, rtol=1e-12)
    np.testing.assert_allclose(t.units["fano_factor_trials"], counts.var(axis=0) / counts.mean(axis=0), rtol=1e-12)
    assert "mixes lengths" in t.units["note"].iloc[0] and t.psth is None
    assert t.trials["rate"].to_numpy().reshape(4, 3) == pytest.approx(rates, rel=1e-12)


def test_analyze_tables_are_the_trial_statistics(stn):
    rec, _, _ = stn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ann2neo.analyze(rec, psth_bin=50 * pq.ms, ddof=1).trials
    t = trials.trial_statistics(rec, ddof=1, psth_bin=50 * pq.ms)
    for got, want in ((a.units, t.units), (a.conditions, t.conditions), (a.trials, t.trials), (a.psth, t.psth)):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert a.psth.attrs == {"aligned": "trials' common start", "bin_width": 50.0} and a.ddof == 1


def test_one_trial_fano_factor_function():
    """One function of that name: ann2neo.trial_fano_factor, the one trial_statistics uses."""
    assert ann2neo.trial_fano_factor is conditioned.trial_fano_factor
    assert not hasattr(trials, "trial_fano_factor") and "trial_fano_factor" not in trials.__all__


def test_psth_bin_longer_than_the_trials_gives_no_bins(synthetic):
    rec, _, _ = synthetic
    h = ann2neo.psth(rec, 100 * pq.ms)                     # trials of 60 ms: no complete bin
    assert h.rate.shape == (4, 4, 0) and h.n_trials.tolist() == [10, 5, 5, 1]
    assert ann2neo.trial_fano_factor(rec, 100 * pq.ms).fano.shape == (4, 4, 0)
    assert trials.trial_statistics(rec, psth_bin=100 * pq.ms).psth.empty
