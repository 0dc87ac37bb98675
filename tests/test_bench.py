"""`python -m ig2 bench` end to end on a tiny setting, and its refusals."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_bench_cli_tiny_run(tmp_path):
    "`python -m ig2 bench --n 2` on a small data set and three methods: tables printed, CSV and figures written."
    cmd = [sys.executable, "-m", "ig2", "bench", "--n", "2", "--datasets", "scenes", "tabular-linear",
           "--methods", "IG2", "IntegratedGradients", "VanillaGradient", "--no-progress",
           "--out", str(tmp_path / "results"), "--images", str(tmp_path / "image")]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for name in ("scenes", "tabular-linear"):
        assert f"**{name}** (2 explicands)" in out
        assert (tmp_path / "results" / f"bench_{name}.csv").exists()
    for method in ("IG2", "IntegratedGradients", "VanillaGradient"):
        assert f"| {method} |" in out
    assert "pointing_game" in out and "gt_error" in out and "insertion" in out
    assert (tmp_path / "image" / "bench_scenes_maps.png").exists()
    assert (tmp_path / "image" / "bench_scenes_curves.png").exists()
    rows = (tmp_path / "results" / "bench_scenes.csv").read_text().splitlines()
    assert rows[0] == "dataset,method,metric,explicand,value" and len(rows) > 10


def test_bench_is_deterministic_with_seed(tmp_path):
    import ig2.bench as b
    args = ["--n", "2", "--datasets", "tabular-nonlinear", "--methods", "IntegratedGradients", "GradientInput",
            "--seed", "3", "--no-progress", "--out", str(tmp_path), "--images", str(tmp_path)]
    first, second = b.main(args), b.main(args)
    (i1, r1), (i2, r2) = first["tabular-nonlinear"], second["tabular-nonlinear"]
    assert list(i1) == list(i2)
    for m in r1:
        for k in b.metric_names(r1):
            assert list(r1[m][k]) == pytest.approx(list(r2[m][k]), abs=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--datasets", "cifar10"], "dataset"),
    (["--methods", "LIME", "--datasets", "tabular-linear"], "methods"),
    (["--n", "0", "--datasets", "tabular-linear"], "--n"),
])
def test_bench_refuses_bad_arguments(argv, message):
    import ig2.bench as b
    with pytest.raises(ValueError, match=message):
        b.main(argv)


def test_methods_are_discovered():
    import ig2.bench as b
    found = b.discover_methods()
    assert {"IG2", "GradCFE"} <= set(found)
