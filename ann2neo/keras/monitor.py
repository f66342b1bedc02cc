"""``FiringRateMonitor``: memorization indicators of a layer during training, with a change-detection alarm.

Importing this module imports Keras (TensorFlow); ``ann2neo.keras.FiringRateMonitor``
loads it on first use.
"""
from __future__ import annotations

import logging
import math
import warnings

import keras
import numpy as np

from ..analysis.changepoint import RULE_DEFAULTS, detect_change
from ..analysis.indicators import INDICATORS, memorization_indicators
from ..analysis.statistics import fano_factor
from ..core.validation import check_integer, check_option, check_real

__all__ = ["FiringRateMonitor", "DEFAULT_INDICATOR"]

#: The indicator watched when ``labels`` are given: chosen on the documented memorization study (seeds 0-7 clean,
#: 0-1 noisy) as the one with the most memorizing runs detected among those alarming on at most 5 % of clean runs,
#: and measured on fresh seeds (docs/memorization.md, "The monitor's rule").
DEFAULT_INDICATOR = "fraction_selective"

log = logging.getLogger(__name__)

#: Rule defaults when the monitor checks every n batches (a batch-level series: longer warm-up).
_BATCH_DEFAULTS = {"warmup": 50, "reference": 20}


def _deprecated(name, value, replacement):
    if value is not None:
        warnings.warn(f"FiringRateMonitor({name}=...) is deprecated and ignored: the alarm rule is now a two-sided "
                      f"CUSUM (ann2neo.analysis.changepoint.detect_change) whose decision does not depend on the "
                      f"speed of the change; {replacement}", FutureWarning, stacklevel=3)


