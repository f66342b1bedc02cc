"""The sample-index time unit and the unit checks that guard it.

One input sample fed to a network is one time step.  :data:`sample` is the
``quantities`` time unit in which the spike caused by sample ``k`` (0-based
position in the dataset as fed to the model) lies at time ``k``; a recording
of ``n`` samples spans ``[0, n)`` with ``t_start = 0`` and ``t_stop = n``.

``quantities`` needs every time unit to be defined relative to the second, so
``sample`` is declared as ``1 s``.  That makes a sample *silently* equal to a
second whenever it is mixed with ``ms`` or ``Hz`` — and neo 0.14 does not
validate spike-time units either.  ann2neo therefore checks units itself:
wherever a duration in samples is meant, it accepts a plain number (taken as
samples) or a quantity in :data:`sample`, and refuses seconds-based units with
:class:`UnitError`.
"""
from __future__ import annotations

import numbers

import numpy as np
import quantities as pq

__all__ = ["sample", "UnitError", "as_samples", "is_sample_unit", "check_sample_units", "is_physical_time", "as_time",
           "parse_duration", "parse_time"]


def _define_sample_unit():
    # Importing ann2neo registers "sample" in quantities' unit registry, so that
    # files written with it (NIX stores unit strings) can be read back.  A
    # re-import (importlib.reload) must not define a second, different unit.
    from quantities.registry import unit_registry

    try:
        existing = unit_registry["sample"]
    except LookupError:
        return pq.UnitTime("sample", pq.s, symbol="sample")
    if not isinstance(existing, pq.UnitTime):
        raise ImportError(f"quantities already defines 'sample' as {existing!r}, not a time unit")
    return existing


#: Time unit of one input sample (one time step of an ANN spike train).
sample = _define_sample_unit()


class UnitError(ValueError):
    """A quantity is in a physical time unit (s, ms, Hz) where samples are meant."""


def is_sample_unit(quantity, power: int = 1) -> bool:
    """Return True if ``quantity`` is in ``sample**power`` (durations: 1; rates: -1).

    Parameters
    ----------
    quantity : pq.Quantity
    power : int, default 1
        Exponent of :data:`sample` expected: 1 for times and durations
        (``10 * sample``), -1 for rates (``0.4 / sample``).

    Returns
    -------
    bool
        False for ``1/sample`` where a duration is meant, ``sample**2``, or any
        physical unit.

    Examples
    --------
    >>> is_sample_unit(10 * sample), is_sample_unit(10 / sample)
    (True, False)
    """
    dims = dict(quantity.dimensionality)
    if len(dims) != 1:
        return False
    unit, exponent = next(iter(dims.items()))
    return unit.name == "sample" and exponent == power


