"""detect_change (two-sided CUSUM), alarm_table, false_alarm_rate, detection_summary: closed forms, scipy/statsmodels
confidence intervals, Siegmund's run length, and the audit's cases (speed of change, rises)."""
import math

import numpy as np
import pandas as pd
import pytest

from ann2neo.analysis.changepoint import (
    RULE_DEFAULTS,
    _cusum,
    alarm_table,
    detect_change,
    detection_summary,
    evaluate_rule,
    false_alarm_rate,
    siegmund_arl,
)


def _decline(n_ramp, *, level=0.5, factor=0.8, n_before=8, n_after=10, sd=0.004, seed=0):
    """A series at `level`, then a linear decline to factor x level over n_ramp checkpoints, then flat; with noise."""
    base = np.r_[np.full(n_before, level), np.linspace(level, factor * level, n_ramp + 1)[1:],
                 np.full(n_after, factor * level)]
    return base + np.random.default_rng(seed).normal(0, sd, base.size)


# ------------------------------------------------------------------ the audit's cases


@pytest.mark.parametrize("seed", range(5))
def test_a_decline_to_0_8x_alarms_fast_and_stretched_five_times(seed):
    fast = detect_change(_decline(4, seed=seed))
    slow = detect_change(_decline(20, seed=seed))
    assert fast.alarm and slow.alarm and fast.direction == slow.direction == "fall"
    assert fast.index < slow.index  # a slower decline alarms later, but it alarms
    # the old ratio rule's view: the smallest one-step ratio of the slow decline is far above 0.75
    x = _decline(20, seed=seed, sd=0.0)
    assert (x[1:] / x[:-1]).min() > 0.98


def test_the_decision_does_not_depend_on_the_speed_of_the_change():
    # noise-free: every ramp length from 1 to 60 checkpoints alarms (the total change decides)
    for n_ramp in (1, 2, 5, 10, 20, 40, 60):
        assert detect_change(_decline(n_ramp, sd=0.0)).alarm, n_ramp
    # a change smaller than k x scale (10 % of the level with the default floor) never alarms, at any speed
    for n_ramp in (1, 20):
        assert not detect_change(_decline(n_ramp, factor=0.91, sd=0.0, n_after=200)).alarm
        assert detect_change(_decline(n_ramp, factor=0.85, sd=0.0, n_after=30)).alarm  # 15 %: 1 scale above k


def test_a_rise_alarms_with_direction_rise_or_both_and_not_fall():
    x = _decline(5, factor=1.3)
    rise, both, fall = (detect_change(x, direction=d) for d in ("rise", "both", "fall"))
    assert rise.alarm and rise.direction == "rise"
    assert both.alarm and both.direction == "rise" and both.index == rise.index
    assert not fall.alarm and fall.index == -1 and fall.direction is None
    np.testing.assert_array_equal(both.statistic[5:], np.fmax(both.upper, both.lower)[5:])


# ------------------------------------------------------------------ closed forms


