"""Record thresholded layer activations of a Keras model, batch by batch.

The forward pass, the finiteness checks, the threshold and the bit-packing run
in one function compiled by the active Keras backend (``tf.function`` on
TensorFlow, ``jax.jit`` on JAX, eager ``torch.no_grad`` on PyTorch), so on an
accelerator only packed spike bits cross to the host.  Keras and its backend
are imported here only, on first use.
"""
from __future__ import annotations

import logging
import os
import weakref

import numpy as np

from ..core.binarize import (
    DEFAULT_THRESHOLD_PROBE,
    SpikeMatrix,
    check_threshold_rule,
    threshold_for_dtype,
    unit_thresholds,
)
from ..core.order import check_order
from ..core.validation import check_integer
from ._data import batch_source, probe_inputs, resolve_inputs

__all__ = ["record", "default_layer", "last_hidden_layer"]

log = logging.getLogger(__name__)
_STEPS = weakref.WeakKeyDictionary()  # model -> {(backend, tensors, threshold, pack): compiled step}


def _expected_retracing(record_) -> bool:
    """Logging filter: each record() call traces its own graph once, by design."""
    return "triggered tf.function retracing" not in record_.getMessage()


def _keras():
    import keras  # Keras 3, any backend

    return keras


# ---------------------------------------------------------------- thresholds
def _is_floating(dtype) -> bool:
    name = str(getattr(dtype, "name", dtype))
    return name.startswith(("float", "bfloat"))


# ------------------------------------------------------------ model and layers
# Layers that only move, select, pool, mask or perturb values: never the default observed layer (what they
# output is the layer before them, rearranged), and walked through when looking for it.
_PASS_THROUGH = frozenset({
    "Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Concatenate", "Identity",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout",
    "GaussianNoise", "ActivityRegularization", "Masking"})
# Activation layers: after the output layer they are part of the output (softmax), before it a hidden layer.
_ACTIVATIONS = frozenset({"Activation", "Softmax", "ReLU", "LeakyReLU", "ELU", "PReLU"})


def _is_pass_through(operation) -> bool:
    name = type(operation).__name__
    return name in _PASS_THROUGH or "Pooling" in name


