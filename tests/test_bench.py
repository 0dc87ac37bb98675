"""`python -m ig2 bench` end to end on a tiny setting, its determinism, where it writes, and its refusals."""
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_bench_cli_tiny_run(tmp_path):
    "Three XAI-Bench explicands, two methods: the tables are printed and the files written under --out only."
    cmd = [sys.executable, "-m", "ig2", "bench", "--datasets", "xaibench-nonlinear", "--n", "3",
           "--methods", "IG²", "IG zero", "--no-progress", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "**xaibench-nonlinear**: 3 explicands" in proc.stdout
    assert "| IG² against | wins | ties | losses |" in proc.stdout and "| IG zero |" in proc.stdout
    for suffix in (".md", ".csv", "_comparison.csv", "_settings.json"):
        assert (tmp_path / f"xaibench-nonlinear{suffix}").exists()
    rows = (tmp_path / "xaibench-nonlinear.csv").read_text().splitlines()
    assert rows[0] == "dataset,method,metric,explicand,value"
    assert len(rows) == 1 + 2 * (4 * 3 + 1)           # 2 methods x (4 metrics x 3 explicands + seconds)


def test_outputs_go_to_results_unless_docs_are_updated():
    import ig2.bench as b
    assert b.parse_args([]).out == "results" and not b.parse_args([]).update_docs
    assert b.DOCS_RESULTS == ROOT / "benchmarks" / "results"


def test_run_is_deterministic_and_a_prefix_of_a_larger_run():
    import ig2.bench as b
    from ig2.experiments import Settings
    s = replace(Settings(), n=4, ig2_steps=21, ig_steps=16, samples=8, xb_samples=20)
    first = b.run_experiment("xaibench-nonlinear", s, ["IG²", "Expected Gradients"], progress=False)
    again = b.run_experiment("xaibench-nonlinear", s, ["IG²", "Expected Gradients"], progress=False)
    smaller = b.run_experiment("xaibench-nonlinear", replace(s, n=2), ["IG²"], progress=False)
    assert list(first.idx) == list(again.idx) and list(smaller.idx) == list(first.idx[:2])
    for m in first.values:
        for k, v in first.values[m].items():
            np.testing.assert_array_equal(v, again.values[m][k])
    for k, v in smaller.values["IG²"].items():
        np.testing.assert_allclose(v, first.values["IG²"][k][:2], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--datasets", "cifar10"], "datasets"),
    (["--methods", "LIME", "--datasets", "xaibench-linear"], "methods"),
    (["--n", "1", "--datasets", "xaibench-linear"], "--n"),
])
def test_bench_refuses_bad_arguments(argv, message):
    import ig2.bench as b
    with pytest.raises(ValueError, match=message):
        b.main(argv)


def test_blur_ig_is_left_out_of_tabular_experiments():
    "Blurring across feature columns has no meaning: the XAI-Bench experiments must not offer Blur IG."
    import ig2.experiments as e
    exp = e.load_xaibench_experiment("xaibench-linear")
    names = set(e.tabular_methods(exp, e.Settings()))
    assert "Blur IG" not in names and {"IG²", "IG zero", "Guided IG"} <= names
    assert "Blur IG" in e.image_methods(e.load_mnist_experiment(), e.Settings())


def test_text_figure_with_fewer_explicands_than_rows(tmp_path):
    "`ig2 bench --n 2` on TREC draws both questions (the figure asks for 5 rows at most, never more than were explained)."
    import ig2.bench as b
    from ig2.experiments import EXPERIMENTS, Settings
    s = replace(Settings(), n=2)
    res = b.run_experiment("trec", s, ["IG zero"], progress=False)
    exp = EXPERIMENTS["trec"][0]("trec")
    (path,) = b.write_figures(exp, res, tmp_path)
    assert path.name == "trec_questions.png" and path.stat().st_size > 1000