def test_cusum_path_against_a_hand_computed_closed_form():
    x = np.array([9.0, 1.0, 1.2, 0.9, 1.0, 1.2, 0.6, 0.5])
    r = detect_change(x, warmup=5, reference=4, k=0.5, h=5.0)
    # reference = x[1:5] = 1.0, 1.2, 0.9, 1.0: level = median = 1.0; differences 0.2, -0.3, 0.1 have median 0.1
    # and absolute deviations 0.1, 0.4, 0.0, so MAD = 0.1 and scale = 1.4826 x 0.1 / sqrt(2) (above the 0.05 floor)
    scale = 1.482602218505602 * 0.1 / math.sqrt(2)
    assert r.level == 1.0 and r.scale == pytest.approx(scale, rel=1e-12)
    z5, z6, z7 = 0.2 / scale, -0.4 / scale, -0.5 / scale
    up5 = z5 - 0.5
    up6 = max(0.0, up5 + z6 - 0.5)
    lo6 = -z6 - 0.5
    lo7 = lo6 - z7 - 0.5
    np.testing.assert_allclose(r.upper[5:], [up5, up6, 0.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.lower[5:], [0.0, lo6, lo7], rtol=1e-12)
    assert np.isnan(r.upper[:5]).all() and np.isnan(r.z[:5]).all()
    assert lo6 < 5 < lo7 and (r.alarm, r.index, r.direction) == (True, 7, "fall")
    np.testing.assert_allclose(r.statistic[5:], [up5, lo6, lo7], rtol=1e-12)


def test_floor_and_given_level_and_scale():
    x = np.r_[np.full(5, 2.0), 1.6, 1.6, 1.6]
    r = detect_change(x)  # no jitter: scale = min_rel_scale x level = 0.1, z = -4, k = 2: lower = 2, 4, 6
    assert r.scale == pytest.approx(0.1) and any("floor" in n for n in r.notes)
    np.testing.assert_allclose(r.lower[5:], [2.0, 4.0, 6.0])
    assert not r.alarm
    r2 = detect_change(x, level=2.0, scale=0.05)  # z = -8: lower 6, 12 -> alarm at 6
    assert (r2.alarm, r2.index) == (True, 6)
    assert detect_change(np.r_[np.zeros(5), 0.004, 0.004]).scale == 0.01  # absolute floor at level 0


def test_nan_checkpoints_are_skipped_and_short_series_give_no_decision():
    x = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.3, np.nan, 0.3, 0.3])
    r = detect_change(x)
    assert np.isnan(r.z[6]) and r.lower[6] == r.lower[5] and any("NaN" in n for n in r.notes)
    assert r.index == detect_change(np.delete(x, 6)).index + 1
    short = detect_change([0.5, 0.4, 0.3])
    assert not short.alarm and short.index == -1 and "no decision" in short.notes[-1]
    undefined = detect_change([np.nan] * 4 + [0.5, 0.1, 0.1])
    assert not undefined.alarm and math.isnan(undefined.level) and "undefined" in undefined.notes[0]


def test_online_equals_offline_the_rule_is_causal():
    x = _decline(12, seed=3)
    full = detect_change(x)
    online = next(t for t in range(1, x.size + 1) if detect_change(x[:t]).alarm) - 1
    assert full.alarm and online == full.index


# ------------------------------------------------------------------ false alarms under the null, by simulation


def test_in_control_run_length_with_known_scale_matches_siegmund():
    # i.i.d. N(0, 1), known level and scale: the one-sided CUSUM's mean run length vs Siegmund's approximation
    k, h = 0.5, 3.0
    rng = np.random.default_rng(2024)
    z = rng.normal(size=(4000, 1500))
    upper, lower = _cusum(z, k)
    first_up = np.argmax(upper > h, axis=1) + 1
    assert (upper > h).any(axis=1).all()
    expected = siegmund_arl(k, h)  # (exp(2 k b) - 2 k b - 1) / (2 k^2), b = h + 1.166: 124.3
    assert expected == pytest.approx((math.exp(4.166) - 4.166 - 1) / 0.5)
    assert first_up.mean() == pytest.approx(expected, rel=0.06)
    # the public function gives the same paths on a row
    r = detect_change(np.r_[np.zeros(5), z[0, :200]], level=0.0, scale=1.0, k=k, h=h)
    np.testing.assert_allclose(r.upper[5:], upper[0, :200])
    np.testing.assert_allclose(r.lower[5:], lower[0, :200])


def test_false_alarm_frequency_on_flat_noisy_series_with_the_default_rule():
    # flat series of independent normal jitter well above the floor (level 1, sd 0.1 > 0.05): level and scale are
    # estimated from the 4-checkpoint reference, which is what makes false alarms possible at k=2, h=10 (with the
    # scale known, Siegmund's run length is astronomically long)
    assert siegmund_arl(RULE_DEFAULTS["k"], RULE_DEFAULTS["h"]) > 1e8
    rng = np.random.default_rng(7)
    n_series, length = 1000, 40
    alarms = np.array([detect_change(1.0 + rng.normal(0, 0.1, length)).alarm for _ in range(n_series)])
    # the stated level: about 5 % per run of 40 checkpoints (35 after the warm-up); below 8 % here
    assert 0.02 < alarms.mean() < 0.08
    # independent check of the same frequency by the vectorized recursion with the same estimates
    x = 1.0 + np.random.default_rng(8).normal(0, 0.1, (20000, length))
    ref = x[:, 1:5]
    level = np.median(ref, axis=1)
    d = np.diff(ref, axis=1)
    mad = np.median(np.abs(d - np.median(d, axis=1, keepdims=True)), axis=1)
    scale = np.maximum(1.4826 * mad / math.sqrt(2), 0.05 * level)
    up, lo = _cusum((x[:, 5:] - level[:, None]) / scale[:, None], 2.0)
    expected = ((up > 10) | (lo > 10)).any(axis=1).mean()
    assert alarms.mean() == pytest.approx(expected, abs=3 * math.sqrt(expected * (1 - expected) / n_series))
    # with jitter under the floor (sd 0.01 of level 1 < 0.05), false alarms are rare
    quiet = np.array([detect_change(1.0 + rng.normal(0, 0.01, length)).alarm for _ in range(200)])
    assert quiet.mean() == 0.0


