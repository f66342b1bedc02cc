"""The paper's architectures and network conditions (arXiv:2308.00858 section 3.1).

:data:`CONDITION_TABLE` has one row per paper condition: where its weights
start, which labels it is trained on and which layers train.  Everything else
(the CLI choices, the training order, which conditions coincide for an
architecture) is derived from it.

Training as in section 3.1.2: SGD, learning rate 0.1, no momentum, batch 256,
10% validation split.  TensorFlow/Keras are imported inside the functions.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Condition", "CONDITION_TABLE", "CONDITIONS", "ARCHITECTURES", "HIDDEN", "build_model", "build_mlp",
           "parameter_count", "check_model_memory",
           "compile_model", "train", "trainable_layers", "coinciding", "train_conditions"]

log = logging.getLogger("ann2neo.reproduce")

#: Name of the observed (last hidden) Dense layer in every architecture.
HIDDEN = "hidden"
ARCHITECTURES = ("mlp", "cnn", "densenet121")


@dataclass(frozen=True)
class Condition:
    """One row of the paper's conditions.

    Attributes
    ----------
    name : str
    start : {"random", "Generalizing"}
        Initial weights: the untrained network, or the trained Generalizing one.
    labels : {"true", "shuffled"}
        Training labels (shuffled: one fixed permutation of the train labels).
    trainable : {"none", "all", "last_two"}
        Which weight layers train (``none``: not trained at all).
    description : str
    """

    name: str
    start: str
    labels: str
    trainable: str
    description: str


CONDITION_TABLE = (
    Condition("Random", "random", "true", "none", "untrained, random initialization"),
    Condition("Generalizing", "random", "true", "all", "trained on the true labels"),
    Condition("MemRetrainLast", "Generalizing", "shuffled", "last_two",
              "Generalizing weights, all layers frozen but the last two, retrained on shuffled labels"),
    Condition("MemRandomLast", "random", "shuffled", "last_two",
              "random weights, all layers frozen but the last two, trained on shuffled labels"),
    Condition("MemRetrainAll", "Generalizing", "shuffled", "all",
              "Generalizing weights, nothing frozen, retrained on shuffled labels"),
)
CONDITIONS = tuple(c.name for c in CONDITION_TABLE)
_BY_NAME = {c.name: c for c in CONDITION_TABLE}

_DENSENET_WEIGHTS = "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _densenet_weights():
    """``"imagenet"`` when Keras' ImageNet DenseNet121 weights are cached locally, else None (with a message)."""
    import os

    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / _DENSENET_WEIGHTS
    if cache.exists():
        return "imagenet"
    log.warning("DenseNet121 ImageNet weights not found at %s (no download is attempted); using weights=None, "
                "a randomly initialized feature extractor, unlike the paper", cache)
    return None


def build_model(architecture, input_shape, width=128, n_classes=10, seed=0):
    """Build one of the paper's architectures with the observed layer named ``"hidden"``.

    Parameters
    ----------
    architecture : {"mlp", "cnn", "densenet121"}
        ``mlp``: Flatten -> Dense(width, relu) -> Dense(n_classes, softmax).
        ``cnn``: Conv2D(32, 3, relu) -> Flatten -> Dense(width, relu) -> Dense.
        ``densenet121``: ``keras.applications.DenseNet121(include_top=False)``
        (ImageNet weights when cached locally, else ``weights=None``) ->
        Flatten -> Dense(width, relu) -> Dense.
    input_shape : tuple of int
        One sample's shape; 2-D images get a channel axis for cnn/densenet121.
    width : int, default 128
    n_classes : int, default 10
    seed : int, default 0

    Returns
    -------
    keras.Model
    """
    import keras

    keras.utils.set_random_seed(seed)
    shape = tuple(int(s) for s in input_shape)
    inputs = keras.Input(shape=shape)
    x = inputs
    if architecture in ("cnn", "densenet121") and len(shape) == 2:
        x = keras.layers.Reshape(shape + (1,), name="channel")(x)
        shape = shape + (1,)
    if architecture == "mlp":
        pass
    elif architecture == "cnn":
        x = keras.layers.Conv2D(32, 3, activation="relu", name="conv")(x)
    elif architecture == "densenet121":
        if shape[-1] != 3:
            x = keras.layers.Concatenate(name="rgb")([x] * 3) if shape[-1] == 1 else x
        base = keras.applications.DenseNet121(include_top=False, weights=_densenet_weights(),
                                              input_shape=shape[:-1] + (3,))
        base._name = "densenet121"
        x = base(x)
    else:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(width, activation="relu", name=HIDDEN)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=f"{architecture}{width}")


