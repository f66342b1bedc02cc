"""FiringRateMonitor: a real Keras callback whose numbers match a direct recording and memorization_indicators,
whose alarm is detect_change on its own recorded series, and which alarms at a switch to shuffled labels."""
import warnings

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")


def _model(n_in=6, width=12, lr=0.1, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(width, activation="relu", name="hidden"),
                              keras.layers.Dense(3 if n_in == 6 else 10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow  # trains networks
def test_monitor_records_mfr_and_mf_of_the_probe_every_n_batches(tmp_path):
    from ann2neo import fano_factor
    from ann2neo.keras import FiringRateMonitor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)).astype("float32"), rng.integers(0, 3, 200)
    probe = x[:50]
    monitor = FiringRateMonitor({"train": probe, "test": x[50:100]}, every=2, n_windows=5, alarm=None,
                                csv=tmp_path / "mfr.csv")
    assert isinstance(monitor, keras.callbacks.Callback)
    model = _model()
    history = model.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[monitor])
    records = pd.DataFrame(monitor.records)
    assert list(records["step"].unique()) == list(range(2, 21, 2))  # 10 batches per epoch, every 2nd
    assert list(records["check"].unique()) == list(range(10)) and len(monitor.series) == 10
    # the last record equals a direct recording of the trained model
    spikes = keras.Model(model.inputs[0], model.get_layer("hidden").output)(probe).numpy() > 0
    last = records[records["probe"] == "train"].iloc[-1]
    assert last["mfr"] == pytest.approx(spikes.mean(), abs=1e-12)
    assert last["mf"] == pytest.approx(np.nanmean(fano_factor(spikes, 10)), rel=1e-12)
    assert history.history["mfr_train"][-1] == pytest.approx(last["mfr"])
    assert len(history.history["mf_test"]) == 2
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mfr.csv"), records, check_dtype=False)
    assert monitor.rule["warmup"] == 50 and monitor.rule["reference"] == 20  # batch-level defaults


@pytest.mark.slow  # trains a network
def test_epoch_checks_compute_the_indicators_through_memorization_indicators():
    from ann2neo.analysis.indicators import INDICATORS, memorization_indicators
    from ann2neo.keras import FiringRateMonitor

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(120, 6)).astype("float32"), rng.integers(0, 3, 120)
    probe, labels = x[:40], y[:40]
    monitor = FiringRateMonitor({"train": probe, "test": x[40:80]}, labels=labels, indicator="pr_fraction",
                                alarm=None)
    model = _model()
    history = model.fit(x, y, epochs=3, batch_size=30, verbose=0, callbacks=[monitor])
    records = pd.DataFrame(monitor.records)
    train = records[records["probe"] == "train"]
    assert train["epoch"].tolist() == [0, 1, 2, 3] and train["check"].tolist() == [0, 1, 2, 3]  # 0: untrained
    assert train["step"].tolist() == [0, 4, 8, 12] and (train["batch"] == -1).all()
    # the training probe is sorted by label (stable) and its indicators are memorization_indicators' numbers
    order = np.argsort(labels, kind="stable")
    spikes = keras.Model(model.inputs[0], model.get_layer("hidden").output)(probe[order]).numpy() > 0
    direct = memorization_indicators(spikes, labels[order])
    for key in INDICATORS:
        np.testing.assert_allclose(train.iloc[-1][key], direct[key], rtol=1e-12, equal_nan=True)
        assert history.history[f"{key}_train"][-1] == pytest.approx(train.iloc[-1][key], nan_ok=True)
    assert monitor.series == pytest.approx(train["pr_fraction"].tolist())
    test = records[records["probe"] == "test"]
    assert test["dispersion"].isna().all()  # the indicators are computed on the training probe only
    assert train["cusum_fall"].isna().all()  # 4 checks: still in the warm-up of 5


def test_online_alarm_equals_detect_change_on_the_recorded_series():
    from ann2neo.analysis.changepoint import detect_change
    from ann2neo.keras import FiringRateMonitor

    noise = np.random.default_rng(1).normal(0, 0.004, 40)
    series = np.r_[np.full(12, 0.5), np.linspace(0.5, 0.4, 21)[1:], np.full(8, 0.4)] + noise
    model = _model()
    for kwargs in ({}, {"k": 1.0, "h": 4.0, "direction": "fall"}, {"warmup": 8, "reference": 6}):
        monitor = FiringRateMonitor(np.zeros((10, 6)), alarm="stop", **kwargs)
        monitor.set_model(model)
        model.stop_training = False
        with pytest.warns(RuntimeWarning, match="mfr of .* fell to .* from its warm-up level"):
            for i, value in enumerate(series):
                monitor._step = 10 * (i + 1)
                monitor._decide(value)
        offline = detect_change(series, **monitor.rule)
        assert offline.alarm and monitor.alarm_check == offline.index
        assert monitor.alarms == [10 * (offline.index + 1)] and model.stop_training  # one alarm, at its step
        assert monitor.result.index == offline.index
    stable = FiringRateMonitor(np.zeros((10, 6)))
    stable.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for value in 0.5 + noise:
            stable._decide(value)
    assert stable.alarms == [] and stable.alarm_check == -1


