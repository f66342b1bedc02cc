"""Record thresholded module outputs of a PyTorch model, batch by batch, through forward hooks.

``ann2neo.record(module, x)`` with a ``torch.nn.Module`` comes here.  A
forward hook on each recorded module thresholds its output on the module's
device as soon as it is computed (and, on an accelerator or when streaming to
a store, bit-packs it there), so the float activations of the dataset are
never held and only spikes cross to the host.  PyTorch is imported here only,
on first use.
"""
from __future__ import annotations

import itertools
import logging
import sys

import numpy as np

from ..core.binarize import (
    DEFAULT_THRESHOLD_PROBE,
    SpikeMatrix,
    check_threshold_rule,
    threshold_for_dtype,
    unit_thresholds,
)
from ..core.order import check_order

__all__ = ["record", "is_torch_module"]

log = logging.getLogger(__name__)

# Module types that only move, drop or pool values: never the default observed layer.
_MOVERS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
                     "Flatten", "Unflatten", "Identity"})
_PROBE_SAMPLES = 3  # samples of the first batch run once with a hook on every module, to find what is called


def is_torch_module(obj) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module`` that is not a Keras model.

    Imports neither framework: an object can only be a module of one that is
    already imported.  (On Keras' torch backend every ``keras.Model`` is also
    a ``torch.nn.Module``; it is recorded as a Keras model.)

    Parameters
    ----------
    obj : object

    Returns
    -------
    bool

    Examples
    --------
    >>> is_torch_module([1, 2])
    False
    """
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None)
    if nn is None or not isinstance(obj, nn.Module):
        return False
    keras_model = getattr(sys.modules.get("keras"), "Model", None)
    return keras_model is None or not isinstance(obj, keras_model)


def _np_dtype_name(dtype) -> str:
    """The numpy name of a torch dtype (``torch.float32`` -> ``"float32"``); bool compares as int8."""
    name = str(dtype).removeprefix("torch.")
    return "int8" if name == "bool" else name


# ----------------------------------------------------------------- thresholds
class _All:
    """Marker threshold: below an integer dtype's range, every value spikes."""


def _device_threshold(threshold, dtype, n_nodes, device):
    """The threshold to compare a flattened module output of ``dtype`` with, as ``output > t``.

    ``threshold`` is a float (one for every unit) or an array of ``n_nodes``
    floats (one per unit, the C-order flattening of the per-sample output;
    ``+inf`` for a unit that never spikes).
    Returns a Python number, a tensor of ``n_nodes`` values of ``dtype`` on
    ``device`` (broadcast over the batch), or ``_All``.  Each value is
    :func:`ann2neo.core.binarize.threshold_for_dtype` of the threshold, so the
    comparison in ``dtype`` equals the exact real comparison.
    """
    import torch

    name = _np_dtype_name(dtype)
    if np.ndim(threshold) == 0:
        t = threshold_for_dtype(threshold, name)
        if isinstance(t, float) and t == -np.inf:
            return _All
        return int(t) if np.issubdtype(type(t), np.integer) else float(t)
    values = np.asarray(threshold, dtype=np.float64)
    if values.shape != (n_nodes,) or np.isnan(values).any() or (values == -np.inf).any():
        raise ValueError(f"a per-unit threshold needs {n_nodes} values (one per unit, finite or +inf for a unit "
                         f"that never spikes), got shape {values.shape}")
    if not (dtype.is_floating_point):
        raise ValueError(f"per-unit thresholds compare floating outputs; this output is {name}")
    never = values == np.inf  # +inf (a rule's unit that never spikes) compares as itself in every float dtype
    values = np.where(never, 0.0, values)
    if name == "bfloat16":
        t = np.array([float(threshold_for_dtype(v, name)) for v in values], dtype=np.float32)
    else:
        with np.errstate(over="ignore"):  # beyond the dtype's range: inf, then stepped down to its max below
            t = values.astype(name)
        up = t.astype(np.float64) > values
        t[up] = np.nextafter(t[up], np.array(-np.inf, dtype=name))
    t[never] = np.inf
    return torch.from_numpy(np.ascontiguousarray(t)).to(device=device, dtype=dtype)


# --------------------------------------------------------------------- inputs
def _numeric(value, what):
    """``value`` as a tensor: a tensor as is, an array_like converted; raises TypeError for non-numbers."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"x: {what} must be real, got {value.dtype}")
        return value
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"x: {what} must be numeric, got dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _unpack(element):
    """``x`` of a batch given as x, (x,), (x, y) or (x, y, sample_weight), as for Keras."""
    if isinstance(element, (tuple, list)):
        if not 1 <= len(element) <= 3:
            raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a "
                             f"{type(element).__name__} of {len(element)} elements")
        return element[0]
    return element


def _is_array(value):
    import torch

    return isinstance(value, (torch.Tensor, np.ndarray)) or hasattr(value, "__array__")


_X_KINDS = "a tensor, an array, a tuple or dict of them, a DataLoader or an iterable of batches"


def _batch_source(x, batch_size):
    """Iterator over the batches of ``x`` (each ``(args, kwargs)``), the sample count and batch count if known."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"x must be {_X_KINDS}; got {type(x).__name__}")
    inputs = _array_inputs(x)
    if inputs is not None:
        return _slices(*inputs, batch_size)
    if isinstance(x, (tuple, list)):  # nested lists of numbers: one array
        return _batch_source(np.asarray(x), batch_size)
    if not hasattr(x, "__iter__"):
        raise TypeError(f"x must be {_X_KINDS}; got {type(x).__name__}")
    return _batches_of(x), None, len(x) if hasattr(x, "__len__") else None