# ------------------------------------------------------------------ trajectories tables


def _trajectories():
    """4 clean runs (run c1 drifts: a false alarm), 3 noisy runs; two layers; 12 epochs (0..11)."""
    rows = []
    flat = np.full(12, 0.5)
    fall = np.r_[np.full(6, 0.5), np.full(6, 0.3)]  # alarm at epoch 7 (scale 0.025, z = -8, lower 6, 12)
    runs = [("c0", 0.0, 0, flat, None, None), ("c1", 0.0, 1, fall, None, None), ("c2", 0.0, 2, flat, None, 10),
            ("c3", 0.0, 3, flat, None, None),
            ("n0", 0.4, 0, fall, 8, 9), ("n1", 0.4, 1, flat, 9, 10), ("n2", 0.4, 2, fall, None, None)]
    for run, noise, seed, series, mem, base in runs:
        for epoch in range(12):
            for layer, values in (("hidden", series), ("other", flat)):
                rows.append({"run": run, "architecture": "mlp", "dataset": "digits", "noise": noise, "seed": seed,
                             "epoch": epoch, "layer": layer, "n_units": 8, "mfr": values[epoch],
                             "memorizing": mem is not None and epoch >= mem,
                             "val_gap": 0.3 if base is not None and epoch >= base else 0.1})
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=0)  # row order must not matter


def test_alarm_table_against_hand_computed_values():
    table = alarm_table(_trajectories(), "mfr", "hidden")
    assert list(table.columns[:10]) == ["run", "architecture", "dataset", "noise", "seed", "layer", "indicator",
                                        "alarm", "alarm_epoch", "direction"]
    t = table.set_index("run")
    assert t["alarm"].to_dict() == {"c0": False, "c1": True, "c2": False, "c3": False, "n0": True, "n1": False,
                                    "n2": True}
    assert t.loc["c1", "alarm_epoch"] == 7 and t.loc["n0", "direction"] == "fall"
    assert pd.isna(t.loc["c0", "alarm_epoch"])
    assert t.loc["n0", "first_memorizing_epoch"] == 8 and t.loc["n1", "first_memorizing_epoch"] == 9
    assert pd.isna(t.loc["n2", "first_memorizing_epoch"])
    assert t.loc["n0", "baseline_epoch"] == 9 and t.loc["c2", "baseline_epoch"] == 10
    assert (t["n_epochs"] == 12).all() and (t["last_epoch"] == 11).all()
    both = alarm_table(_trajectories(), "mfr")
    assert len(both) == 14 and not both[both["layer"] == "other"]["alarm"].any()


def test_false_alarm_rate_against_scipy_and_statsmodels():
    from scipy.stats import binomtest
    from statsmodels.stats.proportion import proportion_confint

    table = alarm_table(_trajectories(), "mfr", "hidden")
    rate, low, high, n = false_alarm_rate(table)
    assert (rate, n) == (0.25, 4)
    ci = binomtest(1, 4).proportion_ci(0.95, method="exact")
    assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert (low, high) == pytest.approx(proportion_confint(1, 4, alpha=0.05, method="beta"), rel=1e-9)
    # closed form with no alarm: upper bound 1 - (alpha / 2) ** (1 / n)
    none = pd.DataFrame({"run": [f"r{i}" for i in range(30)], "noise": 0.0, "alarm": False})
    assert false_alarm_rate(none)[2] == pytest.approx(1 - 0.025 ** (1 / 30), rel=1e-9)
    assert false_alarm_rate(none, confidence=0.9)[2] == pytest.approx(1 - 0.05 ** (1 / 30), rel=1e-9)


