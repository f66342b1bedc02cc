"""The grid: cells from flags or TOML, validated first; a killed grid resumes to the same results."""
import json

import pandas as pd
import pytest

from ann2neo.experiments.grid import cell_name, grid_configs, load_grid_toml, run_grid
from ann2neo.io.manifest import check_run

SETTINGS = {"epochs": 1, "mem_epochs": 1, "conditions": ("Random", "Generalizing"),
            "diagnostics": False, "figures": False, "progress": False, "dataset": "digits",
            "dynamics_epochs": 0}


def test_grid_configs_from_toml_are_validated_before_anything_runs(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('epochs = 3\n[grid]\narchitecture = ["mlp", "cnn"]\nwidth = [64, 128]\n')
    axes, settings = load_grid_toml(path)
    configs = grid_configs(axes, **settings)
    assert [cell_name(c) for c in configs] == ["mlp-w64-mnist5k-s0", "mlp-w128-mnist5k-s0", "cnn-w64-mnist5k-s0",
                                               "cnn-w128-mnist5k-s0"]
    assert all(c.epochs == 3 for c in configs)
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        grid_configs({"width": [64, 0]})
    with pytest.raises(ValueError, match="grid axes must be among"):
        grid_configs({"epochs": [1, 2]})
    with pytest.raises(ValueError, match="lists a cell twice"):
        grid_configs({"width": [8, 8]})


@pytest.mark.slow  # trains networks
def test_killed_grid_resumes_to_the_same_results(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    import ann2neo.experiments.grid as grid

    configs = grid_configs({"architecture": ["mlp", "cnn"], "width": [4]}, **SETTINGS)
    whole = run_grid(tmp_path / "whole", configs, argv=["test"])
    assert check_run(tmp_path / "whole").complete
    assert list(whole["cell"].unique()) == ["mlp-w4-digits-s0", "cnn-w4-digits-s0"] and len(whole) == 8

    class KilledError(Exception):
        pass

    def kill_after_first(name):
        if name == "after-cell:mlp-w4-digits-s0":
            raise KilledError

    monkeypatch.setattr(grid, "_checkpoint", kill_after_first)
    with pytest.raises(KilledError):
        run_grid(tmp_path / "resumed", configs, argv=["test"])
    assert not check_run(tmp_path / "resumed").complete  # no grid manifest yet
    assert check_run(tmp_path / "resumed" / "cells" / "mlp-w4-digits-s0").complete
    first = (tmp_path / "resumed" / "cells" / "mlp-w4-digits-s0" / "manifest.json").read_text()
    monkeypatch.undo()
    resumed = run_grid(tmp_path / "resumed", configs, argv=["test"])
    # the finished cell was not run again, and the numbers equal the uninterrupted grid's
    assert (tmp_path / "resumed" / "cells" / "mlp-w4-digits-s0" / "manifest.json").read_text() == first
    pd.testing.assert_frame_equal(resumed, whole)
    assert check_run(tmp_path / "resumed").complete
    cells = json.loads((tmp_path / "resumed" / "manifest.json").read_text())["files"]
    assert {"cells/cnn-w4-digits-s0/manifest.json", "grid.csv", "grid_hypotheses.csv"} <= {f["path"] for f in cells}


def test_grid_cli_merges_toml_and_flags_and_checks_them_first(tmp_path, monkeypatch, capsys):
    import ann2neo.experiments.grid as grid
    from ann2neo.cli import main

    seen = {}

    def fake_run_grid(out, configs, overwrite=False, argv=None):
        seen["cells"] = [cell_name(c) for c in configs]
        seen["epochs"] = {c.epochs for c in configs}
        return pd.DataFrame({"x": [1]})

    monkeypatch.setattr(grid, "run_grid", fake_run_grid)
    path = tmp_path / "g.toml"
    path.write_text('epochs = 3\n[grid]\nwidth = [64, 128]\ndataset = ["digits"]\n')
    assert main(["grid", "--config", str(path), "--out", str(tmp_path / "o"), "--width", "8", "16",
                 "--epochs", "2"]) == 0
    assert seen == {"cells": ["mlp-w8-digits-s0", "mlp-w16-digits-s0"], "epochs": {2}}  # flags win
    assert main(["grid", "--out", str(tmp_path / "o"), "--width", "8", "-1"]) == 2
    assert "width must be >= 1, got -1" in capsys.readouterr().err


def test_grid_figure_4_is_written_as_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    import numpy as np

    from ann2neo.experiments.outputs import write_grid_figure

    rows = [{"architecture": "mlp", "dataset": "digits", "width": w, "condition": c, "split": s, "same_as": "",
             "mfr_per_sample": r, "cv_fr_pct": 50.0, "mf": 1 - r, "cv_ff_pct": 40.0}
            for w in (64, 128) for c, r in (("Random", 0.5), ("Generalizing", 0.6), ("MemRetrainLast", 0.3))
            for s in ("train", "test")]
    files = write_grid_figure(tmp_path, pd.DataFrame(rows))
    assert [f.name for f in files] == ["fig4_by_width.png", "fig4_by_width.svg"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in files[1].read_bytes()[:2000]
    assert np.all([f.stat().st_size > 1000 for f in files])