def _array_inputs(x):
    """``(keys, tensors)`` of ``x`` given as one array, a tuple or a dict of arrays (keys: a dict's); else None."""
    if isinstance(x, dict) and x and all(_is_array(v) for v in x.values()):
        return list(x), [_numeric(v, f"input {k!r}") for k, v in x.items()]
    if isinstance(x, (tuple, list)) and x and all(_is_array(v) for v in x):
        return None, [_numeric(v, f"input {i}") for i, v in enumerate(x)]
    if _is_array(x):
        return None, [_numeric(x, "input 0")]
    return None


def _slices(keys, values, batch_size):
    """Batches of ``batch_size`` samples of the input tensors, their sample count and batch count."""
    for i, v in enumerate(values):
        if v.ndim == 0 or v.shape[0] == 0:
            raise ValueError(f"x holds no samples (input {keys[i] if keys else i} has shape {tuple(v.shape)})")
    counts = {int(v.shape[0]) for v in values}
    if len(counts) > 1:
        raise ValueError(f"x: the inputs hold different sample counts {[int(v.shape[0]) for v in values]}")
    n = counts.pop()

    def slices():
        for i in range(0, n, batch_size):
            part = [v[i:i + batch_size] for v in values]
            yield (tuple(part), {}) if keys is None else ((), dict(zip(keys, part, strict=True)))

    return slices(), n, -(-n // batch_size)


def _batches_of(x):
    """The batches of an iterable (a DataLoader, a generator), each ``(args, kwargs)`` of tensors."""
    for element in x:
        inner = _unpack(element)
        if isinstance(inner, dict):
            yield (), {k: _numeric(v, f"input {k!r}") if _is_array(v) else v for k, v in inner.items()}
        elif isinstance(inner, (tuple, list)):
            yield tuple(_numeric(v, f"input {i}") for i, v in enumerate(inner)), {}
        else:
            yield (_numeric(inner, "input 0"),), {}


def _length_hint(x):
    """Samples a DataLoader will likely yield (its dataset's length), to preallocate; None if unknown."""
    try:
        return int(len(x.dataset)) if hasattr(x, "dataset") and not getattr(x, "drop_last", False) else None
    except TypeError:  # an IterableDataset without a length
        return None


def _n_samples(args, kwargs):
    import torch

    for v in itertools.chain(args, kwargs.values()):
        if isinstance(v, torch.Tensor) and v.ndim:
            return int(v.shape[0])
    raise ValueError("x: a batch holds no tensor with a sample axis")


def _prepare(args, kwargs, device, float_dtype):
    """Move a batch to ``device`` and cast floating inputs to the module's float dtype.

    Returns the positional and keyword inputs, and ``(label, tensor)`` of the
    floating inputs with a sample axis (checked for NaN/Inf when a recorded
    output is not finite, to name the input).
    """
    import torch

    floating = []

    def move(value, label):
        if not isinstance(value, torch.Tensor):
            return value
        if value.is_floating_point() and float_dtype is not None and value.dtype != float_dtype:
            value = value.to(dtype=float_dtype)
        value = value.to(device, non_blocking=True)
        if value.is_floating_point() and value.ndim:
            floating.append((label, value))
        return value

    args = tuple(move(v, i) for i, v in enumerate(args))
    kwargs = {k: move(v, repr(k)) for k, v in kwargs.items()}
    return args, kwargs, floating


def _raise_nonfinite_input(inputs, start):
    """Raise naming the samples if a floating input of the batch holds NaN or Inf (exact check)."""
    import torch

    for label, value in inputs:
        rows = np.flatnonzero((~torch.isfinite(value.reshape(value.shape[0], -1)).all(dim=1)).cpu().numpy())
        if rows.size:
            samples = (rows + start).tolist()
            shown = ", ".join(map(str, samples[:10])) + (f", ... ({len(samples)} in all)" if len(samples) > 10 else "")
            raise ValueError(f"x: input {label} holds NaN or Inf at sample(s) {shown} (as "
                             f"{str(value.dtype).removeprefix('torch.')}); a NaN input has no spike or silence to "
                             f"record")


def _head(args, kwargs, n):
    """The first ``n`` samples of a batch."""
    import torch

    total = _n_samples(args, kwargs)

    def cut(v):
        return v[:n] if isinstance(v, torch.Tensor) and v.ndim and v.shape[0] == total else v

    return tuple(cut(v) for v in args), {k: cut(v) for k, v in kwargs.items()}


def _nonfinite_rows(flat):
    """Bool ``(n,)``: the rows of a floating ``(n, m)`` tensor holding a NaN or an Inf.

    On the CPU, one pass: a row holds a NaN or an Inf exactly when its sum is
    not finite, unless the sum of finite values overflows, and those rows are
    checked exactly (``torch.isfinite`` alone takes several passes there).
    On an accelerator, ``isfinite`` is one fused pass and needs no host sync.
    """
    import torch

    if flat.device.type != "cpu":
        return ~torch.isfinite(flat).all(dim=1)
    suspect = ~torch.isfinite(flat.sum(dim=1, dtype=torch.float64 if flat.dtype == torch.float64 else torch.float32))
    if suspect.any():
        rows = torch.nonzero(suspect).flatten()
        suspect[rows] = ~torch.isfinite(flat[rows]).all(dim=1)
    return suspect


# ------------------------------------------------------------- module calls
class _Call:
    """One call of a module in a forward pass: what it returned."""

    __slots__ = ("name", "index", "module", "tensor", "shape", "dtype", "kind")

    def __init__(self, name, index, module, output):
        import torch

        self.name, self.index, self.module = name, index, module
        self.tensor = isinstance(output, torch.Tensor)
        self.shape = tuple(output.shape) if self.tensor else None
        self.dtype = output.dtype if self.tensor else None
        self.kind = type(output).__name__ + (f" of {len(output)}" if isinstance(output, (tuple, list)) else "")


def _probe(model, args, kwargs):
    """Run one forward pass with a hook on every module; the calls in order of completion, and the output."""
    names = {id(m): n for n, m in model.named_modules()}
    counts, calls = {}, []

    def hook(module, _args, output):
        name = names[id(module)]
        k = counts.get(name, 0)
        counts[name] = k + 1
        calls.append(_Call(name, k, module, output))

    handles = [m.register_forward_hook(hook) for m in {id(m): m for m in model.modules()}.values()]
    try:
        output = model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return calls, counts, output


def _innermost(calls):
    """Calls of the innermost called modules (none of their submodules was called), in completion order."""
    called = {c.name for c in calls}
    outer = {n for n in called for m in called if m != n and (n == "" or m.startswith(n + "."))}
    return [c for c in calls if c.name not in outer]


def _label(call, counts):
    return call.name if counts[call.name] == 1 else f"{call.name}#{call.index}"


def _default_layer(calls, counts, output, n, model):
    """The last hidden module: before the readout (the last module with parameters) and what follows it."""
    import torch

    seq = [c for c in _innermost(calls) if c.name and c.tensor and c.shape[:1] == (n,)]
    labels = [_label(c, counts) for c in seq]
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"{type(model).__name__} returns a {type(output).__name__}, not one tensor: the last "
                         f"hidden layer is ambiguous; name the module(s) to record with layers=, from {labels}")
    i = len(seq) - 1
    while i >= 0 and next(seq[i].module.parameters(), None) is None:  # activations after the readout
        i -= 1
    i -= 1  # the readout itself
    while i >= 0 and (type(seq[i].module).__name__ in _MOVERS or "Pool" in type(seq[i].module).__name__):
        i -= 1
    if i < 0:
        raise ValueError(f"{type(model).__name__} has no hidden module before its last module with parameters; "
                         f"name the module(s) to record with layers=, from {labels}")
    return [labels[i]]