def as_samples(value, name: str = "value") -> float:
    """Convert a duration to a plain number of samples, refusing physical units.

    Parameters
    ----------
    value : int, float or pq.Quantity
        A number (taken as samples) or a scalar quantity in :data:`sample`.
    name : str
        Name of the argument, used in error messages.

    Returns
    -------
    float
        The duration in samples.

    Raises
    ------
    UnitError
        If ``value`` carries any unit other than :data:`sample` (e.g. ``ms``,
        because a sample has no duration in physical time, or ``1/sample`` and
        ``sample**2``, which are not durations).
    TypeError
        If ``value`` is neither a number nor a quantity (a string, a bool).
    ValueError
        If ``value`` is not a finite scalar.

    Examples
    --------
    >>> as_samples(100), as_samples(100 * sample)
    (100.0, 100.0)
    """
    if isinstance(value, pq.Quantity):
        if value.ndim != 0 and value.size != 1:
            raise ValueError(f"{name} must be a scalar, got shape {value.shape}")
        if not is_sample_unit(value):
            if any(unit.name == "sample" for unit in value.dimensionality):
                raise UnitError(f"{name} must be a duration in samples, got {value} "
                                f"({value.dimensionality.string} is not a number of samples)")
            raise UnitError(
                f"{name} must be given in samples (ann2neo.sample) or as a plain number "
                f"of samples, got {value}. ANN spike trains have no physical time: one "
                f"input sample is one time step, and quantities would silently treat a "
                f"sample as one second."
            )
        value = float(value.magnitude.item())
    elif isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_, complex)) \
            and not isinstance(value, np.complexfloating):
        value = float(value)
    else:
        raise TypeError(f"{name} must be a number of samples, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_sample_units(spiketrain, what: str = "spike train") -> None:
    """Raise :class:`UnitError` unless a spike train's times are in samples.

    Parameters
    ----------
    spiketrain : neo.SpikeTrain
    what : str
        Description used in the error message.

    Raises
    ------
    UnitError
        If the times, ``t_start`` or ``t_stop`` are not in :data:`sample`.
    """
    for label, q in (("times", spiketrain), ("t_start", spiketrain.t_start), ("t_stop", spiketrain.t_stop)):
        if not is_sample_unit(q):
            raise UnitError(
                f"{what} {label} are in {q.dimensionality.string}, not in samples; ann2neo "
                f"works on sample-index time (ann2neo.sample). Build the train with "
                f"units=ann2neo.sample, or convert recorded times to sample indices first."
            )


_DURATION_UNITS = {"ms": pq.ms, "s": pq.s, "us": pq.us, "min": pq.min, "sample": sample, "samples": sample}


def is_physical_time(quantity) -> bool:
    """Return True if ``quantity`` is a physical time (s, ms, ...), False for samples or anything else.

    Parameters
    ----------
    quantity : pq.Quantity

    Returns
    -------
    bool

    Examples
    --------
    >>> is_physical_time(5 * pq.ms), is_physical_time(5 * sample)
    (True, False)
    """
    if not isinstance(quantity, pq.Quantity) or any(u.name == "sample" for u in quantity.dimensionality):
        return False
    return quantity.dimensionality.simplified == pq.s.dimensionality


def as_time(value, name: str = "value", *, unit=None):
    """Check a scalar time quantity in physical time (s, ms, ...), refusing samples.

    The one check for every physical time an ann2neo function takes (``t_start``,
    ``bin_width``, a window of recorded spike trains): :data:`sample` is defined
    as one second inside ``quantities``, so it must be refused here or it would
    silently become one.

    Parameters
    ----------
    value : pq.Quantity or None
        A scalar time.  ``None`` is returned as is.
    name : str
        Argument name for error messages.
    unit : pq unit, optional
        Rescale the result to this unit.

    Returns
    -------
    pq.Quantity or None
        The scalar quantity (rescaled when ``unit`` is given).

    Raises
    ------
    TypeError
        If ``value`` is not a quantity (a plain number has no unit).
    UnitError
        If it is in samples, or not a time.
    ValueError
        If it is not a finite scalar.

    Examples
    --------
    >>> as_time(50 * pq.ms, "bin_width", unit=pq.s)
    array(0.05) * s
    """
    if value is None:
        return None
    if not isinstance(value, pq.Quantity):
        raise TypeError(f"{name} must be a time with a unit (e.g. 0.5 * pq.s, or '500ms' on the command line), "
                        f"got {value!r}")
    if value.size != 1:
        raise ValueError(f"{name} must be a scalar time, got shape {value.shape}")
    if not is_physical_time(value):
        raise UnitError(f"{name} must be a physical time (s, ms, ...), got {value}"
                        + (": a sample has no duration in physical time" if any(
                            u.name == "sample" for u in value.dimensionality) else ""))
    value = value.reshape(())
    if not np.isfinite(float(value.magnitude)):
        raise ValueError(f"{name} must be finite, got {value}")
    return value.rescale(unit) if unit is not None else value


def parse_duration(text):
    """Parse ``"100"`` (samples), ``"100 samples"``, ``"50ms"``, ``"0.1 s"`` into a number or a quantity.

    Parameters
    ----------
    text : str

    Returns
    -------
    int or pq.Quantity
        A plain int for samples, a time quantity otherwise.

    Raises
    ------
    ValueError
        For text that is not a positive number with an optional unit among ms, s, us, min, samples.

    Examples
    --------
    >>> parse_duration("100"), parse_duration("50ms")
    (100, array(50.) * ms)
    """
    import re

    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([a-z]*)\s*", str(text))
    if not match or match.group(2) not in ("", *_DURATION_UNITS):
        raise ValueError(f"cannot read {text!r} as a duration: give samples (100) or a time (50ms, 0.1s)")
    try:
        value = float(match.group(1))
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a duration: give samples (100) or a time (50ms, 0.1s)") from None
    unit = match.group(2)
    if unit in ("", "sample", "samples"):
        if not value.is_integer() or value < 1:
            raise ValueError(f"a window in samples must be a positive whole number, got {text!r}")
        return int(value)
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"a duration must be positive and finite, got {text!r}")
    return value * _DURATION_UNITS[unit]


def parse_time(text):
    """Parse a point in physical time such as ``"-1s"``, ``"0 s"`` or ``"177.761s"`` (a unit is required).

    Unlike :func:`parse_duration` it accepts zero and negative values (a
    ``t_start`` one second before a cue).

    Parameters
    ----------
    text : str

    Returns
    -------
    pq.Quantity

    Raises
    ------
    ValueError
        For text that is not a finite number followed by ms, s, us or min.

    Examples
    --------
    >>> parse_time("-1s"), parse_time("1500 ms")
    (array(-1.) * s, array(1500.) * ms)
    """
    import re

    match = re.fullmatch(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|us|min)\s*", str(text))
    if not match:
        raise ValueError(f"cannot read {text!r} as a time: give a number with a unit, e.g. 0s, -1s or 1500ms")
    value = float(match.group(1))
    if not np.isfinite(value):
        raise ValueError(f"a time must be finite, got {text!r}")
    return value * _DURATION_UNITS[match.group(2)]
