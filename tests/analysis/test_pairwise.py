"""All-pairs cross-correlograms, STTC and complexity (ann2neo.analysis.pairwise) against Elephant."""
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import cross_correlation_histogram, spike_time_tiling_coefficient
from elephant.statistics import Complexity

import ann2neo
from ann2neo import Recording, UnitError, sample


@pytest.fixture
def layer(rng):
    """7 binary units over 700 samples; unit 1 follows unit 0 by 3 samples, unit 6 is silent."""
    m = rng.random((700, 7)) < rng.uniform(0.02, 0.5, 7)
    m[3:, 1] |= m[:-3, 0]
    m[:, 6] = False
    return m


def _elephant_cch(a, b, width, max_lag, t0=0.0, unit=sample):
    n = a.size
    trains = [neo.SpikeTrain((t0 + np.repeat(np.arange(n), row.astype(int)) * width) * unit, t_start=t0 * unit,
                             t_stop=(t0 + n * width) * unit) for row in (a, b)]
    binned = [BinnedSpikeTrain(st, bin_size=width * unit) for st in trains]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cch, lags = cross_correlation_histogram(*binned, window=[-max_lag, max_lag], method="speed")
    return cch.magnitude[:, 0], lags


def test_cross_correlograms_equal_elephant_for_every_pair(layer):
    c = ann2neo.cross_correlograms(layer, 9 * sample)
    assert c.counts.shape == (7, 7, 19) and c.counts.dtype == np.int64 and c.time_unit == "sample"
    for i in range(7):
        for j in range(7):
            ref, lags = _elephant_cch(layer[:, i], layer[:, j], 1.0, 9)
            assert np.array_equal(c.counts[i, j], ref), (i, j)
    assert np.array_equal(c.lags, lags)
    # unit 1 follows unit 0 by 3 samples: the peak is at lag +3 (Elephant's sign)
    assert c.lags[np.argmax(c.counts[0, 1])] == 3
    assert c.counts[2, 2, 9] == layer[:, 2].sum() and not c.counts[6].any()


def test_cross_correlograms_do_not_depend_on_the_block_size(layer):
    ref = ann2neo.cross_correlograms(layer, 4).counts
    assert np.array_equal(ann2neo.cross_correlograms(layer, 4, block=2).counts, ref)
    assert np.array_equal(ann2neo.cross_correlograms(layer, 4, block=3).counts, ref)
    # a lag longer than the FFT segments, and lag 0 alone
    long = ann2neo.cross_correlograms(layer[:300], 200).counts
    ref_long, _ = _elephant_cch(layer[:300, 0], layer[:300, 1], 1.0, 200)
    assert np.array_equal(long[0, 1], ref_long)
    assert np.array_equal(ann2neo.cross_correlograms(layer, 0).counts[:, :, 0],
                          layer.T.astype(int) @ layer.astype(int))


@pytest.mark.parametrize(("n", "max_lag"), [(1, 0), (5, 3), (64, 63), (65, 64), (300, 130), (777, 1)])
def test_binary_popcount_route_equals_the_frequency_route(rng, n, max_lag):
    from ann2neo.analysis.pairwise import _cch_binary, _cch_fft

    x = rng.random((5, n)) < 0.4
    xi = x.astype(np.int64)
    direct = np.stack([[[np.dot(xi[i, max(0, -k):n - max(0, k)], xi[j, max(0, k):n - max(0, -k)])
                         for k in range(-max_lag, max_lag + 1)] for j in range(5)] for i in range(5)])
    assert np.array_equal(_cch_binary(x, max_lag), direct)
    assert np.array_equal(_cch_fft(x.astype(float), max_lag, 2), direct)


def test_cross_correlograms_sum_over_trials_without_crossing_them(rng):
    b = rng.poisson(0.3, (5, 3, 120)).astype(np.uint8)        # counts up to several spikes per bin
    rec = Recording.from_binned(b, 2 * pq.ms, t_start=-40 * pq.ms)
    c = ann2neo.cross_correlograms(rec, 10 * pq.ms)
    assert c.counts.shape == (3, 3, 11) and np.allclose(c.lag_times, np.arange(-5, 6) * 2.0)
    for i in range(3):
        for j in range(3):
            ref = sum(_elephant_cch(b[k, i], b[k, j], 2.0, 5, t0=-40.0, unit=pq.ms)[0] for k in range(5))
            assert np.array_equal(c.counts[i, j], ref)
    coarse = ann2neo.cross_correlograms(rec, 8 * pq.ms, bin_width=4 * pq.ms)
    assert coarse.counts.shape == (3, 3, 5) and coarse.bin_width == 4.0


def test_cross_correlograms_check_lags_against_the_time_base(layer, rng):
    with pytest.raises(UnitError, match="samples"):
        ann2neo.cross_correlograms(layer, 5 * pq.ms)
    rec = Recording.from_binned(rng.random((2, 2, 50)) < 0.1, 1 * pq.ms)
    with pytest.raises(UnitError):
        ann2neo.cross_correlograms(rec, 5 * sample)
    with pytest.raises(ValueError, match="whole number of bins"):
        ann2neo.cross_correlograms(rec, 2.5 * pq.ms)
    with pytest.raises(ValueError, match="as_one_trial"):
        ann2neo.cross_correlograms(Recording.from_matrix(layer, labels=np.zeros(700)), 5)
    with pytest.raises(TypeError):
        ann2neo.cross_correlograms("spikes.npy", 5)