def _resolve_layers(model, layers, calls, counts, output, n):
    """``[(label, call)]`` of the module calls to record."""
    from ..keras.recording import _layer_specs  # the same name rules as Keras layers

    if isinstance(layers, str) and layers == "all":
        return _all_calls(model, calls, counts, n)
    if layers is None:
        layers = _default_layer(calls, counts, output, n, model)
        log.info("recording the last hidden module %r of %s", layers[0], type(model).__name__)
    all_names = [name for name, _ in model.named_modules() if name]
    by_name = {}
    for c in calls:
        by_name.setdefault(c.name, []).append(c)
    chosen = []
    for spec in _layer_specs(layers, "module"):
        call = _named_call(model, spec, all_names, by_name, n)
        if spec in [c[0] for c in chosen]:
            raise ValueError(f"layer {spec!r} is listed twice in layers")
        chosen.append((spec, call))
    return chosen


def _all_calls(model, calls, counts, n):
    """``[(label, call)]`` of every innermost module call that returns one tensor with samples first."""
    chosen = []
    for c in _innermost(calls):
        if not c.name:
            continue
        if not c.tensor or c.shape[:1] != (n,):
            log.info("module %r returns %s; not recorded by layers='all'", c.name,
                     c.kind if not c.tensor else f"shape {c.shape}, not samples first")
            continue
        chosen.append((_label(c, counts), c))
    if not chosen:
        raise ValueError(f"{type(model).__name__} has no module whose output is one tensor to record")
    return chosen


