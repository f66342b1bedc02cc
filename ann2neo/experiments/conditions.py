"""The paper's network conditions (arXiv:2308.00858 section 3.1).

* ``Random`` — the untrained, randomly initialized network;
* ``Generalizing`` — trained on the true labels;
* ``MemRetrainLast`` — the Generalizing network retrained on shuffled labels,
  all layers frozen except the last two;
* ``MemRetrainAll`` — the Generalizing network retrained on shuffled labels, nothing frozen;
* ``MemRandomLast`` — a random network trained on shuffled labels, all layers
  frozen except the last two.

Training as in section 3.1.2: SGD, learning rate 0.1, no momentum, batch 256,
10% validation split.  (For the paper's one-hidden-layer MLP the "last two
layers" are all its weight layers.)
"""
from __future__ import annotations

__all__ = ["CONDITIONS", "build_mlp", "compile_model", "train", "train_conditions"]

CONDITIONS = ("Random", "Generalizing", "MemRetrainLast", "MemRandomLast", "MemRetrainAll")


def build_mlp(input_shape, width=128, n_classes=10, seed=0):
    """The paper's MLP: Flatten -> Dense(width, relu, name="hidden") -> Dense(n_classes, softmax)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(width, activation="relu", name="hidden"),
        keras.layers.Dense(n_classes, activation="softmax", name="output"),
    ], name=f"mlp{width}")


def compile_model(model, learning_rate=0.1):
    """Compile with the paper's optimizer: SGD(lr=0.1, momentum=0)."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _freeze_all_but_last_two(model):
    weighted = [layer for layer in model.layers if layer.weights]
    for layer in model.layers:
        layer.trainable = layer in weighted[-2:]


def train(model, x, y, epochs, batch_size=256, validation_split=0.1, progress=None, seed=0):
    """Fit with the paper's settings; returns the Keras History."""
    import keras

    keras.utils.set_random_seed(seed)
    callbacks = [progress] if progress is not None else []
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split,
                     shuffle=True, verbose=0, callbacks=callbacks)


def train_conditions(conditions, base, x_train, y_train, shuffled_labels, epochs, seed=0, progress=None):
    """Build the networks of the requested conditions from the untrained ``base`` model.

    The Generalizing network is trained once and shared by the conditions that
    start from it (MemRetrainLast, MemRetrainAll).

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
        ``{"Generalizing": n, "memorize": m}``.
    seed : int
    progress : callable, optional
        ``progress(description, epochs)`` returning a Keras callback.

    Returns
    -------
    dict of str to (keras.Model, ndarray)
        For each condition, the network and the training labels it was fitted to.

    Raises
    ------
    ValueError
        For an unknown condition.
    """
    import keras

    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; choose from {CONDITIONS}")

    def clone(model, freeze=False):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        if freeze:
            _freeze_all_but_last_two(copy)
        return compile_model(copy)

    def fit(model, labels, name, n):
        train(model, x_train, labels, n, progress=progress(name, n) if progress else None, seed=seed)
        return model

    networks = {}
    generalizing = None
    if any(c in conditions for c in ("Generalizing", "MemRetrainLast", "MemRetrainAll")):
        generalizing = fit(clone(base), y_train, "Generalizing", epochs["Generalizing"])
    for condition in conditions:
        if condition == "Random":
            networks[condition] = (clone(base), y_train)
        elif condition == "Generalizing":
            networks[condition] = (generalizing, y_train)
        else:
            start = base if condition == "MemRandomLast" else generalizing
            model = clone(start, freeze=condition != "MemRetrainAll")
            networks[condition] = (fit(model, shuffled_labels, condition, epochs["memorize"]), shuffled_labels)
    return networks
