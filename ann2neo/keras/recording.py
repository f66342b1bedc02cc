"""Record thresholded layer activations of a Keras model, batch by batch.

TensorFlow is imported here only, on first use.
"""
from __future__ import annotations

import logging

import numpy as np

from ..core.binarize import SpikeMatrix, check_threshold

__all__ = ["record", "last_hidden_layer"]

log = logging.getLogger(__name__)


def _expected_retracing(record_) -> bool:
    """Logging filter: each record() call traces its own graph once, by design."""
    return "triggered tf.function retracing" not in record_.getMessage()


def _keras():
    import keras  # Keras 3, TensorFlow backend

    return keras


def last_hidden_layer(model) -> str:
    """Name of the last hidden layer: the layer feeding the model's output layer.

    For the paper's MLP (Flatten -> Dense(width) -> Dense(10)) this is the
    hidden Dense layer (arXiv:2308.00858 section 3.1 observes "the last hidden layer").

    Raises
    ------
    ValueError
        If the model has fewer than two layers.
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if len(layers) < 2:
        raise ValueError(f"model {model.name!r} has no hidden layer to record")
    return layers[-2].name


def _check_model(model):
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"record needs a keras.Model, got {type(model).__name__}")
    is_functional = type(model).__name__ in ("Functional", "Sequential") or isinstance(model, keras.Sequential)
    if not is_functional:
        raise TypeError(
            f"record needs a Sequential or Functional Keras model to tap inner layers; "
            f"{type(model).__name__} is a subclassed model whose layer outputs are not part of a "
            f"graph. Rebuild it with the Functional API, or compute the activations yourself "
            f"(e.g. a method returning them) and pass them to ann2neo.binarize."
        )
    try:
        model.inputs
    except (AttributeError, ValueError) as err:
        raise ValueError(f"model {model.name!r} is not built: give it an Input layer or call "
                         f"model.build(input_shape) before recording ({err})") from None


def _submodel(model, layers):
    keras = _keras()
    names = [layer.name for layer in model.layers]
    outputs = []
    for name in layers:
        if name not in names:
            raise ValueError(f"model {model.name!r} has no layer {name!r}; its layers are {names}")
        outputs.append(model.get_layer(name).output)
    return keras.Model(model.inputs, outputs, name=f"{model.name}_recorder")


def _batches(x, batch_size):
    """Yield input batches from an array or a batched tf.data.Dataset; and the sample count if known."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        def gen():
            for element in x:
                yield element[0] if isinstance(element, (tuple, list)) else element
        return gen(), None
    if isinstance(x, (list, tuple, dict)):
        raise TypeError("record takes one input array or a tf.data.Dataset (multi-input models are not supported)")
    arr = np.asarray(x)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"x holds no samples (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be numeric, got dtype {arr.dtype}")
    return (arr[i:i + batch_size] for i in range(0, arr.shape[0], batch_size)), arr.shape[0]


def record(model, x, layers=None, batch_size=256, threshold=0.0, progress=False) -> dict[str, SpikeMatrix]:
    """Run a Keras model over a dataset and record layers' spikes.

    Each layer's activations are thresholded inside the TensorFlow graph
    (activation > threshold is a spike), batch by batch, so only boolean spikes
    leave the device and the float activations of the whole dataset are never
    held.  TensorFlow places the model on a GPU when it sees one, else on CPU.
    Sample ``k`` of ``x`` (in the order given) becomes time step ``k``.

    Parameters
    ----------
    model : keras.Model
        A built Keras 3 Sequential or Functional model (TensorFlow backend).
    x : ndarray, shape (n_samples, *input_shape), or tf.data.Dataset
        Inputs; a dataset must be batched and may yield ``(x, y)`` pairs.
    layers : str or list of str, optional
        Names of the layers to record; default the last hidden layer
        (:func:`last_hidden_layer`), as in arXiv:2308.00858 section 3.1.
    batch_size : int, default 256
        Batch size for array inputs.
    threshold : float, default 0.0
        Spike threshold.
    progress : bool, default False
        Show a tqdm progress bar over batches.

    Returns
    -------
    dict of str to SpikeMatrix
        For each layer, in the order requested, a boolean matrix
        ``(n_samples, n_nodes)``, nodes being the C-order flattening of the
        layer's per-sample output shape (kept as ``layer_shape``).

    Raises
    ------
    TypeError
        For a subclassed model (names the alternative) or non-numeric input.
    ValueError
        For an unknown layer name (lists the model's layers), an unbuilt model,
        empty input, or a batch producing NaN/Inf activations.
    """
    import tensorflow as tf

    threshold = check_threshold(threshold)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    _check_model(model)
    if layers is None:
        layers = [last_hidden_layer(model)]
    elif isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("no layers to record")
    tap = _submodel(model, layers)

    spec = tap.inputs[0]
    signature = [tf.TensorSpec((None, *spec.shape[1:]), dtype=spec.dtype)]

    # One trace per record() call: the batch dimension is left open.
    @tf.function(input_signature=signature)
    def step(batch):
        outputs = tap(batch, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        spikes, finite = [], []
        for out in outputs:
            flat = tf.reshape(out, (tf.shape(out)[0], -1))
            spikes.append(tf.greater(flat, tf.cast(threshold, flat.dtype)))
            finite.append(tf.reduce_all(tf.math.is_finite(flat)))
        return spikes, tf.stack(finite)

    batches, n_total = _batches(x, int(batch_size))
    if progress:
        from tqdm.auto import tqdm

        total = None if n_total is None else -(-n_total // int(batch_size))
        batches = tqdm(batches, total=total, desc="recording", unit="batch", leave=False)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    log.info("recording %s of %s on %s", layers, model.name, device)
    chunks = [[] for _ in layers]
    start = 0
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addFilter(_expected_retracing)
    try:
        for batch in batches:
            spikes, finite = step(tf.cast(batch, spec.dtype))
            finite = finite.numpy()
            if not finite.all():
                bad = [layers[i] for i in np.flatnonzero(~finite)]
                raise ValueError(f"non-finite activations (NaN or Inf) in layer(s) {bad} in the batch "
                                 f"starting at sample {start}; check the model and inputs")
            for chunk, s in zip(chunks, spikes):
                chunk.append(s.numpy())
            start += chunks[0][-1].shape[0]
    finally:
        tf_logger.removeFilter(_expected_retracing)
    if start == 0:
        raise ValueError("x yielded no samples")
    result = {}
    for name, chunk, out in zip(layers, chunks, tap.outputs):
        layer_shape = tuple(int(d) for d in out.shape[1:])
        result[name] = SpikeMatrix(np.concatenate(chunk, axis=0), layer_shape=layer_shape,
                                   threshold=threshold, layer=name)
    return result