def _named_call(model, spec, all_names, by_name, n):
    """The call named by ``spec`` (``"name"`` or ``"name#k"``), checked to return one tensor with samples first."""
    from ..keras.recording import _pick_call  # the same choice of a call as for Keras layers

    if not isinstance(spec, str):
        raise TypeError(f"layers must hold module names (str), got {spec!r}")
    name, _, index = spec.partition("#")
    if name not in all_names:
        raise ValueError(f"{type(model).__name__} has no module {name!r}; its modules (named_modules()) are "
                         f"{all_names}")
    outs = by_name.get(name, [])
    if not outs:
        raise ValueError(f"module {name!r} is not called in the forward pass of {type(model).__name__} "
                         f"(a fused fast path, e.g. nn.TransformerEncoderLayer in eval mode, does the work of "
                         f"its submodules without calling them): record the enclosing module")
    call = _pick_call(outs, name, index, spec, "module", type(model).__name__)
    if not call.tensor:
        raise ValueError(f"module {spec!r} returns a {call.kind}; record takes modules that return one tensor")
    if call.shape[:1] != (n,):
        raise ValueError(f"module {spec!r} returns shape {call.shape} for {n} samples: its first axis is not "
                         f"the samples (e.g. a sequence-first transformer: use batch_first=True)")
    return call


def _calls_to_record(model, layers, args, kwargs, n):
    """Resolve ``layers`` on a forward pass of the first samples of a prepared batch of ``n`` samples."""
    k = min(n, _PROBE_SAMPLES)
    calls, counts, output = _probe(model, *_head(args, kwargs, k))
    return _resolve_layers(model, layers, calls, counts, output, k)


# --------------------------------------------------------------------- hooks
def _pack(s, weights):
    """Pack bool ``(n, m)`` into uint8 ``(n, ceil(m / 8))`` in ``np.packbits`` order, on the tensor's device."""
    import torch

    n, m = s.shape
    u = s.to(torch.uint8)
    if m % 8:
        u = torch.nn.functional.pad(u, (0, (-m) % 8))
    return (u.view(n, -1, 8) * weights).sum(dim=2, dtype=torch.uint8)


class _Tap:
    """Forward hooks that threshold (and pack) the chosen module calls of one batch on its device."""

    def __init__(self, chosen, thresholds, pack, check_finite, device, direct=None):
        import torch

        self.direct = direct  # a _DirectSink: the hook writes the spikes into it
        self.labels = [label for label, _ in chosen]
        self.shapes = [c.shape[1:] for _, c in chosen]
        self.thresholds, self.pack, self.check_finite = thresholds, pack, check_finite
        self.weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8, device=device)
        self.slots = {}  # id(module) -> {call index: slot}
        self.modules = {}
        for slot, (_, c) in enumerate(chosen):
            self.slots.setdefault(id(c.module), {})[c.index] = slot
            self.modules[id(c.module)] = c.module
        self.handles = []

    def attach(self):
        self.handles = [m.register_forward_hook(self.hook) for m in self.modules.values()]

    def detach(self):
        for h in self.handles:
            h.remove()
        self.handles = []

    def start(self, n, first):
        self.n, self.first = n, first
        self.counts = dict.fromkeys(self.slots, 0)
        self.spikes = [None] * len(self.labels)
        self.bad = [None] * len(self.labels)

    def hook(self, module, _args, output):
        import torch

        k = self.counts[id(module)]
        self.counts[id(module)] = k + 1
        slot = self.slots[id(module)].get(k)
        if slot is None:
            return
        label = self.labels[slot]
        if not isinstance(output, torch.Tensor) or output.shape[:1] != (self.n,) \
                or tuple(output.shape[1:]) != self.shapes[slot]:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"module {label!r} returned {got} for the batch of {self.n} samples starting at sample "
                             f"{self.first}, not ({self.n}, {', '.join(map(str, self.shapes[slot]))}) as in the first "
                             f"batch; record needs a fixed number of units per sample (pad inputs to one length)")
        flat = output.reshape(self.n, -1)
        if flat.dtype == torch.bool:
            flat = flat.to(torch.int8)
        if self.check_finite and flat.is_floating_point():
            self.bad[slot] = _nonfinite_rows(flat)
        t = self.thresholds[slot]
        if self.direct is not None:  # CPU, unpacked: compare straight into the result's rows
            rows = torch.from_numpy(self.direct.rows(slot, self.first, self.n))
            if t is _All:
                rows.fill_(True)
            else:
                torch.gt(flat, t, out=rows)
            self.spikes[slot] = rows
            return
        s = torch.ones_like(flat, dtype=torch.bool) if t is _All else flat > t
        self.spikes[slot] = _pack(s, self.weights) if self.pack else s

    def finish(self):
        """The batch's spikes and non-finite flags; raises if a chosen call did not happen."""
        missing = [label for label, s in zip(self.labels, self.spikes, strict=True) if s is None]
        if missing:
            raise ValueError(f"module call(s) {missing} did not happen in the forward pass of the batch starting "
                             f"at sample {self.first} (data-dependent control flow?); record needs the same calls "
                             f"in every batch")
        return self.spikes, self.bad