def _producer(tensor):
    """(operation, input tensors) of the call that produced ``tensor``; (None, []) for a model input."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None, []
    operation = history.operation
    if type(operation).__name__ == "InputLayer":
        return None, []
    return operation, list(operation._inbound_nodes[history.node_index].input_tensors)


def default_layer(model) -> str:
    """Name of the layer recorded by default: the last hidden layer, found in the model's graph.

    Walking back from each model output: the output layer (with the
    activation, pooling, reshape or dropout layers after it, e.g. a separate
    ``Softmax``) is not hidden; from its inputs, pooling, reshape, flatten,
    dropout and noise layers (``GlobalAveragePooling*``, ``Reshape``,
    ``Flatten``, ``Dropout``, ``SpatialDropout*``, ``GaussianNoise``,
    ``Concatenate``, ...) are walked through, and the first other layer is
    the last hidden layer.  For the paper's MLP (Flatten -> Dense(width) ->
    Dense(10)) this is the hidden Dense layer (arXiv:2308.00858 section 3.1
    observes "the last hidden layer"); for a CNN ending in
    ``GlobalAveragePooling2D -> Dense`` it is the layer before the pooling;
    for a transformer block ending in ``LayerNormalization -> pooling ->
    Dense`` it is the normalisation layer.

    Parameters
    ----------
    model : keras.Model
        A built Sequential or Functional model.

    Returns
    -------
    str
        The layer name (``"name#k"`` for call ``k`` of a shared layer), as
        accepted by :func:`record`'s ``layers``.

    Raises
    ------
    ValueError
        If the model has no hidden layer, or if the choice is ambiguous:
        several outputs, or branches (e.g. into a ``Concatenate``), whose last
        hidden layers differ; the message lists the candidates (pass one as
        ``layers=``).

    Examples
    --------
    >>> import keras
    >>> inp = keras.Input((8,))
    >>> h = keras.layers.Dense(4, activation="relu", name="h")(inp)
    >>> out = keras.layers.Dense(3, name="logits")(keras.layers.Dropout(0.5)(h))
    >>> default_layer(keras.Model(inp, keras.layers.Softmax()(out)))
    'h'
    """
    try:
        outputs = list(model.outputs)
    except (AttributeError, ValueError) as err:
        raise ValueError(f"model {model.name!r} is not built: give it an Input layer before recording "
                         f"({err})") from None
    output_side, heads = _output_side(outputs)
    candidates = _hidden_candidates(heads, output_side)
    calls = _layer_calls(model)
    names = list(dict.fromkeys(_call_name(calls, t) for t in candidates))
    if not names:
        raise ValueError(f"model {model.name!r} has no hidden layer to record (its only layers are the output "
                         f"and pass-through layers); name one with layers=")
    if len(names) > 1:
        why = "several outputs" if len(heads) > 1 else "several branches"
        raise ValueError(f"model {model.name!r} has no single last hidden layer ({why}): the candidates are "
                         f"{names}; choose with layers= (e.g. layers={names[0]!r}, or layers={names})")
    return names[0]


def _output_side(outputs):
    """The output layers with the activation and pass-through layers after them (ids), and the inputs of each head."""
    output_side, heads = set(), []
    for tensor in outputs:
        operation, inputs = _producer(tensor)
        while operation is not None and (type(operation).__name__ in _ACTIVATIONS or _is_pass_through(operation)) \
                and len(inputs) == 1:
            output_side.add(id(operation))
            operation, inputs = _producer(inputs[0])
        if operation is not None:
            output_side.add(id(operation))
            heads.append(inputs)
    return output_side, heads


def _hidden_candidates(heads, output_side):
    """The tensors of the last hidden layers: walking back from the heads through pass-through layers."""
    candidates, seen = [], set()

    def walk(tensor):
        if id(tensor) in seen:
            return
        seen.add(id(tensor))
        operation, inputs = _producer(tensor)
        if operation is None:
            return
        if id(operation) in output_side or _is_pass_through(operation):
            for t in inputs:
                walk(t)
            return
        candidates.append(tensor)

    for inputs in heads:
        for tensor in inputs:
            walk(tensor)
    return candidates


def _call_name(calls, tensor):
    """The name of the layer call that produced ``tensor`` (``"name#k"`` for call ``k`` of a shared layer)."""
    layer = tensor._keras_history.operation
    outs = calls.get(layer.name, [])
    if len(outs) <= 1:
        return layer.name
    return next(f"{layer.name}#{k}" for k, out in enumerate(outs) if any(t is tensor for t in out))


def last_hidden_layer(model) -> str:
    """Alias of :func:`default_layer` (the name used before 0.2)."""
    return default_layer(model)


def _check_model(model):
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"record needs a keras.Model or a torch.nn.Module, got {type(model).__name__}; for "
                        f"activations you already have (an array, samples x units), use ann2neo.binarize")
    is_functional = type(model).__name__ in ("Functional", "Sequential") or isinstance(model, keras.Sequential)
    if not is_functional:
        raise TypeError(
            f"record needs a Sequential or Functional Keras model to tap inner layers; "
            f"{type(model).__name__} is a subclassed model whose layer outputs are not part of a "
            f"graph. Rebuild it with the Functional API, or compute the activations yourself "
            f"(e.g. a method returning them) and pass them to ann2neo.binarize."
        )
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError) as err:
        raise ValueError(f"model {model.name!r} is not built: give it an Input layer or call "
                         f"model.build(input_shape) before recording ({err})") from None
    if not inputs or not outputs:
        raise ValueError(f"model {model.name!r} is not built: give it an Input layer before recording")


def _graph_nodes(model):
    """Every Keras node (layer call) of the model's graph, found by walking back from its outputs."""
    seen, nodes, stack = set(), [], list(model.outputs)
    while stack:
        tensor = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        node = history.operation._inbound_nodes[history.node_index]
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.input_tensors)
    return nodes


def _layer_calls(model):
    """Map layer name -> list of the output tensors of its calls in this model (graph order)."""
    in_graph = {id(n) for n in _graph_nodes(model)}
    calls = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        outs = []
        for node in layer._inbound_nodes:
            if id(node) in in_graph:
                outs.append(node.output_tensors)
        calls[layer.name] = outs
    return calls


def _resolve_layers(model, layers):
    """Return [(name, KerasTensor)] of the layers to record."""
    calls = _layer_calls(model)
    names = [layer.name for layer in model.layers]
    if isinstance(layers, str) and layers == "all":
        return _all_layers(model, calls)
    if layers is None:
        layers = [default_layer(model)]
        log.info("recording the default layer %r of %s (the last hidden layer; choose with layers=)",
                 layers[0], model.name)
    layers = _layer_specs(layers, "layer")
    chosen = []
    for spec in layers:
        if not isinstance(spec, str):
            raise TypeError(f"layers must hold layer names (str), got {spec!r}")
        tensor = _layer_output(model, calls, names, spec)
        if spec in [c[0] for c in chosen]:
            raise ValueError(f"layer {spec!r} is listed twice in layers")
        chosen.append((spec, tensor))
    return chosen


def _layer_specs(layers, what):
    """``layers`` (a name or a list of names; not "all", not None) as a non-empty list; shared with the torch route."""
    if isinstance(layers, str):
        return [layers]
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a {what} name, a list of names or 'all', got {type(layers).__name__}")
    if not layers:
        raise ValueError("layers is empty: nothing to record")
    return layers


