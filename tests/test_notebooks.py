"""Every notebook (nbs/index.ipynb, nbs/[0-9]*.ipynb, the top-level tutorials) runs as a reader's Run All does.

Each runs in a fresh Jupyter kernel started in its folder, every cell executed (`python tools/nb.py check`:
nbdev's skip flags such as `#| eval: false` are not honoured), on a machine without CUB, Segment Anything or
ImageNet weights: sections that need them must say what to provide instead of raising. `IN_TEST=1` is set, as
nbdev's test runner sets it, so the tutorials explain fewer images.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# the tutorials run for minutes: marked `tutorial`, so the fast suite leaves them to .ci/run
NOTEBOOKS = [ROOT / "nbs" / "index.ipynb"] + sorted((ROOT / "nbs").glob("[0-9]*.ipynb")) + [
    pytest.param(p, marks=pytest.mark.tutorial) for p in sorted(ROOT.glob("tutorial-*.ipynb"))]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_all(nb):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "IN_TEST": "1"}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in JupyterLab
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "nb.py"), "check", str(nb)], env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{nb.name} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