def test_detection_summary_and_evaluate_rule_against_hand_computed_values():
    table = alarm_table(_trajectories(), "mfr", "hidden")
    s = detection_summary(table).iloc[0]
    # noisy runs: n0 memorizes at 8, alarm 7 (early, delay -1), baseline 9 (-2); n1 memorizes at 9, no alarm;
    # n2 never memorizes (left out)
    assert (s["noise"], s["n_runs"], s["n_memorizing"], s["detected"]) == (0.4, 3, 2, 1)
    assert s["detection_rate"] == 0.5 and s["early"] == 1 and s["median_delay"] == -1.0
    assert s["baseline_detected"] == 2 and s["median_delay_vs_baseline"] == -2.0
    assert "never memorizing" in s["note"]
    from scipy.stats import binomtest

    ci = binomtest(1, 2).proportion_ci(0.95, method="exact")
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((ci.low, ci.high))
    ev = evaluate_rule(_trajectories(), ["mfr"]).set_index("layer")
    assert ev.loc["hidden", ["n_clean", "false_alarms", "n_memorizing", "detected"]].tolist() == [4, 1, 2, 1]
    assert ev.loc["other", "false_alarms"] == 0 and ev.loc["other", "detected"] == 0
    # c2's val_gap crosses 0.2 (baseline false alarm); n2 alarms but never memorizes; baseline 1 epoch after memorizing
    assert ev.loc["hidden", ["baseline_false_alarms", "alarm_not_memorizing", "median_baseline_delay"]].tolist() == [
        1, 1, 1.0]
    assert "only 4 clean runs (< 30)" in ev.loc["hidden", "note"]
    # a run still being written (fewer epochs) is left out
    partial = _trajectories()
    partial = partial[~((partial["run"] == "c1") & (partial["epoch"] > 8))]
    ev2 = evaluate_rule(partial, ["mfr"], ["hidden"]).iloc[0]
    assert ev2["n_clean"] == 3 and ev2["false_alarms"] == 0 and "1 incomplete" in ev2["note"]
    by = evaluate_rule(_trajectories(), ["mfr"], ["hidden"], by=["seed"])
    assert list(by.columns[:3]) == ["seed", "indicator", "layer"] and by["n_clean"].tolist() == [1, 1, 1, 1]
    assert by["false_alarms"].tolist() == [0, 1, 0, 0]


# ------------------------------------------------------------------ bad input


def test_bad_input_errors():
    x = np.r_[np.full(6, 0.5), np.full(6, 0.3)]
    with pytest.raises(ValueError, match="1-D series"):
        detect_change(np.ones((3, 4)))
    with pytest.raises(TypeError, match="real numbers"):
        detect_change(["a", "b"])
    with pytest.raises(ValueError, match="Inf"):
        detect_change(np.r_[x, np.inf])
    with pytest.raises(ValueError, match="direction must be one of"):
        detect_change(x, direction="down")
    with pytest.raises(ValueError, match="reference must be <= 5"):
        detect_change(x, reference=6)
    with pytest.raises(ValueError, match="reference must be >= 2"):
        detect_change(x, reference=1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        detect_change(x, k=-1)
    with pytest.raises(ValueError, match="h must be > 0"):
        detect_change(x, h=0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        detect_change(x, scale=0.0)
    with pytest.raises(TypeError, match="warmup must be an integer"):
        detect_change(x, warmup="5")
    traj = _trajectories()
    with pytest.raises(TypeError, match="DataFrame"):
        alarm_table(traj.to_dict(), "mfr")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['val_gap'\]"):
        alarm_table(traj.drop(columns="val_gap"), "mfr")
    with pytest.raises(ValueError, match="layer 'dense' is not in the table"):
        alarm_table(traj, "mfr", "dense")
    with pytest.raises(ValueError, match="an epoch more than once"):
        alarm_table(pd.concat([traj, traj.iloc[:1]]), "mfr")
    with pytest.raises(ValueError, match="more than one row"):
        false_alarm_rate(alarm_table(traj, "mfr"))
    with pytest.raises(ValueError, match="no clean run"):
        false_alarm_rate(alarm_table(traj[traj["noise"] > 0], "mfr", "hidden"))
    assert set(RULE_DEFAULTS) == {"warmup", "reference", "k", "h", "min_rel_scale", "min_scale"}
