"""The tutorials run end to end offline (CI executes them; each writes into its own folder)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9][0-9]_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", TUTORIALS, ids=[t.stem for t in TUTORIALS])
def test_tutorial_runs(script, tmp_path):
    if "pytorch" in script.name:
        pytest.importorskip("torchvision")  # the torch extra
    else:
        pytest.importorskip("keras")
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_neurons"
    if "hippocampus" in script.name and not data.is_dir():
        pytest.skip(f"the recorded units are not at {data}")
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    written = list((tmp_path / "tutorial-output").iterdir())
    assert written, "the tutorial wrote nothing"
    assert all(p.stat().st_size > 0 for p in written)


def test_there_are_four_tutorials():
    assert [t.name[:2] for t in TUTORIALS][:4] == ["01", "02", "03", "04"]
