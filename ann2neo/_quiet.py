"""Quiet TensorFlow start-up: no C++/absl lines on stderr unless asked for.

TensorFlow prints, from C++ and below Python, a notice per loaded library
("Could not find cuda drivers", oneDNN / CPU-feature notices, "All log
messages before absl::InitializeLog() ...") and, on a machine without a GPU,
"failed call to cuInit".  ``TF_CPP_MIN_LOG_LEVEL`` silences those that go
through TensorFlow's logger (cuInit, oneDNN); the lines written before absl's
logging is initialised ignore it.  Importing ann2neo therefore

1. sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set it (their value is
   never overridden), and
2. if TensorFlow is not imported yet, installs a one-shot import hook: while
   the ``tensorflow`` package itself is first imported (by ann2neo, by Keras
   or by the user), file descriptor 2 is captured, and afterwards every
   captured line is written back to stderr except those matching
   :data:`NOISE` (TensorFlow's start-up notices only; anything else,
   including a real error, is kept).

Both steps are skipped, and TensorFlow's own behaviour is left as it is,
when the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves, when
``ANN2NEO_TF_LOGS=1`` is set, or when the ``ann2neo`` logger is enabled for
DEBUG at the moment TensorFlow is imported (``logging.basicConfig(level=
logging.DEBUG)``; ``ann2neo --verbose`` does that); the variable set in step 1
is then removed again before TensorFlow reads it.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

__all__ = ["install", "NOISE", "is_noise"]

_ENV = "TF_CPP_MIN_LOG_LEVEL"
_OURS = "3"
_set_by_us = False

#: TensorFlow start-up lines removed from stderr (whole lines; anything else is written back).
NOISE = tuple(re.compile(p) for p in (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    # absl's format: I0000 00:00:1796197638.239395    5178 cudart_stub.cc:31] Could not find cuda drivers ...
    r"[IWE]\d{4} [\d:.]+\s+\d+ (cudart_stub|cuda_dnn|cuda_fft|cuda_blas|cpu_feature_guard|port|cuda_platform|"
    r"cuda_executor|gpu_device|cpu_utils)\.cc:\d+\] .*",
    # TensorFlow's older format: 2024-01-01 00:00:00.000000: I tensorflow/core/util/port.cc:113] oneDNN ...
    r"\d{4}-\d\d-\d\d [\d:.]+: [IWE] \S*(cudart_stub|cuda_dnn|cuda_fft|cuda_blas|cpu_feature_guard|port|"
    r"cuda_platform|cuda_executor|cpu_utils)\.cc:\d+\] .*",
    r"To enable the following instructions: .* in other operations, rebuild TensorFlow with the appropriate "
    r"compiler flags\.",
))


def is_noise(line: str) -> bool:
    """Whether one stderr line is a TensorFlow start-up notice that ann2neo removes (see :data:`NOISE`)."""
    return any(p.fullmatch(line.rstrip("\r\n")) for p in NOISE)


def _verbose() -> bool:
    return os.environ.get("ANN2NEO_TF_LOGS") == "1" or logging.getLogger("ann2neo").isEnabledFor(logging.DEBUG)


def _quiet_now() -> bool:
    """Quiet TensorFlow's import: the level is still ours and nobody asked for the logs."""
    if not _set_by_us or os.environ.get(_ENV) != _OURS:
        return False
    if _verbose():
        os.environ.pop(_ENV, None)  # give TensorFlow its default (all lines), as if ann2neo had set nothing
        return False
    return True


class _FilteredLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` with fd 2 captured, then writes back what is not noise."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if not _quiet_now():
            return self.loader.exec_module(module)
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 to capture (embedded interpreters)
            return self.loader.exec_module(module)
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 2)
            try:
                return self.loader.exec_module(module)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                        if not is_noise(line)]
                if kept:
                    os.write(2, "".join(kept).encode("utf-8"))

    def __getattr__(self, name):  # everything else (get_resource_reader, is_package, ...) from the real loader
        return getattr(self.loader, name)


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder for the first import of ``tensorflow`` only; removes itself once used."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        _remove()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _FilteredLoader(spec.loader)
        return spec


def _remove():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TensorFlowFinder)]


def install():
    """Quiet TensorFlow's C++ start-up lines (see the module docstring); called when ann2neo is imported."""
    global _set_by_us
    if os.environ.get("ANN2NEO_TF_LOGS") == "1":
        return
    if _ENV not in os.environ:
        os.environ[_ENV] = _OURS
        _set_by_us = True
    if _set_by_us and "tensorflow" not in sys.modules \
            and not any(isinstance(f, _TensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TensorFlowFinder())