class FiringRateMonitor(keras.callbacks.Callback):
    """Follow a layer's memorization indicators on fixed probes during training; alarm on a sustained change.

    At every check (by default once per epoch, and once before training) the
    observed layer is run in inference mode on each probe; its activations
    > ``threshold`` are spikes, one probe sample per time step.  For every
    probe the monitor records MFR (spikes/sample) and MF (Fano factor in
    ``n_windows`` windows of the probe, NaN-mean over units).  With
    ``labels`` (the labels the first probe's samples are *trained on*, noisy
    ones included) the first probe is the training probe: it is sorted by
    label (stable sort) and all :data:`~ann2neo.analysis.indicators.INDICATORS`
    are computed on it through
    :func:`~ann2neo.analysis.indicators.memorization_indicators`, exactly as
    the memorization study computes them.  The chosen ``indicator``'s series
    on the training probe, one value per check, goes through
    :func:`~ann2neo.analysis.changepoint.detect_change` (a two-sided CUSUM of
    its deviation from the warm-up level) at every check; the first alarm
    warns or stops training.

    Parameters
    ----------
    probes : array_like or dict of str to array_like
        Probe inputs, e.g. ``{"train": x_train[:100], "test": x_test[:100]}``
        (paper: 100 samples).  A single array is named ``"probe"``.  The first
        probe is the one the rule watches.
    layer : str, optional
        Observed layer; default the last hidden layer.
    every : "epoch" or int, default "epoch"
        Check at the end of every epoch (and before training, so the series
        is indexed like the study's epochs 0, 1, ..., E), or every ``every``
        batches.
    n_windows : int, default 10
        Fano windows per probe for ``mf`` (window = probe length // n_windows
        samples).
    threshold : float, default 0.0
    alarm : {None, "warn", "stop"}, default "warn"
        What to do at the rule's first alarm: warn (``RuntimeWarning`` and a
        log line), or also stop training (``model.stop_training = True``).
        ``None`` records without deciding.
    drop : deprecated
        The old ratio rule's threshold (a fall below ``(1 - drop)`` x the
        recent median); ignored with a ``FutureWarning``: ``h`` and ``k`` set
        the new rule's sensitivity.
    reference : int, optional
        Checks at the end of the warm-up whose median and first-difference
        spread give the level and scale (``detect_change``'s ``reference``);
        default 4 with ``every="epoch"``, 20 with batches.
    patience : deprecated
        The old rule's number of consecutive checks below the threshold;
        ignored with a ``FutureWarning`` (the CUSUM's ``h`` replaces it).
    warmup : int, optional
        Checks never alarmed on at the start; default 5 with ``every="epoch"``
        (the untrained network and epochs 1-4), 50 with batches.
    csv : str or Path, optional
        File for the per-check table (written atomically at the end of training).
    labels : array_like (n_probe_samples,), optional
        Labels of the first probe as trained on.  Needed for every indicator
        but ``"mfr"``.
    indicator : str, optional
        The indicator the rule watches, one of ``INDICATORS``.  Default
        :data:`DEFAULT_INDICATOR` (``"fraction_selective"``, the memorization
        study's choice) when ``labels`` are given, else ``"mfr"`` (the only
        indicator that needs no labels).
    direction : {"both", "fall", "rise"}, default "both"
    k, h, min_rel_scale, min_scale : float
        The rule's drift, threshold and scale floors (defaults
        :data:`~ann2neo.analysis.changepoint.RULE_DEFAULTS`); see
        :func:`~ann2neo.analysis.changepoint.detect_change`.

    Attributes
    ----------
    records : list of dict
        One per check and probe: ``check`` (index of the check: the rule's
        checkpoint), ``step`` (batches seen), ``epoch`` (with
        ``every="epoch"``: epochs completed, 0 before training; with batches:
        the 0-based epoch of the batch), ``batch`` (-1 for an epoch check),
        ``probe``, ``mfr``, ``mf``; on the training probe's rows with
        ``labels`` also every indicator, and ``cusum_rise``/``cusum_fall``
        (the rule's CUSUM paths at this check; NaN during the warm-up).
    alarms : list of int
        Step (batches seen) of the alarm (at most one: the rule's first alarm).
    alarm_check : int
        Check index of the alarm, -1 without alarm.
    result : ChangeResult or None
        The rule's decision on the series so far.
    rule : dict
        The parameters passed to ``detect_change``.

    Raises
    ------
    ValueError
        For an empty probe dict, a probe of fewer than 2 samples (4 with
        ``labels``), ``labels`` of another length or with one label, an
        ``indicator`` that needs ``labels`` without them, or a bad rule
        parameter.

    Notes
    -----
    The alarm equals ``detect_change(series, **monitor.rule)`` on the
    recorded series of the watched indicator (the rule is causal), so
    evaluating the rule on the memorization study's ``trajectories.csv``
    (:func:`~ann2neo.analysis.changepoint.evaluate_rule`) is evaluating this
    monitor with ``every="epoch"``.

    What the rule assumes: the warm-up's level is the level of "no change",
    and a generalizing network's indicator stays within ``k`` scales of it
    (scale floored at 5 % of the level); a slow drift of a clean run beyond
    that is a false alarm; so is the end of an initial transient that
    outlasts the warm-up (slow learning: set ``warmup`` past it).  In one
    pilot run, a 32-unit MLP trained on digits by SGD (learning rate 0.1, 19
    batches per epoch) raised its MFR from 0.57 after epoch 4 to 0.63 after
    epoch 11, and the rule alarmed ("rise") at epoch 8.  The per-run false-alarm and detection rates are
    measured on the study's runs with
    ``python benchmarks/eval_monitor_rule.py trajectories.csv`` (README,
    section "Firing-rate monitor"); they are empirical numbers for those
    architectures and datasets, not a guaranteed level.  The default
    indicator with ``labels``, :data:`DEFAULT_INDICATOR`, was chosen on the
    documented study grid (``docs/memorization-grid.toml``) by a rule stated
    beforehand (at most 5 % of clean runs alarmed, most memorizing runs
    detected: 1/32 and 20/29) and measured on fresh seeds
    (``docs/memorization-confirm.toml``; MLP width 512 and CNN width 32,
    digits and MNIST-5k of 800 training samples, 20 epochs; layer
    ``hidden``): false alarms on 4 of 32 clean runs (12 %, 95 % CI 4-29 %),
    16 of 30 memorizing runs detected (53 %, 34-72 %), a median 5 epochs
    after the memorizing criterion; ``"mfr"`` 5/32 and 6/30;
    ``"noise_corr_sd"`` 0/32 and 12/30.  The validation baseline (train -
    validation accuracy > 0.2) had 0/32 false alarms and detected 30/30, a
    median 3 epochs before the criterion: where a noisy validation split
    can be held out, it is the better alarm.

    The paper's observation behind the MFR (arXiv:2308.00858, section 3.3.3,
    Figure 5): when the labels switch from true to shuffled, the MFR of the
    observed layer drops, while a generalizing network's MFR is stable after
    its first epochs.

    Examples
    --------
    >>> monitor = FiringRateMonitor({"train": x_train[:100], "test": x_test[:100]},  # doctest: +SKIP
    ...                             labels=y_train[:100], indicator="mfr", alarm="warn")
    >>> model.fit(x_train, y_train, epochs=30, callbacks=[monitor])                   # doctest: +SKIP
    >>> monitor.alarm_check, monitor.result.direction                                 # doctest: +SKIP
    """

    def __init__(self, probes, layer=None, every="epoch", n_windows=10, threshold=0.0, alarm="warn", drop=None,
                 reference=None, patience=None, warmup=None, csv=None, *, labels=None, indicator=None,
                 direction="both", k=RULE_DEFAULTS["k"], h=RULE_DEFAULTS["h"],
                 min_rel_scale=RULE_DEFAULTS["min_rel_scale"], min_scale=RULE_DEFAULTS["min_scale"]):
        super().__init__()
        if not isinstance(probes, dict):
            probes = {"probe": probes}
        if not probes:
            raise ValueError("probes must hold at least one probe array")
        self.probes = {str(kk): np.asarray(v) for kk, v in probes.items()}
        for name, x in self.probes.items():
            if len(x) < 2:
                raise ValueError(f"probe {name!r} needs at least 2 samples, got {len(x)}")
        self.layer = layer
        self.every = "epoch" if every == "epoch" else check_integer(every, "every", min_value=1)
        self.n_windows = check_integer(n_windows, "n_windows", min_value=1)
        self.threshold = check_real(threshold, "threshold")
        self.alarm = check_option(alarm, "alarm", (None, "warn", "stop"))
        _deprecated("drop", drop, "set the sensitivity with h (threshold) and k (drift), in scales")
        _deprecated("patience", patience, f"the CUSUM's threshold h replaces it (h={RULE_DEFAULTS['h']:g} by default)")
        if indicator is None:  # the memorization study's choice where the labels allow it (docs/memorization.md)
            indicator = DEFAULT_INDICATOR if labels is not None else "mfr"
        self.indicator = check_option(indicator, "indicator", INDICATORS)
        self.train_probe = next(iter(self.probes))
        self.labels = None
        if labels is not None:
            self._sort_training_probe(labels)
        elif indicator != "mfr":
            raise ValueError(f"indicator {indicator!r} needs labels=... (the labels the first probe's samples are "
                             f"trained on); without labels only 'mfr' can be watched")
        defaults = RULE_DEFAULTS if self.every == "epoch" else {**RULE_DEFAULTS, **_BATCH_DEFAULTS}
        self.rule = {"direction": direction,
                     "warmup": defaults["warmup"] if warmup is None else warmup,
                     "reference": defaults["reference"] if reference is None else reference,
                     "k": k, "h": h, "min_rel_scale": min_rel_scale, "min_scale": min_scale}
        detect_change([0.0], **self.rule)  # checks every rule parameter now, not at the first check
        self.csv = csv
        self.records, self.alarms, self.series = [], [], []
        self.alarm_check, self.result = -1, None
        self._step = 0
        self._epoch = 0
        self._epochs_done = 0

    def _sort_training_probe(self, labels):
        x = self.probes[self.train_probe]
        labels = np.asarray(labels)
        if labels.shape != (len(x),):
            raise ValueError(f"labels must have one entry per sample of the first probe {self.train_probe!r} "
                             f"({len(x)}); got shape {labels.shape}")
        if len(x) < 4 or np.unique(labels).size < 2:
            raise ValueError("the training probe needs at least 4 samples of at least two labels for the "
                             "indicators (selectivity and noise correlations compare labels)")
        order = np.argsort(labels, kind="stable")
        self.probes[self.train_probe] = x[order]
        self.labels = labels[order]

    def on_train_begin(self, logs=None):
        """Build the sub-model that outputs the observed layer; with ``every="epoch"``, check the untrained state."""
        from .recording import default_layer

        name = self.layer or default_layer(self.model)
        inputs = self.model.inputs[0] if len(self.model.inputs) == 1 else self.model.inputs
        self._sub = keras.Model(inputs, self.model.get_layer(name).output)
        self.layer = name
        if self.every == "epoch" and not self.series:  # a second fit continues the series
            self._check(batch=-1, epoch=0)

    def on_epoch_begin(self, epoch, logs=None):
        """Remember the epoch for the records."""
        self._epoch = epoch

    def _measure(self, name, x):
        act = np.asarray(self._sub(x, training=False)).reshape(len(x), -1)
        spikes = act > self.threshold
        window = max(1, len(x) // self.n_windows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ff = fano_factor(spikes, window)
        row = {"mf": float(np.nanmean(ff)) if np.isfinite(ff).any() else math.nan}
        if name == self.train_probe and self.labels is not None:
            ind = memorization_indicators(spikes, self.labels)
            row.update({key: ind[key] for key in INDICATORS})
        else:
            row["mfr"] = float(spikes.mean())  # the same formula as memorization_indicators' mfr
        return row

    def _check(self, batch, epoch):
        check = len(self.series)
        value = None
        for name, x in self.probes.items():
            row = {"check": check, "step": self._step, "epoch": epoch, "batch": batch, "probe": name,
                   **self._measure(name, x)}
            self.records.append(row)
            if name == self.train_probe:
                value, train_row = row[self.indicator], row
        self._decide(value)
        if self.labels is not None:
            train_row["cusum_rise"] = float(self.result.upper[-1])
            train_row["cusum_fall"] = float(self.result.lower[-1])

    def _decide(self, value):
        """Append one value of the watched indicator and run the rule on the series so far."""
        self.series.append(float(value))
        self.result = detect_change(np.asarray(self.series), **self.rule)
        if self.alarm is None or self.alarm_check >= 0 or not self.result.alarm:
            return
        r = self.result
        self.alarm_check = r.index
        self.alarms.append(self._step)
        verb = "fell" if r.direction == "fall" else "rose"
        message = (f"FiringRateMonitor: {self.indicator} of {self.layer!r} on probe {self.train_probe!r} {verb} to "
                   f"{value:.4g} from its warm-up level {r.level:.4g} (scale {r.scale:.3g}): its CUSUM exceeded "
                   f"h={r.params['h']} at check {r.index} (step {self._step}). A sustained change of the layer's "
                   f"activity, as at a switch from generalization to memorization (arXiv:2308.00858 Fig. 5); "
                   f"see the measured false-alarm and detection rates in the README")
        log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        if self.alarm == "stop":
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        """With an integer ``every``, check every ``every`` batches."""
        self._step += 1
        if self.every != "epoch" and self._step % self.every == 0:
            self._check(batch, self._epoch)

    def on_epoch_end(self, epoch, logs=None):
        """With ``every="epoch"``, check; put the latest values into the epoch's logs (History).

        The logs get ``mfr_<probe>`` and ``mf_<probe>`` for every probe and,
        with ``labels``, ``<indicator>_<training probe>`` for every indicator.
        """
        self._epochs_done += 1
        if self.every == "epoch":
            self._check(batch=-1, epoch=self._epochs_done)
        if logs is None:
            return
        latest = {}
        for r in self.records:
            latest[r["probe"]] = r
        for name, r in latest.items():
            logs[f"mfr_{name}"] = r["mfr"]
            logs[f"mf_{name}"] = r["mf"]
            if name == self.train_probe and self.labels is not None:
                for key in INDICATORS:
                    logs[f"{key}_{name}"] = r[key]

    def on_train_end(self, logs=None):
        """Write the CSV, if one was asked for."""
        if self.csv is not None:
            import pandas as pd

            from ..io._atomic import write_text

            write_text(self.csv, pd.DataFrame(self.records).to_csv(index=False))
