"""pytest configuration for the doctests: ``python -m pytest --doctest-modules --doctest-glob="*.md" ann2neo docs``.

The Examples sections of the docstrings, and the ``>>>`` examples of the pages in ``docs/``,
run as doctests in CI (``.ci/run``).  Each runs in a fresh temporary folder (an Example that
writes a file leaves nothing behind), with ``np``, ``pq`` and ``ann2neo`` already imported.
``ann2neo/keras/monitor.py`` is not collected: it subclasses ``keras.callbacks.Callback``, so
importing it imports Keras and TensorFlow (seconds, and hundreds of MB), and its Example trains
a network (``+SKIP``).  No other module imports TensorFlow at import time; of the Examples, only
:func:`ann2neo.keras.record`'s imports Keras (it runs a small model).
"""
import numpy as np
import pytest
import quantities as pq
from _pytest.doctest import DoctestItem

collect_ignore = ["ann2neo/keras/monitor.py", "docs/conf.py", "docs/_build", "docs/jupyter_execute"]


@pytest.fixture(autouse=True)
def _doctest_environment(request, doctest_namespace):
    if isinstance(request.node, DoctestItem):
        import ann2neo

        doctest_namespace.update(np=np, pq=pq, ann2neo=ann2neo)
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
    yield
