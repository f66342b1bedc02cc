"""`ann2neo memorization` on the command line: a tiny study, bad settings as one line."""
import json

import pytest

from ann2neo.cli import main


@pytest.mark.slow
def test_cli_memorization(tmp_path, capsys):
    cfg = tmp_path / "m.toml"
    cfg.write_text('epochs = 1\nwidth = 8\nprobe_size = 100\nmax_train = 300\nn_bootstrap = 10\n'
                   '[grid]\narchitectures = ["mlp"]\ndatasets = ["digits"]\n')
    out = tmp_path / "o"
    assert main(["memorization", "--config", str(cfg), "--out", str(out), "--noise", "0", "1",
                 "--seeds", "0", "--clean-seeds", "0"]) == 0
    assert "2 runs" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "Goal (issue 17)" in report and "AUROC" in report
    assert (out / "figures" / "auroc_heatmap.png").exists()
    assert json.loads((out / "manifest.json").read_text())["config"]["epochs"] == 1


def test_cli_memorization_bad_settings_are_one_line(tmp_path, capsys):
    assert main(["memorization", "--out", str(tmp_path / "o"), "--noise", "0", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ann2neo memorization: error:") and "noise" in err and err.count("\n") == 1
    cfg = tmp_path / "m.toml"
    cfg.write_text("epoch = 3\n")
    assert main(["memorization", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "unknown setting" in capsys.readouterr().err