def _pick_call(outs, name, index, spec, what, owner):
    """The call ``index`` (from ``"name#k"``) of a layer or module called ``len(outs)`` times; a shared one is named."""
    if index:
        if not index.isdigit() or int(index) >= len(outs):
            raise ValueError(f"{what} {name!r} is called {len(outs)} time(s) in {owner}; "
                             f"{spec!r} names no call (use {name}#0 ... {name}#{len(outs) - 1})")
        return outs[int(index)]
    if len(outs) > 1:
        raise ValueError(
            f"{what} {name!r} is shared: it is called {len(outs)} times in {owner}, "
            f"each call with its own activations. Name the call to record: "
            + ", ".join(f"'{name}#{k}'" for k in range(len(outs))))
    return outs[0]


def _all_layers(model, calls):
    """[(name, KerasTensor)] of every layer call with one output (``layers='all'``)."""
    chosen = []
    for name, outs in calls.items():
        for k, out in enumerate(outs):
            if len(out) != 1:
                log.info("layer %r call %d has %d outputs; not recorded by layers='all'", name, k, len(out))
                continue
            chosen.append((name if len(outs) == 1 else f"{name}#{k}", out[0]))
    if not chosen:
        raise ValueError(f"model {model.name!r} has no layer with an output to record")
    return chosen


def _layer_output(model, calls, names, spec):
    """The output tensor of the layer call named by ``spec`` (``"name"`` or ``"name#k"``); raise if none or several."""
    name, _, index = spec.partition("#")
    if name not in calls:
        if name in names:
            raise ValueError(f"layer {name!r} is an InputLayer: its output is x itself, not activations "
                             f"to record; binarize x with ann2neo.binarize if that is what you want")
        raise ValueError(f"model {model.name!r} has no layer {name!r}; its layers are {names}")
    outs = calls[name]
    if not outs:
        raise ValueError(f"layer {name!r} is not called in model {model.name!r}'s graph")
    out = _pick_call(outs, name, index, spec, "layer", f"model {model.name!r}")
    if len(out) != 1:
        raise ValueError(f"layer {spec!r} returns {len(out)} tensors; record takes layers with one output")
    return out[0]