class _DirectSink:
    """Bool spikes in memory, written in place by the hooks (CPU, unpacked); grown by doubling."""

    def __init__(self, n_units, n_total):
        self.capacity = n_total or 0
        self.buffers = [np.empty((self.capacity, n), dtype=bool) for n in n_units]

    def rows(self, slot, start, n):
        if start + n > self.capacity:
            self.capacity = max(start + n, 2 * self.capacity)
            for i, buf in enumerate(self.buffers):
                grown = np.empty((self.capacity, buf.shape[1]), dtype=bool)
                grown[:start] = buf[:start]
                self.buffers[i] = grown
        return self.buffers[slot][start:start + n]

    def write(self, start, spikes):
        """The spikes are in place already."""

    def result(self, n):
        return [buf if buf.shape[0] == n else buf[:n].copy() for buf in self.buffers]


# ------------------------------------------------------------------ recording
def _module_device(model):
    import torch

    for t in itertools.chain(model.parameters(), model.buffers()):
        return t.device
    return torch.device("cpu")


def _module_float_dtype(model):
    for t in itertools.chain(model.parameters(), model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None


def _capture(model, chosen, args, kwargs, n):
    """One forward pass; a float copy ``(n, n_units)`` of each chosen call's output (float32, or float64)."""
    import torch

    slots = {}
    for slot, (_, c) in enumerate(chosen):
        slots.setdefault(id(c.module), {})[c.index] = slot
    modules = {id(c.module): c.module for _, c in chosen}
    counts = dict.fromkeys(slots, 0)
    outs = [None] * len(chosen)

    def hook(module, _args, output):
        k = counts[id(module)]
        counts[id(module)] = k + 1
        slot = slots[id(module)].get(k)
        if slot is None:
            return
        label, shape = chosen[slot][0], chosen[slot][1].shape[1:]
        if not isinstance(output, torch.Tensor) or output.shape[:1] != (n,) or tuple(output.shape[1:]) != shape:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"module {label!r} returned {got} for {n} probe samples, not ({n}, "
                             f"{', '.join(map(str, shape))}); record needs a fixed number of units per sample")
        if not output.is_floating_point():
            raise ValueError(f"module {label!r} outputs {_np_dtype_name(output.dtype)}: a per-unit threshold rule "
                             f"compares floating outputs; give a number as threshold")
        # A copy, taken now: a later in-place module (ReLU(inplace=True)) would change the output itself.
        dtype = torch.float64 if output.dtype == torch.float64 else torch.float32
        outs[slot] = output.detach().reshape(n, -1).to(dtype=dtype, copy=True)

    handles = [m.register_forward_hook(hook) for m in modules.values()]
    try:
        model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    missing = [label for (label, _), o in zip(chosen, outs, strict=True) if o is None]
    if missing:
        raise ValueError(f"module call(s) {missing} did not happen in the forward pass of the probe samples")
    return outs


def _probe_thresholds(model, x, probe, rule, layers, batch_size, device, float_dtype):
    """Per-unit thresholds of ``rule`` on the probe samples: the chosen calls, the vectors and the probe's text.

    The probe is ``probe`` leading samples of ``x`` (tensors, arrays, tuples
    or dicts of them, a DataLoader or another re-iterable) or the probe
    inputs themselves (anything ``x`` may be), run in ``x``'s batches (the
    batch holding the last probe sample runs whole, so the probe values are
    the values recorded for those samples).  Runs under the caller's
    ``torch.inference_mode`` and eval mode; the calls to record are resolved
    on the first probe batch.
    """
    import collections.abc

    if isinstance(probe, (bool, np.bool_, str, float)):
        raise TypeError(f"threshold_probe must be a number of leading samples (int) or probe inputs (tensors or "
                        f"arrays), got {probe!r}")
    if isinstance(probe, (int, np.integer)):
        if probe < 1:
            raise ValueError(f"threshold_probe must be >= 1 samples, got {probe}")
        if isinstance(x, collections.abc.Iterator):
            raise ValueError(f"a per-unit threshold is estimated on probe samples, and x is a {type(x).__name__} "
                             f"that cannot be read twice: give threshold_probe=<inputs> (e.g. the first 1000 "
                             f"samples as a tensor)")
        source, limit = x, int(probe)
    else:
        source, limit = probe, None
    batches, _, _ = _batch_source(source, batch_size)
    chosen, acts, seen = None, None, 0
    for batch in batches:
        args, kwargs, _ = _prepare(*batch, device, float_dtype)
        n = _n_samples(args, kwargs)
        # The whole batch runs and its outputs are cut: the probe's values are those recorded for its samples.
        take = n if limit is None else min(n, limit - seen)
        if chosen is None:
            chosen = _calls_to_record(model, layers, args, kwargs, n)
            acts = [[] for _ in chosen]
        for slot, out in enumerate(_capture(model, chosen, args, kwargs, n)):
            acts[slot].append(out[:take].cpu().numpy())
        seen += take
        if limit is not None and seen >= limit:
            break
    if chosen is None:
        raise ValueError("threshold_probe holds no samples" if limit is None else "x yielded no samples")
    where = f"the first {seen} samples of x" if limit is not None else f"threshold_probe ({seen} samples given)"
    thresholds = []
    for (label, _), a in zip(chosen, acts, strict=True):
        a = np.concatenate(a)
        if not np.isfinite(a).all():
            raise ValueError(f"module {label!r} outputs NaN or Inf on {where}: a per-unit threshold needs finite "
                             f"probe activations; check the probe inputs and the weights")
        thresholds.append(unit_thresholds(a, rule))
    return chosen, thresholds, where