def _st(t, t_stop, unit):
    return neo.SpikeTrain(np.asarray(t) * unit, t_start=0 * unit, t_stop=t_stop * unit)


def test_sttc_equals_elephant_on_spike_times(rng):
    times = [np.sort(rng.uniform(0, 3, n)) for n in (30, 45, 12, 60)]
    times[1] = np.sort(np.concatenate([times[0] + rng.normal(0, 0.002, times[0].size), times[1][:15]]).clip(0, 3))
    times.append(np.array([]))
    rec = Recording.from_spike_times(times, t_start=0 * pq.s, t_stop=3 * pq.s)
    s = ann2neo.sttc(rec, 10 * pq.ms)
    assert s.dt == pytest.approx(0.01) and s.per_trial.shape == (1, 5, 5)
    for i in range(4):
        for j in range(4):
            ref = spike_time_tiling_coefficient(_st(times[i], 3, pq.s), _st(times[j], 3, pq.s), dt=10 * pq.ms)
            assert s.matrix[i, j] == pytest.approx(ref, rel=1e-12, abs=1e-14), (i, j)
    assert np.isnan(s.matrix[4]).all() and any("empty" in n for n in s.notes)
    assert s.matrix[0, 1] > 0.5 and np.allclose(s.matrix, s.matrix.T, equal_nan=True)


def test_sttc_equals_elephant_on_a_layer_and_refuses_ms(layer):
    s = ann2neo.sttc(layer[:, :4], 2)
    for i in range(4):
        for j in range(4):
            ref = spike_time_tiling_coefficient(_st(np.flatnonzero(layer[:, i]), 700, sample),
                                                _st(np.flatnonzero(layer[:, j]), 700, sample), dt=2 * sample)
            assert s.matrix[i, j] == pytest.approx(ref, rel=1e-12), (i, j)
    with pytest.raises(UnitError, match="samples"):
        ann2neo.sttc(layer, 5 * pq.ms)          # Elephant would take this as 5 s = 5 samples
    with pytest.raises(ValueError, match="> 0"):
        ann2neo.sttc(layer, 0)


def test_sttc_flags_saturation(rng):
    dense = rng.random((2000, 3)) < 0.8          # rate 0.8 per sample: dt = 5 samples tiles everything
    s = ann2neo.sttc(dense, 5)
    assert (s.tiling > 0.99).all() and any("saturates" in n for n in s.notes)
    assert np.nanmin(s.matrix) > 0.99            # whatever the (independent) timing


def test_sttc_of_trials_is_the_mean_of_per_trial_values(rng):
    trials = [[np.sort(rng.uniform(10 * k, 10 * k + 10, rng.integers(5, 15))) for _ in range(3)] for k in range(4)]
    rec = Recording.from_spike_times(trials, t_start=np.arange(4) * 10.0, t_stop=np.arange(1, 5) * 10.0,
                                     time_unit=pq.s)
    s = ann2neo.sttc(rec, 0.5 * pq.s)
    for k in range(4):
        st = [neo.SpikeTrain(t * pq.s, t_start=10 * k * pq.s, t_stop=(10 * k + 10) * pq.s) for t in trials[k]]
        assert s.per_trial[k, 0, 2] == pytest.approx(spike_time_tiling_coefficient(st[0], st[2], 0.5 * pq.s),
                                                     rel=1e-12)
    np.testing.assert_allclose(s.matrix, s.per_trial.mean(axis=0), rtol=1e-12)


def test_synchrony_equals_elephant_complexity(layer, rng):
    sub = layer[:200, :5]
    syn = ann2neo.synchrony(sub)
    trains = ann2neo.to_spiketrains(sub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpx = Complexity(trains, bin_size=1 * sample, binary=True, spread=0)
    k = cpx.complexity_histogram.size                 # Elephant stops at the largest complexity seen
    assert np.array_equal(syn.histogram[:k], cpx.complexity_histogram) and not syn.histogram[k:].any()
    np.testing.assert_allclose(syn.pdf[:k], cpx.pdf().magnitude[:, 0], rtol=1e-12)
    # the independence control: the convolution of the units' Bernoulli distributions
    p = sub.mean(axis=0)
    ref = np.array([1.0])
    for q in p:
        ref = np.convolve(ref, [1 - q, q])
    np.testing.assert_allclose(syn.independent, ref, rtol=1e-12)
    assert syn.independent_mean == pytest.approx(p.sum())
    times = Recording.from_spike_times([np.array([1.0, 12.0]), np.array([1.5, 30.0])], t_start=0 * pq.ms,
                                       t_stop=40 * pq.ms)
    assert ann2neo.synchrony(times, 10 * pq.ms).histogram.tolist() == [1, 2, 1]
    with pytest.raises(UnitError):
        ann2neo.synchrony(times, 10 * sample)


def test_docstring_examples_of_pairwise_run():
    import doctest

    import ann2neo.analysis.pairwise as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