#: Weights of Keras' DenseNet121 feature extractor (include_top=False), whatever the input size.
_DENSENET_FEATURE_PARAMS = 7_037_504


def parameter_count(architecture, input_shape, width=128, n_classes=10) -> int:
    """Number of weights :func:`build_model` creates, computed without building it (no TensorFlow).

    Parameters
    ----------
    architecture : {"mlp", "cnn", "densenet121"}
    input_shape : tuple of int
        One sample's shape (as for :func:`build_model`).
    width, n_classes : int

    Returns
    -------
    int
        Trainable and non-trainable weights together (Keras' ``count_params``).

    Examples
    --------
    >>> parameter_count("mlp", (8, 8), width=16, n_classes=10)  # 64*16 + 16 + 16*10 + 10
    1210
    """
    shape = tuple(int(s) for s in input_shape)
    if architecture in ("cnn", "densenet121") and len(shape) == 2:
        shape = shape + (1,)
    if architecture == "mlp":
        features, base = int(np.prod(shape)), 0
    elif architecture == "cnn":
        h, w, c = shape[0], shape[1], shape[-1]
        features, base = max(h - 2, 0) * max(w - 2, 0) * 32, 3 * 3 * c * 32 + 32
    elif architecture == "densenet121":
        features, base = 1024 * (shape[0] // 32) * (shape[1] // 32), _DENSENET_FEATURE_PARAMS
    else:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    return base + features * width + width + width * n_classes + n_classes


def _physical_memory() -> int:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: no estimate, no refusal
        return 0


def check_model_memory(architecture, input_shape, width, n_classes, n_models, memory=None) -> int:
    """Refuse a network too large for this machine, before it is built.

    Parameters
    ----------
    architecture : {"mlp", "cnn", "densenet121"}
        As for :func:`build_model`.
    input_shape : tuple of int
        As for :func:`build_model`.
    width : int
        As for :func:`build_model`.
    n_classes : int
        As for :func:`build_model`.
    n_models : int
        Networks the run keeps at once (the untrained base, one clone per
        condition, the training-dynamics network).
    memory : int, optional
        Bytes available; default this machine's physical memory.

    Returns
    -------
    int
        Estimated bytes: 4 per float32 weight, for ``n_models`` networks plus
        two more copies while training (gradients, the weights copied into a
        clone).

    Raises
    ------
    ValueError
        If the estimate exceeds ``memory``; the message gives the parameter
        count and the estimate.

    Examples
    --------
    >>> check_model_memory("mlp", (8, 8), 16, 10, n_models=3, memory=10**9)
    24200
    """
    params = parameter_count(architecture, input_shape, width, n_classes)
    need = 4 * params * (int(n_models) + 2)
    memory = _physical_memory() if memory is None else int(memory)
    if memory and need > memory:
        raise ValueError(f"width {width} gives a {architecture} network of {params:,} weights on inputs of shape "
                         f"{tuple(input_shape)}: about {need / 2**30:,.1f} GiB for the {n_models} networks this "
                         f"run keeps, more than this machine's {memory / 2**30:,.1f} GiB of memory; choose a "
                         f"smaller --width")
    return need


def build_mlp(input_shape, width=128, n_classes=10, seed=0):
    """The paper's MLP (``build_model("mlp", ...)``)."""
    return build_model("mlp", input_shape, width, n_classes, seed)


def compile_model(model, learning_rate=0.1):
    """Compile with the paper's optimizer: SGD(lr=0.1, momentum=0), sparse categorical cross-entropy."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _weighted(model):
    """Layers with weights, nested models (DenseNet) counted as their own weighted layers."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out.extend(sub for sub in layer.layers if sub.weights)
        elif layer.weights:
            out.append(layer)
    return out


def trainable_layers(model, trainable):
    """Names of the weight layers that train under ``trainable`` ("none", "all", "last_two")."""
    weighted = [layer.name for layer in _weighted(model)]
    return {"none": [], "all": weighted, "last_two": weighted[-2:]}[trainable]


def _set_trainable(model, trainable):
    names = set(trainable_layers(model, trainable))
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            layer.trainable = True
            for sub in layer.layers:
                sub.trainable = sub.name in names
        else:
            layer.trainable = layer.name in names


def coinciding(model, conditions=CONDITIONS):
    """Conditions that are the same network for this architecture.

    Two conditions coincide when they start from the same weights, train on
    the same labels and train the same layers, e.g. MemRetrainLast and
    MemRetrainAll for the one-hidden-layer MLP, whose "last two layers" are
    all its weight layers.

    Returns
    -------
    dict of str to str
        ``{condition: the earlier condition it coincides with}``.
    """
    seen, same = {}, {}
    for name in conditions:
        c = _BY_NAME[name]
        key = (c.start, c.labels, tuple(trainable_layers(model, c.trainable)) if c.trainable != "none" else ())
        if key in seen:
            same[name] = seen[key]
        else:
            seen[key] = name
    return same


def train(model, x, y, epochs, batch_size=256, validation_split=0.1, callbacks=(), seed=0):
    """Fit with the paper's settings (shuffled batches, no verbose output); returns the Keras History."""
    import keras

    keras.utils.set_random_seed(seed)
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split,
                     shuffle=True, verbose=0, callbacks=list(callbacks))


