"""FiringRateMonitor: a real Keras callback whose numbers match a direct recording, and its alarm rule."""
import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(12, activation="relu", name="hidden"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow  # trains networks
def test_monitor_records_mfr_and_mf_of_the_probe(tmp_path):
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
    # the last record equals a direct recording of the trained model
    spikes = keras.Model(model.inputs[0], model.get_layer("hidden").output)(probe).numpy() > 0
    last = records[records["probe"] == "train"].iloc[-1]
    assert last["mfr"] == pytest.approx(spikes.mean(), abs=1e-12)
    assert last["mf"] == pytest.approx(np.nanmean(fano_factor(spikes, 10)), rel=1e-12)
    assert history.history["mfr_train"][-1] == pytest.approx(last["mfr"])
    assert len(history.history["mf_test"]) == 2
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mfr.csv"), records, check_dtype=False)


def test_alarm_rule_fires_on_a_drop_and_not_on_a_stable_rate():
    from ann2neo.keras import FiringRateMonitor

    monitor = FiringRateMonitor(np.zeros((10, 6)), warmup=30, reference=20, drop=0.25, patience=3, alarm="stop")
    model = _model()
    monitor.set_model(model)
    noise = np.random.default_rng(1).normal(0, 0.01, 200)
    with pytest.warns(RuntimeWarning, match="fell to 0.4.*3 consecutive checks"):
        for i in range(100):
            monitor._step = i + 1
            monitor._rule(0.7 + noise[i] if i < 60 else 0.4)
    assert monitor.alarms == [63] and model.stop_training  # 3rd check below 0.75 x 0.7
    stable = FiringRateMonitor(np.zeros((10, 6)), warmup=30)
    stable.set_model(model)
    for i in range(200):
        stable._rule(0.7 + noise[i])
    assert stable.alarms == []
    with pytest.raises(ValueError, match="alarm must be one of"):
        FiringRateMonitor(np.zeros((10, 6)), alarm="loud")
    with pytest.raises(ValueError, match="needs at least 2 samples"):
        FiringRateMonitor(np.zeros((1, 6)))
