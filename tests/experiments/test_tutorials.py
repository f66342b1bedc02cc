"""The tutorials run end to end offline (CI executes them; each writes into its own folder)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("[0-9][0-9]_*.py"))
#: The framework each tutorial needs (default keras); None: scikit-learn only.
FRAMEWORK = {"06": "torchvision", "07": None}
#: The tutorials that read the recordings in shared/data/real_neurons.
REAL_DATA = ("03", "07")


@pytest.mark.slow
@pytest.mark.parametrize("script", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_tutorial_runs(script, tmp_path, request):
    # Whether the framework is installed, without importing it here: torchvision's import loads triton, which
    # crashes a process that has already loaded TensorFlow; the tutorial itself runs in its own process.
    needed = FRAMEWORK.get(script.name[:2], "keras")
    if needed is not None and importlib.util.find_spec(needed) is None:
        pytest.skip(f"{needed} is not installed (the {'torch' if needed == 'torchvision' else 'keras'} extra)")
    data = request.getfixturevalue("real_neurons") if script.name[:2] in REAL_DATA else None  # skips without it
    from ann2neo._quiet import is_noise

    # as a user runs them: no TF_CPP_MIN_LOG_LEVEL of ours, ann2neo's repo first on the path
    env = {**{k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ANN2NEO_TF_LOGS")},
           "MPLBACKEND": "Agg", "PYTHONPATH": str(script.parents[1]),
           **({"ANN2NEO_REAL_NEURONS": str(data)} if data is not None else {})}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    # quiet by default (issue 16): no TensorFlow start-up notices, no Neo unit messages
    assert not [line for line in out.stderr.splitlines() if is_noise(line) or "cuInit" in line
                or "Can't handle unit" in line], out.stderr[-3000:]
    written = list((tmp_path / "tutorial-output").iterdir())
    assert written, "the tutorial wrote nothing"
    assert all(p.stat().st_size > 0 for p in written)


def test_there_are_four_tutorials():
    assert [t.name[:2] for t in TUTORIALS][:4] == ["01", "02", "03", "04"]