def train_conditions(conditions, base, x_train, y_train, shuffled_labels, epochs, *, seed=0, batch_size=256,
                     learning_rate=0.1, validation_split=0.1, callbacks=None):
    """Build the networks of the requested conditions from the untrained ``base`` model.

    Conditions are trained in :data:`CONDITION_TABLE` order; the Generalizing
    network is trained once and shared by the conditions that start from it,
    and a condition that coincides with an earlier one (:func:`coinciding`)
    reuses that network instead of training a copy.

    Parameters
    ----------
    conditions : sequence of str
        Names from :data:`CONDITIONS`.
    base : keras.Model
        The randomly initialized model (not modified).
    x_train, y_train : ndarray
        Training inputs and true labels.
    shuffled_labels : ndarray
        A fixed permutation of ``y_train`` used by all memorizing conditions.
    epochs : dict
        ``{"true": n, "shuffled": m}``: epochs on the true and on the shuffled labels.
    seed : int, default 0
        Seed set before each training run (batch order, validation split).
    batch_size : int, default 256
        Training batch size (paper: 256).
    learning_rate : float, default 0.1
        SGD learning rate (paper: 0.1).
    validation_split : float, default 0.1
        Fraction of the training samples held out for validation (paper: 0.1).
    callbacks : callable, optional
        ``callbacks(condition, epochs)`` returning a list of Keras callbacks.

    Returns
    -------
    dict of str to dict
        For each condition: ``model``, ``labels`` (the training labels),
        ``label_kind`` ("true"/"shuffled"), ``history`` (dict of lists, or
        None when untrained), ``same_as`` (the condition it coincides with, or None).

    Raises
    ------
    ValueError
        For an unknown condition.
    """
    import keras

    unknown = [c for c in conditions if c not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; choose from {CONDITIONS}")
    same = coinciding(base, conditions)

    def clone(model, trainable):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        _set_trainable(copy, trainable)
        return compile_model(copy, learning_rate)

    def fit(c, model):
        labels = y_train if c.labels == "true" else shuffled_labels
        n = epochs[c.labels]
        extra = callbacks(c.name, n) if callbacks else []
        history = train(model, x_train, labels, n, batch_size, validation_split, extra, seed)
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}

    built = {}
    need_generalizing = any(_BY_NAME[c].start == "Generalizing" for c in conditions)
    order = [c for c in CONDITIONS if c in conditions or (c == "Generalizing" and need_generalizing)]
    for name in order:
        c = _BY_NAME[name]
        if name in same:
            built[name] = {**built[same[name]], "same_as": same[name]}
            log.info("%s coincides with %s for %s (same start, labels and trainable layers): not trained again",
                     name, same[name], base.name)
            continue
        start = base if c.start == "random" else built["Generalizing"]["model"]
        model = clone(start, c.trainable if c.trainable != "none" else "all")
        history = fit(c, model) if c.trainable != "none" else None
        built[name] = {"model": model, "labels": y_train if c.labels == "true" else shuffled_labels,
                       "label_kind": c.labels, "history": history, "same_as": None}
    return {name: built[name] for name in conditions}
