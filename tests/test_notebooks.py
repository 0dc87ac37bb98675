"Run every notebook in nbs/ (the front page index.ipynb too) and the top-level tutorials with nbdev's test runner."
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# the tutorials run for minutes: marked `tutorial`, so the fast suite leaves them to .ci/run
NOTEBOOKS = [ROOT / "nbs" / "index.ipynb"] + sorted((ROOT / "nbs").glob("[0-9]*.ipynb")) + [
    pytest.param(p, marks=pytest.mark.tutorial) for p in sorted(ROOT.glob("tutorial-*.ipynb"))]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(nb):
    # a fresh process per notebook, so TensorFlow starts clean; nbdev_test prints only "Success." or the error
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    proc = subprocess.run(["nbdev_test", "--path", str(nb)], cwd=ROOT / "nbs", env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"{nb.name} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