def record(model, x, layers=None, batch_size=256, threshold=0.0, progress=False, *, out=None,
           overwrite=False, check_finite=True, pack=None, chunk_samples=None, strategy=None, labels=None,
           threshold_probe=None):
    """Run a PyTorch module over a dataset and record its modules' spikes.

    Called by :func:`ann2neo.record` for a ``torch.nn.Module``; arguments and
    results are those of the Keras route.  A forward hook on each recorded
    module thresholds its output on the module's device (output > threshold
    is a spike) and, on an accelerator or when streaming, bit-packs it there,
    so only spikes cross to the host.  The module runs in eval mode under
    ``torch.inference_mode()``; each submodule's training flag is restored
    afterwards, also on error.  Sample ``k`` of ``x`` (in the order given)
    becomes time step ``k``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module, on any device (its first parameter's device; CPU if it
        has none).  Inputs are moved there.
    x : tensor, array_like, tuple or dict of them, torch.utils.data.DataLoader or iterable
        Inputs, shape ``(n_samples, ...)``: one tensor or array (``model(x)``),
        a tuple of them (positional inputs, ``model(*x)``) or a dict
        (keyword inputs, ``model(**x)``), cut into batches of ``batch_size``.
        A ``DataLoader``, generator or other iterable yields batches, each
        ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` as for Keras,
        where ``x`` is a tensor, a tuple of tensors or a dict of keyword
        inputs; ``batch_size`` then does not apply.  Floating inputs are cast
        to the dtype of the module's floating parameters.
    layers : str, list of str or "all", optional
        Module names as given by ``model.named_modules()`` (``"layer1.0.conv1"``).
        Default: the last hidden module, found in the forward pass: the last
        called module before the readout (the last module with parameters,
        with the parameter-free modules after it such as a softmax), skipping
        dropout, flatten, identity and pooling modules.  ``"all"`` records
        every innermost called module (a called module none of whose
        submodules is called: the leaves, and a module whose fused fast path
        skips its submodules, such as ``nn.TransformerEncoderLayer`` in eval
        mode) whose output is one tensor with samples first.  Containers
        (``nn.Sequential``, a residual block) are recorded when named.  A
        module called several times per forward pass (e.g. torchvision's
        ``BasicBlock.relu``) is named per call: ``"name#0"``, ``"name#1"``.
    batch_size : int, default 256
        Samples per batch for tensor and array inputs (>= 1).
    threshold : float, "median", ("quantile", q) or ("fraction_of_max", f), default 0.0
        Spike threshold: a unit spikes when its output is strictly greater,
        compared exactly whatever the output dtype
        (``ann2neo.core.binarize.threshold_for_dtype``).  A number is one
        threshold for every unit.  The rules set one threshold per unit
        (:func:`ann2neo.unit_thresholds`), estimated on the float outputs of
        the recorded module calls over ``threshold_probe`` (captured with
        forward hooks, in eval mode under ``torch.inference_mode()``):
        ``"median"`` (= ``("quantile", 0.5)``), the unit's ``q``-quantile, or
        ``f`` times its maximum (``+inf``, never a spike, for a unit whose
        maximum is <= 0).  Rules need floating outputs.
    progress : bool, default False
        Show a tqdm progress bar over batches.
    out : str or path-like, optional
        Stream packed spikes to a chunked Zarr store at this path (the
        format of :mod:`ann2neo.io.store`) instead of returning them.
    overwrite : bool, default False
        Replace an existing store at ``out``.
    check_finite : bool, default True
        Check every recorded floating output, per sample, for NaN/Inf, on the
        device; when one is not finite, the batch's inputs are checked too, to
        name the input.
    pack : bool, optional
        Bit-pack spikes on the device.  Default: when the module is on an
        accelerator or ``out`` is given.
    chunk_samples : int, optional
        Samples per Zarr chunk with ``out``.
    strategy : None
        Only for Keras on TensorFlow; a module is placed with ``model.to(device)``.
    labels : array_like, shape (n_samples,) or one-hot (n_samples, n_classes), optional
        Label of each sample of ``x``, in order.  Only used to check the
        order: an :class:`ann2neo.OrderWarning` when they come sorted or in
        runs (:func:`ann2neo.core.order.check_order`).
    threshold_probe : int, tensor, array_like, tuple or dict of them, DataLoader or iterable, optional
        With a per-unit ``threshold`` rule: the samples it is estimated on,
        either a number of leading samples of ``x`` (default 1000, or all if
        fewer; ``x`` is read for them first, so it must be re-iterable: a
        tensor, an array, a tuple or dict of them or a ``DataLoader``) or the
        probe inputs themselves, in any form ``x`` may take (needed when
        ``x`` is a generator or another one-shot iterator).  Which probe was
        used is stated in each result's ``threshold_rule`` (and in a store's
        attributes).

    Returns
    -------
    dict of str to SpikeMatrix, or pathlib.Path
        For each recorded module call, in the order requested, a boolean
        matrix ``(n_samples, n_units)``, units being the C-order flattening
        of the per-sample output shape (kept as ``layer_shape``; for a
        convolution ``(channels, height, width)``), with ``layer`` and
        ``threshold`` (a float, or the per-unit float64 vector of a rule,
        described by ``threshold_rule``).  With ``out``, the path of the
        completed store.

    Raises
    ------
    TypeError
        For non-numeric input, a threshold that is not a number or a rule,
        or wrongly typed arguments.
    ValueError
        For an unknown module name (lists the modules), a shared module named
        without its call, a module that is not called or does not return one
        tensor with samples first, a per-sample output shape that changes
        between batches, empty input, ``strategy`` given, NaN/Inf in an
        input or a recorded output (names the samples and modules), a rule
        on an integer output or on non-finite probe outputs, an int
        ``threshold_probe`` with a one-shot iterator ``x``, ``threshold_probe``
        with a number as threshold, or ``labels`` not of one label per
        sample.
    FileExistsError
        If ``out`` exists and ``overwrite`` is False.

    Warns
    -----
    ann2neo.OrderWarning
        When ``labels`` come sorted or in runs.

    Notes
    -----
    Finiteness: PyTorch runs eagerly, and its ReLU, pooling, linear layers
    and convolutions propagate NaN, so a NaN upstream (in an input, a weight
    or an intermediate output) reaches every recorded output that depends on
    it, where it is caught.  Not seen: a NaN that the model itself removes
    before a recorded module (``torch.nan_to_num``, a mask), and an input
    value that no recorded module depends on.  Unlike Keras on TensorFlow,
    nothing fuses a ReLU that maps NaN to 0, so weights need no check of
    their own.  On the CPU the check is one pass over each recorded output
    (a row sum), and the unpacked spikes are compared straight into the
    result.  To find which modules run, the first
    three samples of the first batch go through the model once more with a
    hook on every module.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> spikes = record(net, torch.ones(10, 4))["1"]
    >>> spikes.shape, spikes.dtype, spikes.layer
    ((10, 3), dtype('bool'), '1')
    >>> median = record(net, torch.randn(10, 4), threshold="median")["1"]
    >>> median.threshold.shape, median.threshold_rule
    ((3,), 'quantile 0.5 per unit on the first 10 samples of x')
    """
    import torch

    from ..keras.recording import _check_record_options  # the same option checks as the Keras route

    rule = check_threshold_rule(threshold)
    batch_size = _check_record_options(rule, threshold_probe, batch_size, out, chunk_samples, overwrite,
                                       check_finite, progress, pack)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if strategy is not None:
        raise ValueError("strategy= is a tf.distribute strategy for Keras on TensorFlow; place a torch.nn.Module "
                         "on its device with model.to(device)")
    check_order(labels, where="the samples fed to record", stacklevel=3)
    device = _module_device(model)
    float_dtype = _module_float_dtype(model)
    if pack is None:
        pack = out is not None or device.type != "cpu"
    elif out is not None and not pack:
        raise ValueError("a store holds packed spikes: pack=False cannot be combined with out")
    batches, n_total = _input_batches(x, batch_size, labels, progress)
    modes = [(m, m.training) for m in model.modules()]
    tap = sink = None
    try:
        model.eval()
        with torch.inference_mode():
            # the probe before x is read: a DataLoader is iterated for the probe first
            probed = _rule_thresholds(model, x, rule, threshold_probe, layers, batch_size, device, float_dtype)
            threshold_rule = probed[2]
            first = next(batches, None)
            if first is None:
                raise ValueError("x yielded no samples")
            args, kwargs, _ = _prepare(*first, device, float_dtype)
            chosen = _calls_to_record(model, layers, args, kwargs, _n_samples(args, kwargs))
            names = [label for label, _ in chosen]
            shapes = [c.shape[1:] for _, c in chosen]
            n_units = [int(np.prod(s)) for s in shapes]
            values = _threshold_values(rule, chosen, probed)
            thresholds = [_device_threshold(t, c.dtype, u, device)
                          for t, (_, c), u in zip(values, chosen, n_units, strict=True)]
            direct = _DirectSink(n_units, n_total or _length_hint(x)) \
                if out is None and not pack and device.type == "cpu" else None
            tap = _Tap(chosen, thresholds, bool(pack), check_finite, device, direct=direct)
            log.info("recording %s of %s (torch, %s)", names, type(model).__name__, device)
            sink = direct if direct is not None else _open_sink(out, pack, chosen, values, threshold_rule, model,
                                                                n_total, chunk_samples, overwrite)
            start = _run_batches(model, itertools.chain([first], batches), tap, sink, device, float_dtype)
        _check_sample_count(start, n_total, labels)
        if out is not None:
            return sink.close(start)
    except BaseException:
        if out is not None and sink is not None:
            sink.abort()
        raise
    finally:
        if tap is not None:
            tap.detach()
        for m, mode in modes:
            m.training = mode
    matrices = sink.result(start)
    return {name: SpikeMatrix(m, layer_shape=shape, threshold=t, layer=name, threshold_rule=threshold_rule)
            for name, m, shape, t in zip(names, matrices, shapes, values, strict=True)}