def test_deprecated_parameters_and_bad_input():
    from ann2neo.keras import FiringRateMonitor

    with pytest.warns(FutureWarning, match=r"drop=\.\.\.\) is deprecated.*h \(threshold\) and k \(drift\)"):
        FiringRateMonitor(np.zeros((10, 6)), drop=0.25)
    with pytest.warns(FutureWarning, match=r"patience=\.\.\.\) is deprecated.*threshold h replaces it"):
        FiringRateMonitor(np.zeros((10, 6)), patience=3)
    mapped = FiringRateMonitor(np.zeros((10, 6)), warmup=30, reference=20)
    assert (mapped.rule["warmup"], mapped.rule["reference"]) == (30, 20)
    with pytest.raises(ValueError, match="alarm must be one of"):
        FiringRateMonitor(np.zeros((10, 6)), alarm="loud")
    with pytest.raises(ValueError, match="needs at least 2 samples"):
        FiringRateMonitor(np.zeros((1, 6)))
    with pytest.raises(ValueError, match="indicator 'dispersion' needs labels"):
        FiringRateMonitor(np.zeros((10, 6)), indicator="dispersion")
    with pytest.raises(ValueError, match="indicator must be one of"):
        FiringRateMonitor(np.zeros((10, 6)), indicator="loss")
    with pytest.raises(ValueError, match="one entry per sample of the first probe 'probe' \\(10\\)"):
        FiringRateMonitor(np.zeros((10, 6)), labels=[0, 1])
    with pytest.raises(ValueError, match="at least two labels"):
        FiringRateMonitor(np.zeros((10, 6)), labels=np.zeros(10))
    with pytest.raises(ValueError, match="reference must be <= 3"):
        FiringRateMonitor(np.zeros((10, 6)), warmup=3)
    with pytest.raises(TypeError, match="every must be an integer"):
        FiringRateMonitor(np.zeros((10, 6)), every="batch")


@pytest.mark.slow  # trains a small network on digits for 7 epochs, then two copies for 3 more (seconds)
def test_monitor_alarms_at_a_switch_to_shuffled_labels_and_not_on_clean_labels():
    import copy

    from ann2neo.analysis.changepoint import detect_change
    from ann2neo.experiments.data import load_dataset
    from ann2neo.keras import FiringRateMonitor

    x, y, _, _ = load_dataset("digits", seed=0)
    x = x.reshape(len(x), -1).astype("float32")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), 100, replace=False)
    model = _model(x.shape[1], width=16, lr=0.2)
    monitor = FiringRateMonitor({"train": x[idx]}, labels=y[idx], indicator="mfr", alarm="stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x, y, epochs=7, batch_size=64, verbose=0, callbacks=[monitor])
        assert monitor.alarm_check == -1 and len(monitor.series) == 8  # epochs 0..7 on clean labels: no alarm
        runs = {}
        for name, labels in (("switch", rng.permutation(y)), ("clean", y)):
            fork = keras.models.clone_model(model)  # the same network and monitor state, continued two ways
            fork.set_weights(model.get_weights())
            fork.compile(optimizer=keras.optimizers.SGD(0.2), loss="sparse_categorical_crossentropy")
            runs[name] = copy.copy(monitor)
            runs[name].series, runs[name].records = list(monitor.series), list(monitor.records)
            runs[name].alarms = []
            fork.fit(x, labels, epochs=3, batch_size=64, verbose=0, callbacks=[runs[name]])
    switch, clean = runs["switch"], runs["clean"]
    assert clean.alarm_check == -1 and len(clean.series) == 11  # epochs 0..10, all on clean labels
    assert switch.alarm_check in (8, 9, 10) and switch.result.direction == "fall"  # after the switch at epoch 7
    records = pd.DataFrame(switch.records)
    assert records["epoch"].tolist() == list(range(switch.alarm_check + 1))  # "stop" ended training at the alarm
    offline = detect_change(records["mfr"].to_numpy(), **switch.rule)
    assert offline.index == switch.alarm_check  # the online alarm is the offline rule on the recorded series
    assert records["mfr"].iloc[switch.alarm_check] < 0.8 * offline.level


def test_default_indicator_is_the_studys_choice_with_labels_and_mfr_without():
    from ann2neo.keras import FiringRateMonitor
    from ann2neo.keras.monitor import DEFAULT_INDICATOR

    x = np.random.default_rng(0).normal(size=(20, 6)).astype("float32")
    assert FiringRateMonitor(x, labels=np.repeat([0, 1], 10)).indicator == DEFAULT_INDICATOR == "fraction_selective"
    assert FiringRateMonitor(x).indicator == "mfr"