# Layers whose output is finite whenever their inputs are (they move, select or take the max of
# values): their outputs need no check of their own, since their inputs are checked.
_FINITE_PRESERVING = frozenset({
    "Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Concatenate", "Identity", "Dropout",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "AlphaDropout",
    "GaussianNoise", "ActivityRegularization", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"})


def _needs_check(tensor) -> bool:
    """Whether a tensor on the path must be checked for NaN/Inf in the step (see ``_FINITE_PRESERVING``)."""
    history = getattr(tensor, "_keras_history", None)
    return history is None or type(history.operation).__name__ not in _FINITE_PRESERVING


def _ancestors(tensors, model_inputs):
    """The tensors on the path from the model inputs to ``tensors`` (inputs excluded), in a stable order."""
    input_ids = {id(t) for t in model_inputs}
    seen, order, stack = set(), [], list(tensors)
    while stack:
        t = stack.pop()
        if id(t) in seen or id(t) in input_ids:
            continue
        seen.add(id(t))
        order.append(t)
        history = getattr(t, "_keras_history", None)
        if history is not None:
            stack.extend(history.operation._inbound_nodes[history.node_index].input_tensors)
    return order


# --------------------------------------------------------------- compiled step
def _make_post(thresholds, n_checked, pack):
    """The function applied in the compiled step to the tap's outputs.

    ``thresholds`` holds one threshold per recorded tensor: a float, or a
    float64 vector of one per node (per-unit rules).

    ``outputs`` = ``n_checked`` tensors whose finiteness is checked per sample
    (those of a floating dtype), then the recorded tensors.  Returns
    ``(bad, spikes)``: ``bad`` is bool ``(batch, n_checked)`` (True where a
    sample has a NaN/Inf anywhere in that tensor) or None; ``spikes`` a list of
    bool ``(batch, n_nodes)`` or, packed, uint8 ``(batch, ceil(n_nodes / 8))``
    in ``np.packbits`` order.  Dtypes are read from the traced tensors (a
    Lambda layer may declare float32 and return int32).
    """
    import keras
    from keras import ops

    weights = np.array([128, 64, 32, 16, 8, 4, 2, 1], dtype=np.int32)

    def flat(t):
        return ops.reshape(t, (ops.shape(t)[0], -1))

    def not_finite(t):
        if not _is_floating(keras.backend.standardize_dtype(t.dtype)):
            return ops.zeros((ops.shape(t)[0],), dtype="bool")
        return ops.logical_not(ops.all(ops.isfinite(flat(t)), axis=1))

    def post(outputs):
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]  # one output: a bare tensor
        checked, recorded = outputs[:n_checked], outputs[n_checked:]
        bad = ops.stack([not_finite(t) for t in checked], axis=1) if checked else None
        spikes = []
        for t, threshold in zip(recorded, thresholds, strict=True):
            f = flat(t)
            dtype = keras.backend.standardize_dtype(t.dtype)
            if dtype == "bool":
                f, dtype = ops.cast(f, "int8"), "int8"
            t_d = threshold_for_dtype(threshold, dtype)
            if np.ndim(t_d) > 0 and not _is_floating(dtype):  # integers, per unit: -inf = every value spikes
                always = t_d == -np.inf
                info = np.iinfo(dtype)
                t_int = np.where(always, info.min, t_d).astype(dtype)
                s = ops.greater(f, ops.convert_to_tensor(t_int, dtype=dtype))
                if always.any():
                    s = ops.logical_or(s, ops.convert_to_tensor(always))
            elif isinstance(t_d, float) and t_d == -np.inf:  # integers, threshold below their range
                s = ops.ones_like(f, dtype="bool")
            else:
                s = ops.greater(f, ops.convert_to_tensor(np.asarray(t_d), dtype=dtype))
            if pack:
                n_nodes = int(np.prod(t.shape[1:]))
                pad = (-n_nodes) % 8
                u = ops.cast(s, "int32")
                if pad:
                    u = ops.pad(u, [[0, 0], [0, pad]])
                u = ops.reshape(u, (-1, (n_nodes + pad) // 8, 8))
                s = ops.cast(ops.sum(u * ops.convert_to_tensor(weights), axis=-1), "uint8")
            spikes.append(s)
        return bad, spikes

    return post


def _check_strategy(strategy, backend):
    if strategy is None:
        return
    if backend != "tensorflow":
        raise ValueError(f"strategy= is a tf.distribute strategy for the tensorflow backend; the {backend} backend "
                         f"distributes through its own means (e.g. jax.sharding)")
    if not (hasattr(strategy, "run") and hasattr(strategy, "num_replicas_in_sync")):
        raise TypeError(f"strategy must be a tf.distribute.Strategy (e.g. MirroredStrategy()), got "
                        f"{type(strategy).__name__}")


def _compile_distributed(tap, post, strategy):
    """The step of a ``tf.distribute`` strategy: each batch split in order over the replicas.

    Replica ``i`` gets the ``i``-th contiguous slice of the batch (slices differ
    by at most one sample), thresholds (and packs) on its own device, and the
    replicas' results are concatenated in replica order, so sample ``k`` stays
    time step ``k``.
    """
    import tensorflow as tf

    @tf.function
    def run(values):
        return strategy.run(lambda inputs: post(tap(inputs[0] if len(inputs) == 1 else list(inputs),
                                                    training=False)), args=(values,))

    def step(*inputs):
        n = int(inputs[0].shape[0])
        bounds = np.linspace(0, n, strategy.num_replicas_in_sync + 1).round().astype(int)

        def value_fn(context):
            i = context.replica_id_in_sync_group
            return tuple(tf.convert_to_tensor(x[bounds[i]:bounds[i + 1]]) for x in inputs)

        results = strategy.experimental_local_results(
            run(strategy.experimental_distribute_values_from_function(value_fn)))
        bad = None if results[0][0] is None else tf.concat([r[0] for r in results], axis=0)
        spikes = [tf.concat([r[1][j] for r in results], axis=0) for j in range(len(results[0][1]))]
        return bad, spikes

    return step


def _compile(tap, post, input_specs):
    """Compile ``batch -> post(tap(batch))`` with the active backend; return a host-side step."""
    keras = _keras()
    backend = keras.backend.backend()
    n_in = len(input_specs)

    def call(inputs, outputs_of):
        return post(outputs_of(inputs[0] if n_in == 1 else list(inputs)))

    if backend == "tensorflow":
        import tensorflow as tf

        signature = [tf.TensorSpec((None, *shape[1:]), dtype=dtype) for shape, dtype in input_specs]

        @tf.function(input_signature=signature)
        def step(*inputs):
            return call(inputs, lambda x: tap(x, training=False))

        return step
    if backend == "jax":
        import jax

        def pure(tv, ntv, *inputs):
            return call(inputs, lambda x: tap.stateless_call(tv, ntv, x, training=False)[0])

        jitted = jax.jit(pure)

        def step(*inputs):  # the variables' current values: the model may have been trained since
            return jitted([v.value for v in tap.trainable_variables],
                          [v.value for v in tap.non_trainable_variables], *inputs)

        return step
    if backend == "torch":
        import torch

        def step(*inputs):
            with torch.no_grad():
                tensors = [keras.ops.convert_to_tensor(x) for x in inputs]
                return call(tensors, lambda x: tap(x, training=False))

        return step
    raise ValueError(f"record supports the tensorflow, jax and torch Keras backends, not {backend!r}")


# ---------------------------------------------------------------- the recorder
def record(model, x, layers=None, batch_size=256, threshold=0.0, progress=False, *, out=None,
           overwrite=False, check_finite=True, pack=None, chunk_samples=None, strategy=None, labels=None,
           threshold_probe=None):
    """Run a Keras model over a dataset and record layers' spikes.

    Each layer's activations are thresholded inside the function compiled by
    the Keras backend (activation > threshold is a spike), batch by batch, and,
    on an accelerator or when streaming to a store, bit-packed there too, so
    only packed spikes leave the device and the float activations of the whole
    dataset are never held.  Sample ``k`` of ``x`` (in the order given) becomes
    time step ``k``.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built Keras 3 Sequential or Functional model, on the TensorFlow
        (default), JAX or PyTorch backend; or a plain PyTorch module, recorded
        through forward hooks by :func:`ann2neo.torch.record` (module names
        from ``named_modules()``).
    x : array_like, list or dict of arrays, tf.data.Dataset, keras.utils.PyDataset or iterable
        Inputs, shape ``(n_samples, *input_shape)`` for each model input
        (a list in the order of ``model.inputs`` or a dict keyed by input name
        for a multi-input model).  A dataset, ``PyDataset``, generator or
        other iterable yields batches, each ``x`` or ``(x, y)`` or
        ``(x, y, sample_weight)`` as in ``model.predict``; ``batch_size`` then
        does not apply.
    layers : str, list of str or "all", optional
        Names of the layers to record; default the last hidden layer
        (:func:`default_layer`, which says where it is ambiguous), as in
        arXiv:2308.00858 section 3.1.
        ``"all"`` records every layer with one output in the same forward
        pass.  A layer called several times in the model (a shared layer) is
        named per call: ``"name#0"``, ``"name#1"``.
    batch_size : int, default 256
        Samples per batch for array inputs (>= 1).
    threshold : float, "median", ("quantile", q) or ("fraction_of_max", f), default 0.0
        Spike threshold: a node spikes when its activation is strictly greater.
        A number is one threshold for every node (the paper's rule: 0).  The
        rules set one threshold per node, estimated on ``threshold_probe``
        (:func:`ann2neo.unit_thresholds`): ``"median"`` (= ``("quantile",
        0.5)``), the node's ``q``-quantile, or ``f`` times its maximum.
        See the Notes for which to use after ReLU, GELU, tanh and LayerNorm.
        The comparison is exact whatever the layer dtype (float16, bfloat16,
        float32, int...): see ``ann2neo.core.binarize.threshold_for_dtype``.
    progress : bool, default False
        Show a tqdm progress bar over batches.
    out : str or path-like, optional
        Stream the spikes to a chunked Zarr store at this path instead of
        returning them (see :mod:`ann2neo.io.store`); memory then scales with
        the batch, not the dataset.
    overwrite : bool, default False
        Replace an existing store at ``out``.
    check_finite : bool, default True
        Check every input batch (on the host), the weights of every layer on
        the path to the recorded layers, and their outputs (in the compiled
        step) for NaN/Inf.
    pack : bool, optional
        Bit-pack spikes in the compiled step.  Default: when the model runs on
        an accelerator or ``out`` is given (on a CPU the host is the device
        and packing would only add work).
    chunk_samples : int, optional
        Samples per Zarr chunk with ``out``; default about 4 MiB of packed
        spikes per chunk.
    strategy : tf.distribute.Strategy, optional
        TensorFlow backend, several devices: e.g. ``tf.distribute.MirroredStrategy()``
        over all visible GPUs, with the model built or loaded under
        ``strategy.scope()``.  Each batch is split in order over the replicas,
        each replica thresholds (and packs) its slice on its own device, and
        the results are concatenated in replica order (sample ``k`` stays time
        step ``k``); use a ``batch_size`` that is a multiple of
        ``strategy.num_replicas_in_sync``.
    labels : array_like, shape (n_samples,) or one-hot (n_samples, n_classes), optional
        Label of each sample of ``x``, in order.  Only used to check the
        order: an :class:`ann2neo.OrderWarning` when they come sorted or in
        runs (:func:`ann2neo.core.order.check_order`).
    threshold_probe : int or array_like, optional
        With a per-unit ``threshold`` rule: the samples it is estimated on,
        either a number of leading samples of ``x`` (default 1000, or all if
        fewer) or the probe inputs themselves (needed when ``x`` is a
        dataset or an iterable).  Which probe was used is stated in each
        result's ``threshold_rule`` (and in a store's attributes).

    Returns
    -------
    dict of str to SpikeMatrix, or pathlib.Path
        For each layer, in the order requested, a boolean matrix
        ``(n_samples, n_nodes)``, nodes being the C-order flattening of the
        layer's per-sample output shape (kept as ``layer_shape``), with
        ``layer`` (its name: with the default, the layer that was chosen) and
        ``threshold`` (a float, or the per-unit float64 vector of a rule,
        described by ``threshold_rule``).  With
        ``out``, the path of the completed store (read it with
        :func:`ann2neo.io.store.read_store`).

    Raises
    ------
    TypeError
        For a subclassed model (names the alternative), non-numeric input, a
        ``batch_size`` that is not a number (``"8"``) or a non-real threshold.
    ValueError
        For an unknown layer name (lists the model's layers), a shared layer
        named without its call, an unbuilt model, a ``batch_size`` < 1 or not
        whole (``2.7``), inputs that do not match
        the model (names the expected shapes), empty input,
        or NaN/Inf in an input or in the activations of a layer on the path
        (names the samples and layers).
    FileExistsError
        If ``out`` exists and ``overwrite`` is False.

    Notes
    -----
    Why every layer on the path is checked: on CPUs with AVX-512, TensorFlow's
    oneDNN fuses MatMul/Conv + bias + ReLU in graph mode and the fused ReLU maps
    NaN to 0, so a NaN input would otherwise come out of a ReLU layer as a
    silent sample (issue #7).  A layer's inputs are the outputs of the layers
    before it; they are checked, and so is every input batch, whatever the
    backend fuses.  Outputs of layers that only move, select or take the
    maximum of values (Flatten, Reshape, Concatenate, Dropout, MaxPooling, ...)
    are finite when their inputs are, so only their inputs are checked.
    The weights of every layer on the path are checked once per call.  Left
    unseen: NaN created *inside* a fused op from finite inputs and weights (an
    overflow to ``inf - inf``), which the backend does not expose.

    Only whole batches of packed bits (or, on a CPU, booleans) are copied to
    the host, one batch behind the device: batch ``k + 1`` is launched before
    batch ``k`` is collected, so asynchronous backends overlap the two.  The
    compiled step is cached per model and layer set, like Keras' own predict
    function, and reads the model's current weights at every call.

    Choosing the threshold.  After ReLU, ``0`` (the default, the paper's)
    separates "off" (exactly 0) from "on".  GELU and SiLU outputs go down to
    about -0.17 and -0.28: ``0`` still separates the two branches.  tanh and
    other outputs centred on 0 make ``0`` a coin flip per unit, and
    LayerNorm (or BatchNorm) outputs are centred and scaled by construction,
    so about half of them are above 0 whatever the unit codes: use a
    per-unit rule there, e.g. ``threshold=("quantile", 0.9)`` (each unit
    spikes on about its top 10 % of probe samples).  A quantile fixes each
    unit's rate on the probe, so the mean firing rate then describes the
    rule, not the network; the temporal statistics and the differences
    between conditions stay informative.

    Examples
    --------
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="h"),
    ...                           keras.layers.Dense(2)])
    >>> spikes = record(model, np.ones((10, 4), "float32"))["h"]
    >>> spikes.shape, spikes.dtype
    ((10, 3), dtype('bool'))
    """
    from ..torch.recording import is_torch_module

    if is_torch_module(model):  # a plain PyTorch model: forward hooks (ann2neo.torch.record)
        from ..torch.recording import record as record_torch

        return record_torch(model, x, layers, batch_size, threshold, progress, out=out, overwrite=overwrite,
                            check_finite=check_finite, pack=pack, chunk_samples=chunk_samples, strategy=strategy,
                            labels=labels, threshold_probe=threshold_probe)
    keras = _keras()
    rule = check_threshold_rule(threshold)
    batch_size = _check_record_options(rule, threshold_probe, batch_size, out, chunk_samples, overwrite,
                                       check_finite, progress, pack)
    _check_model(model)
    check_order(labels, where="the samples fed to record", stacklevel=2)
    chosen = _resolve_layers(model, layers)
    names = [name for name, _ in chosen]
    recorded = [tensor for _, tensor in chosen]
    input_specs = [(tuple(t.shape), str(t.dtype)) for t in model.inputs]
    input_names = [t.name for t in model.inputs]
    # Integer tensors are skipped in the step, by their traced dtype.
    path = _ancestors(recorded, model.inputs)
    checked = [t for t in path if _needs_check(t)] if check_finite else []
    if check_finite:
        _check_weights(t._keras_history.operation for t in path)
    _check_fixed_shapes(chosen)
    dtypes = [str(t.dtype) for t in recorded]
    thresholds, threshold_rule = _thresholds(model, recorded, rule, x, threshold_probe, input_specs, input_names,
                                             batch_size)
    if pack is None:
        pack = out is not None or _on_accelerator()
    elif out is not None and not pack:
        raise ValueError("a store holds packed spikes: pack=False cannot be combined with out")
    step = _cached_step(keras, model, checked, recorded, thresholds, pack, strategy, input_specs)
    layer_shapes = [tuple(int(d) for d in t.shape[1:]) for t in recorded]
    n_nodes = [int(np.prod(s)) for s in layer_shapes]
    checked_names = [t._keras_history.operation.name for t in checked]

    batches, n_total = batch_source(x, batch_size, input_specs, input_names)
    if labels is not None and n_total is not None and len(labels) != n_total:
        raise ValueError(f"labels has {len(labels)} entries for the {n_total} samples of x; give one label per "
                         f"sample, in the order of x")
    if progress:
        from tqdm.auto import tqdm

        total = None if n_total is None else -(-n_total // batch_size)
        batches = tqdm(batches, total=total, desc="recording", unit="batch", leave=False)
    log.info("recording %s of %s (%s backend, %s)", names, model.name, keras.backend.backend(),
             "accelerator" if _on_accelerator() else "CPU")

    if out is not None:
        from ..io.store import _StoreWriter

        sink = _StoreWriter(out, names, layer_shapes, threshold=thresholds, model_name=model.name,
                            n_samples=n_total, chunk_samples=chunk_samples, overwrite=overwrite,
                            attrs={"backend": keras.backend.backend(), "dtypes": dtypes,
                                   "default_layer": _default_or_none(model), "threshold_rule": threshold_rule})
    else:
        sink = _MemorySink(n_nodes, n_total, packed=bool(pack))
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addFilter(_expected_retracing)
    try:
        start = _feed(keras, batches, step, sink, input_specs, input_names, check_finite, checked_names)
        if start == 0:
            raise ValueError("x yielded no samples")
        if n_total is not None and start != n_total:
            raise ValueError(f"x yielded {start} samples, expected {n_total}")
        if labels is not None and len(labels) != start:
            raise ValueError(f"labels has {len(labels)} entries for the {start} samples of x; give one label per "
                             f"sample, in the order of x")
        if out is not None:
            return sink.close(start)
    except BaseException:
        if out is not None:
            sink.abort()
        raise
    finally:
        tf_logger.removeFilter(_expected_retracing)
    matrices = sink.result(start)
    return {name: SpikeMatrix(m, layer_shape=shape, threshold=t, layer=name, threshold_rule=threshold_rule)
            for name, m, shape, t in zip(names, matrices, layer_shapes, thresholds, strict=True)}


def _check_record_options(rule, threshold_probe, batch_size, out, chunk_samples, overwrite, check_finite, progress,
                          pack):
    """Check :func:`record`'s scalar options and those that need each other; return the checked batch size."""
    if rule[0] == "absolute" and threshold_probe is not None:
        raise ValueError("threshold_probe sets the samples a per-unit threshold rule is estimated on; with a "
                         "number as threshold there is nothing to estimate: drop threshold_probe")
    batch_size = check_integer(batch_size, "batch_size", min_value=1)
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike), got {type(out).__name__}")
    if out is None and chunk_samples is not None:
        raise ValueError("chunk_samples sets the chunks of a store: give out=PATH with it")
    for flag, value in (("overwrite", overwrite), ("check_finite", check_finite), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{flag} must be True or False, got {value!r}")
    if pack is not None and not isinstance(pack, (bool, np.bool_)):
        raise TypeError(f"pack must be None, True or False, got {pack!r}")
    return batch_size


def _check_fixed_shapes(chosen):
    """Raise for a recorded layer whose output shape has a dimension unknown before running."""
    for name, t in chosen:
        if any(d is None for d in t.shape[1:]):
            raise ValueError(f"layer {name!r} has output shape {tuple(t.shape)} with unknown dimensions; "
                             f"record needs a fixed number of nodes per sample")


def _thresholds(model, recorded, rule, x, threshold_probe, input_specs, input_names, batch_size):
    """Each recorded layer's threshold (a number, or per unit estimated on the probe samples) and the rule's text."""
    if rule[0] == "absolute":
        return [rule[1]] * len(recorded), None
    probe = DEFAULT_THRESHOLD_PROBE if threshold_probe is None else threshold_probe
    arrays, where = probe_inputs(x, probe, input_specs, input_names)
    acts = _float_activations(model, recorded, arrays, batch_size)
    thresholds = [unit_thresholds(np.asarray(a), rule) for a in acts]
    threshold_rule = f"{rule[0]} {rule[1]:g} per unit on {where}"
    log.info("per-unit thresholds: %s", threshold_rule)
    return thresholds, threshold_rule


def _cached_step(keras, model, checked, recorded, thresholds, pack, strategy, input_specs):
    """The compiled step that checks ``checked`` and thresholds ``recorded``, from the model's cache or compiled."""
    # Compiled steps are cached per model, like Keras' own predict function, so that a second
    # record() of the same layers does not trace (TensorFlow) or compile (XLA on JAX) again.
    _check_strategy(strategy, keras.backend.backend())
    threshold_key = tuple(t if np.ndim(t) == 0 else (t.size, t.tobytes()) for t in thresholds)
    key = (keras.backend.backend(), tuple(id(t) for t in checked + recorded), threshold_key, bool(pack),
           id(strategy))
    cache = _STEPS.setdefault(model, {})
    if key not in cache:
        tap = keras.Model(model.inputs, checked + recorded, name=f"{model.name}_recorder")
        post = _make_post(thresholds, len(checked), bool(pack))
        cache[key] = _compile(tap, post, input_specs) if strategy is None else \
            _compile_distributed(tap, post, strategy)
    return cache[key]


def _feed(keras, batches, step, sink, input_specs, input_names, check_finite, checked_names):
    """Run the step on every batch and write its spikes to ``sink``; return the number of samples fed."""
    start = 0
    pending = None
    for batch in batches:
        arrays = resolve_inputs(batch, input_specs, input_names, start, check_finite)
        launched = (start, step(*arrays))
        # Collect the previous batch only after launching this one: asynchronous backends
        # (JAX, TensorFlow on a GPU) compute batch k+1 while the host stores batch k.
        if pending is not None:
            _collect(keras, sink, pending, checked_names)
        pending = launched
        start += arrays[0].shape[0]
    if pending is not None:
        _collect(keras, sink, pending, checked_names)
    return start


def _collect(keras, sink, pending, checked_names):
    """Host side of one batch: the only device -> host transfer (flags and spikes, packed or bool)."""
    first, (bad, spikes) = pending
    if bad is not None:
        bad = keras.ops.convert_to_numpy(bad)
        if bad.any():
            _raise_nonfinite(bad, first, checked_names)
    sink.write(first, [keras.ops.convert_to_numpy(s) for s in spikes])


def _float_activations(model, tensors, arrays, batch_size):
    """Float outputs of ``tensors`` on input ``arrays`` (one per model input), batch by batch.

    Compiled by the backend like :func:`record`'s own step (one trace per
    call, with a batch dimension left open), not with ``predict``: a new
    tap's ``predict`` function traces again at every call and TensorFlow
    warns about retracing.
    """
    keras = _keras()
    tap = keras.Model(model.inputs, list(tensors))
    specs = [(tuple(t.shape), str(t.dtype)) for t in model.inputs]

    def identity(outputs):
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    step = _compile(tap, identity, specs)
    n = arrays[0].shape[0]
    parts = [[] for _ in tensors]
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addFilter(_expected_retracing)
    try:
        for i in range(0, n, batch_size):
            outs = step(*[a[i:i + batch_size] for a in arrays])
            for part, o in zip(parts, outs, strict=True):
                part.append(keras.ops.convert_to_numpy(o))
    finally:
        tf_logger.removeFilter(_expected_retracing)
    return [np.concatenate(p) for p in parts]


def _default_or_none(model):
    """The model's default layer for a store's attributes; None where :func:`default_layer` refuses."""
    try:
        return default_layer(model)
    except ValueError:
        return None


def _check_weights(layers):
    """Raise if a layer on the path holds NaN/Inf weights (a fused op would hide what they produce)."""
    from keras import ops

    seen = set()
    for layer in layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        for v in getattr(layer, "weights", []):
            if _is_floating(str(v.dtype)) and not bool(ops.convert_to_numpy(ops.all(ops.isfinite(v.value)))):
                raise ValueError(f"layer {layer.name!r} has NaN or Inf in its weights ({v.path}); its "
                                 f"activations would be NaN, and a fused ReLU would show them as silence")


def _raise_nonfinite(bad, start, checked_names):
    rows = np.flatnonzero(bad.any(axis=1))
    samples = (rows + start).tolist()
    shown = ", ".join(map(str, samples[:10])) + (f", ... ({len(samples)} in all)" if len(samples) > 10 else "")
    first = bad[rows[0]]
    layers = [checked_names[i] for i in np.flatnonzero(first)]
    raise ValueError(f"non-finite activations (NaN or Inf) at sample(s) {shown} of the batch starting at "
                     f"sample {start}, first in layer(s) {layers}; a NaN is neither a spike nor silence: "
                     f"check the model's weights and inputs")


def _on_accelerator() -> bool:
    keras = _keras()
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))
        if backend == "jax":
            import jax

            return jax.default_backend() != "cpu"
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a failing device query means no accelerator to use
        return False
    return False


class _MemorySink:
    """Spikes in memory: preallocated when the sample count is known, else grown by doubling."""

    def __init__(self, n_nodes, n_total, packed):
        self.n_nodes, self.packed = n_nodes, packed
        self.capacity = n_total if n_total is not None else 0
        self.buffers = [np.empty((self.capacity, n), dtype=bool) for n in n_nodes]

    def write(self, start, spikes):
        n = spikes[0].shape[0]
        if start + n > self.capacity:
            self.capacity = max(start + n, 2 * self.capacity)
            for i, buf in enumerate(self.buffers):
                grown = np.empty((self.capacity, buf.shape[1]), dtype=bool)
                grown[:start] = buf[:start]
                self.buffers[i] = grown
        for buf, s, n_nodes in zip(self.buffers, spikes, self.n_nodes, strict=True):
            if self.packed:
                buf[start:start + n] = np.unpackbits(s, axis=1, count=n_nodes).view(bool)
            else:
                buf[start:start + n] = s

    def result(self, n):
        return [buf if buf.shape[0] == n else buf[:n].copy() for buf in self.buffers]