def _input_batches(x, batch_size, labels, progress):
    """An iterator over the batches of ``x`` (behind a progress bar if asked) and the sample count if known."""
    batches, n_total, n_batches = _batch_source(x, batch_size)
    if labels is not None and n_total is not None and len(labels) != n_total:
        raise ValueError(f"labels has {len(labels)} entries for the {n_total} samples of x; give one label per "
                         f"sample, in the order of x")
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=n_batches, desc="recording", unit="batch", leave=False)
    return iter(batches), n_total


def _rule_thresholds(model, x, rule, threshold_probe, layers, batch_size, device, float_dtype):
    """For a per-unit rule: the probed calls, their per-unit thresholds and the rule's text; else three Nones."""
    if rule[0] == "absolute":
        return None, None, None
    probe = DEFAULT_THRESHOLD_PROBE if threshold_probe is None else threshold_probe
    probed, unit, where = _probe_thresholds(model, x, probe, rule, layers, batch_size, device, float_dtype)
    threshold_rule = f"{rule[0]} {rule[1]:g} per unit on {where}"
    log.info("per-unit thresholds: %s", threshold_rule)
    return probed, unit, threshold_rule


def _threshold_values(rule, chosen, probed):
    """Each chosen call's threshold: the number, or the rule's per-unit vector (the probe's calls must match)."""
    calls, unit, threshold_rule = probed
    if threshold_rule is None:
        return [rule[1]] * len(chosen)
    got = [(label, c.shape[1:]) for label, c in calls]
    want = [(label, c.shape[1:]) for label, c in chosen]
    if got != want:
        raise ValueError(f"the probe samples give module outputs {got}, x gives {want}; give threshold_probe "
                         f"inputs shaped like x")
    return unit


