"""The data dictionary (docs/analyze-compare.md) names every column and key that the CLI writes."""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ann2neo.cli import main

ROOT = Path(__file__).resolve().parents[2]


def documented(page):
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", (ROOT / "docs" / page).read_text()))


def columns(folder, pattern):
    found = set()
    for path in folder.glob(pattern):
        found |= set(pd.read_csv(path).columns)
    assert found, f"no {pattern} in {folder}"
    return found


@pytest.fixture
def ann_npy(tmp_path):
    path = tmp_path / "ann.npy"
    np.save(path, np.random.default_rng(0).random((600, 8)) < 0.3)
    return path


def test_analyze_columns_of_an_ann_recording_are_documented(ann_npy, tmp_path):
    out = tmp_path / "a"
    assert main(["analyze", str(ann_npy), "--window", "20", "--no-figures", "--out", str(out)]) == 0
    written = columns(out, "nodes_*.csv") | columns(out, "summary.csv")
    written |= set(json.loads((out / "results.json").read_text())["recordings"]["ann"])
    assert written - documented("analyze-compare.md") == set()


def test_analyze_and_compare_columns_of_real_neurons_are_documented(ann_npy, tmp_path, real_neurons):
    doc = documented("analyze-compare.md")
    out = tmp_path / "a"
    assert main(["analyze", str(real_neurons / "all_unit.mat"), "--t-stop", "1000s", "--no-figures", "--out",
                 str(out)]) == 0
    assert (columns(out, "nodes_*.csv") | columns(out, "summary.csv")) - doc == set()
    cmp = tmp_path / "c"
    assert main(["compare", str(ann_npy), str(real_neurons / "all_unit.mat"), "--t-stop", "1000s",
                 "--sample-duration", "1ms", "--window", "20", "--out", str(cmp)]) == 0
    assert columns(cmp, "compare_*.csv") - doc == set()
    meta = json.loads((cmp / "comparison.json").read_text())
    assert (set(meta) | set(meta["binning"])) - doc == set()


def test_analyze_columns_of_trials_are_documented(tmp_path, real_neurons):
    """One neuron over 50 trials with a condition: the per-unit, per-condition, per-trial and PSTH tables."""
    out = tmp_path / "stn"
    assert main(["analyze", str(real_neurons / "10_spikes-1.mat"), "--bin-width", "1ms", "--no-figures",
                 "--out", str(out)]) == 0
    written = set()
    for pattern in ("nodes_*.csv", "summary.csv", "units_*.csv", "conditions_*.csv", "trials_*.csv", "psth_*.csv"):
        written |= columns(out, pattern)
    results = json.loads((out / "results.json").read_text())
    entry = results["recordings"]["10_spikes-1"]
    written |= set(entry) | set(entry["trials"]) | set(results["config"])
    assert written - documented("analyze-compare.md") - {"direction"} == set()   # the file's own condition