def _open_sink(out, pack, chosen, values, threshold_rule, model, n_total, chunk_samples, overwrite):
    """Where the spikes go: a store at ``out``, or memory (packed or bool) as the Keras route."""
    if out is None:
        from ..keras.recording import _MemorySink

        return _MemorySink([int(np.prod(c.shape[1:])) for _, c in chosen], n_total, packed=bool(pack))
    from ..io.store import _StoreWriter

    dtypes = [_np_dtype_name(c.dtype) for _, c in chosen]
    return _StoreWriter(out, [label for label, _ in chosen], [c.shape[1:] for _, c in chosen], threshold=values,
                        model_name=type(model).__name__, n_samples=n_total, chunk_samples=chunk_samples,
                        overwrite=overwrite, attrs={"backend": "torch", "dtypes": dtypes,
                                                    "threshold_rule": threshold_rule})


def _run_batches(model, batches, tap, sink, device, float_dtype):
    """Run the model on every batch with the tap attached; the spikes go to ``sink``.  Returns the samples run."""
    tap.attach()
    start, pending = 0, None
    for batch in batches:
        args, kwargs, inputs = _prepare(*batch, device, float_dtype)
        n = _n_samples(args, kwargs)
        tap.start(n, start)
        model(*args, **kwargs)
        launched = (start, inputs, *tap.finish())
        # Collect the previous batch after launching this one: on an accelerator the device
        # computes batch k + 1 while the host stores batch k.
        if pending is not None:
            _collect(pending, tap, sink)
        pending = launched
        start += n
    if pending is not None:
        _collect(pending, tap, sink)
    return start


def _collect(pending, tap, sink):
    """Host side of one batch: the only device -> host transfer (flags and spikes, packed or bool)."""
    import torch

    from ..keras.recording import _raise_nonfinite

    first_sample, inputs, spikes, bad = pending
    checked = [(label, b) for label, b in zip(tap.labels, bad, strict=True) if b is not None]
    if checked:
        flags = torch.stack([b for _, b in checked], dim=1).cpu().numpy()
        if flags.any():
            _raise_nonfinite_input(inputs, first_sample)
            _raise_nonfinite(flags, first_sample, [label for label, _ in checked])
    if sink is not tap.direct:
        sink.write(first_sample, [s.cpu().numpy() for s in spikes])


def _check_sample_count(start, n_total, labels):
    """Raise if ``x`` yielded another number of samples than announced, or than ``labels`` has."""
    if n_total is not None and start != n_total:
        raise ValueError(f"x yielded {start} samples, expected {n_total}")
    if labels is not None and len(labels) != start:
        raise ValueError(f"labels has {len(labels)} entries for the {start} samples of x; give one label per "
                         f"sample, in the order of x")
