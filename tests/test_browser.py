"""Real-browser test of the PathExplorer: JupyterLab on 127.0.0.1, Debian's chromium driven by Playwright.

Starts JupyterLab with its own config/data/runtime dirs under a temp dir (token off, news and update checks
off, announcements disabled), opens a small notebook with two cells, one explorer each for a test digit (IG²
with 8 references, Guided IG from black), runs them, waits for the kernel to be idle, then in each explorer
moves the step slider with the keyboard and checks that the visible step readout, the method's line of numbers
and the rendered image change, both its sample panels (left) and its curves (right). Saves screenshots to
results/explorer.png and results/explorer-guided.png (image/ with IG2_UPDATE_DOCS=1). A second test opens the
committed nbs/index.ipynb and tutorial-submodular-cub.ipynb, runs nothing, and counts the figures the browser
renders (at least 4 each); screenshots results/notebook-{index,tutorial}.png.

With IG2_REQUIRE_BROWSER=1 a missing browser, Playwright or JupyterLab fails the test; otherwise it skips.
The browser is never downloaded (`playwright install` is not used): it is /usr/bin/chromium (apt-get
install chromium), or $IG2_CHROMIUM.
"""
import io, json, os, re, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import numpy as np
import pytest
from ig2.data import load_digits_cnn

pytestmark = pytest.mark.browser  # JupyterLab in Debian's chromium: run by .ci/run, not by the fast suite

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("IG2_CHROMIUM", "/usr/bin/chromium")
# the README's figure is refreshed only on request; a plain run leaves the tracked image/ alone
SHOTS = ROOT / ("image" if os.environ.get("IG2_UPDATE_DOCS") == "1" else "results")
SCREENSHOT, GUIDED_SCREENSHOT = SHOTS / "explorer.png", SHOTS / "explorer-guided.png"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"]
STEP = re.compile(r"^step (\d+) / (\d+)$")

NOTEBOOK_CELLS = ["""\
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from ig2 import IG2, OtherClassReferences
from ig2.data import load_digits, load_digits_cnn
from ig2.widgets import PathExplorer

(x_train, y_train), (x_test, y_test) = load_digits()
explainer = IG2(load_digits_cnn(), clip=(0, 1), steps=201)
explorer = PathExplorer.from_explainer(explainer, x_test[0], OtherClassReferences(x_train, y_train, n=8))
explorer.select(step=60)
explorer.straight_toggle.value = True
explorer""", """\
from ig2 import GuidedIG
guided = PathExplorer.from_explainer(GuidedIG(explainer.adapter.model, steps=200), x_test[0])
guided.select(step=100)
guided.straight_toggle.value = True
guided"""]


def missing(reason):
    "Fail under IG2_REQUIRE_BROWSER=1, else skip, with the reason."
    if os.environ.get("IG2_REQUIRE_BROWSER") == "1": pytest.fail(f"IG2_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path):
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": code}
             for code in NOTEBOOK_CELLS]
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}}
    path.write_text(json.dumps(nb))


def start_lab(home: Path, port: int) -> subprocess.Popen:
    "JupyterLab on 127.0.0.1 with every Jupyter dir under `home`; the caller stops it by its PID."
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("IPYTHONDIR", "ipython"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
        env[var] = str(home / sub); (home / sub).mkdir(parents=True, exist_ok=True)
    # what `jupyter labextension disable` writes: no announcements pop-up
    (home / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
    (home / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
           "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={home / 'work'}",
           "--ServerApp.port_retries=0", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(home / "lab.log", "wb")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_server(proc, port: int, log: Path, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None: raise RuntimeError(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer in {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen):
    "Stop the server we started (and its kernels, in its session) by its PID."
    if proc.poll() is not None: return
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); proc.wait(timeout=15)


def wait_idle(page, timeout_ms: int):
    page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=timeout_ms)


CELL = "document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i]"  # JS: code cell i (an argument i)


def wait_for_explorer(page, i: int, timeout_ms: int):
    "Wait for code cell i's explorer (its slider), or fail at once with the kernel's traceback."
    page.wait_for_function(f"i => {CELL} && ({CELL}.querySelector('.jp-OutputArea-output .noUi-handle') !== null || "
                           f"({CELL}.querySelector('.jp-OutputArea') || {{innerText: ''}}).innerText.includes('Traceback'))",
                           arg=i, timeout=timeout_ms)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(i)
    outputs = cell.locator(".jp-OutputArea-output").all_inner_texts()
    assert not any("Traceback" in t for t in outputs), f"notebook cell {i} failed:\n" + "\n".join(outputs)[-3000:]
    return cell


def step_readout(cell) -> tuple:
    "The (step, steps) the explorer's label shows."
    text = cell.locator(".widget-label").filter(has_text=STEP).first.inner_text().strip()
    return tuple(int(v) for v in STEP.match(text).groups())


def wait_step(page, i: int, text: str):
    page.wait_for_function(f"([i, t]) => [...{CELL}.querySelectorAll('.widget-label')].some(e => e.innerText.trim() === t)",
                           arg=[i, text], timeout=60_000)


def picture(image) -> np.ndarray:
    "The explorer's picture as the browser paints it, RGB (H, W, 3)."
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(image.screenshot())).convert("RGB")).astype(int)


def step_and_check(page, i: int, method: str, start: int, steps: int, moves: int = 3):
    """Move cell i's slider `moves` steps right with the keyboard; the readout, the method's line of numbers
    and the picture must follow: its sample panels (left) and its curves (right) both change."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(i)
    image = cell.locator(".jp-OutputArea-output img.widget-image").first
    image.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(f"i => {CELL}.querySelector('img.widget-image').naturalWidth > 0", arg=i)
    assert step_readout(cell) == (start, steps)
    assert f"{method} step {start}:" in cell.locator(".widget-html").first.inner_text()
    src_before, before = image.get_attribute("src"), picture(image)
    handle = cell.locator(".jp-OutputArea-output .noUi-handle").first
    handle.focus()
    for _ in range(moves): page.keyboard.press("ArrowRight")
    wait_step(page, i, f"step {start + moves} / {steps}")
    page.wait_for_function(f"([i, s]) => {CELL}.querySelector('img.widget-image').src !== s", arg=[i, src_before],
                           timeout=60_000)
    page.wait_for_function(f"i => {CELL}.querySelector('img.widget-image').complete", arg=i)
    assert step_readout(cell) == (start + moves, steps)
    assert f"{method} step {start + moves}:" in cell.locator(".widget-html").first.inner_text()
    after = picture(image)
    assert after.shape == before.shape
    width = after.shape[1]  # the sample panels and colour bars end before 0.65 of it, the curves start after 0.66
    cols = lambda lo, hi: slice(int(lo * width), int(hi * width))
    changed = lambda lo, hi: bool((after[:, cols(lo, hi)] != before[:, cols(lo, hi)]).any())
    assert changed(0, 0.6), f"{method}: the sample panels did not change"
    assert changed(0.68, 1), f"{method}: the curves (cursor, markers) did not change"
    return cell, handle


def test_explorer_in_jupyterlab(tmp_path):
    if not Path(CHROMIUM).exists(): missing(f"no browser at {CHROMIUM} (apt-get install chromium)")
    try: from playwright.sync_api import sync_playwright
    except ImportError: missing("playwright is not installed (pip install playwright; no `playwright install`)")
    try: import jupyterlab  # noqa: F401
    except ImportError: missing("jupyterlab is not installed")

    load_digits_cnn()  # a cold cache is filled here, so the kernel only loads the model
    (tmp_path / "work").mkdir()
    write_notebook(tmp_path / "work" / "explorer.ipynb")
    port = free_port()
    proc = start_lab(tmp_path, port)
    try:
        wait_for_server(proc, port, tmp_path / "lab.log")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/explorer.ipynb?reset", timeout=120_000)
                wait_idle(page, 180_000)  # the kernel has started: running earlier can be lost
                page.keyboard.press("Control+b")  # fold the file browser away: room for the explorer
                for i in range(len(NOTEBOOK_CELLS)):  # queue both cells; the kernel runs them in order
                    page.locator(".jp-Notebook .jp-CodeCell .cm-content").nth(i).click()
                    page.keyboard.press("Shift+Enter")
                for i in range(len(NOTEBOOK_CELLS)): wait_for_explorer(page, i, 420_000)
                wait_idle(page, 300_000)

                # IG²: three steps right, one back, the README's screenshot
                cell, handle = step_and_check(page, 0, "IG²", 60, 201)
                page.keyboard.press("ArrowLeft")
                wait_step(page, 0, "step 62 / 201")
                handle.scroll_into_view_if_needed()
                page.wait_for_timeout(500)  # let the last picture paint before the screenshot
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
                assert SCREENSHOT.stat().st_size > 10_000

                # Guided IG from black in the second cell: its own slider, readout and picture
                guided, _ = step_and_check(page, 1, "Guided IG", 100, 200)
                guided.locator(".jp-OutputArea-output").first.screenshot(path=str(GUIDED_SCREENSHOT))
                assert GUIDED_SCREENSHOT.stat().st_size > 10_000
                assert step_readout(cell) == (62, 201)  # the first explorer did not move

                # Play (linked to the slider in the browser) moves the step on its own
                cell.locator(".jp-OutputArea-output .widget-play button").first.click()
                page.wait_for_function(
                    f"i => [...{CELL}.querySelectorAll('.widget-label')].some(e => "
                    r"/^step (6[5-9]|[7-9]\d|1\d\d|20[01]) \/ 201$/.test(e.innerText.trim()))", arg=0, timeout=60_000)
            finally:
                browser.close()
    finally:
        stop(proc)


# ------------------------------------------------------------------ the committed notebooks, as a reader opens them
READER_NOTEBOOKS = {"index": ROOT / "nbs" / "index.ipynb", "tutorial": ROOT / "tutorial-submodular-cub.ipynb"}


def rendered_images(page) -> int:
    "Output images the browser has decoded (naturalWidth > 0) in the notebook now open, after scrolling through it."
    page.evaluate("async () => { const s = document.querySelector('.jp-WindowedPanel-outer') || "
                  "document.querySelector('.jp-Notebook'); for (let y = 0; y < s.scrollHeight; y += 600) "
                  "{ s.scrollTop = y; await new Promise(r => setTimeout(r, 60)); } s.scrollTop = 0; }")
    return page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                         ".filter(i => i.complete && i.naturalWidth > 0).length")


@pytest.mark.parametrize("name", list(READER_NOTEBOOKS))
def test_committed_notebook_shows_its_figures(tmp_path, name):
    "The committed index notebook and tutorial, opened in JupyterLab without running anything, show >= 4 figures."
    if not Path(CHROMIUM).exists(): missing(f"no browser at {CHROMIUM} (apt-get install chromium)")
    try: from playwright.sync_api import sync_playwright
    except ImportError: missing("playwright is not installed (pip install playwright; no `playwright install`)")
    try: import jupyterlab  # noqa: F401
    except ImportError: missing("jupyterlab is not installed")

    (tmp_path / "work").mkdir()
    source = READER_NOTEBOOKS[name]
    (tmp_path / "work" / source.name).write_bytes(source.read_bytes())  # a copy: the lab never touches the repository
    port = free_port()
    proc = start_lab(tmp_path, port)
    shot = SHOTS / f"notebook-{name}.png"
    try:
        wait_for_server(proc, port, tmp_path / "lab.log")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/{source.name}?reset", timeout=120_000)
                page.wait_for_selector(".jp-Notebook .jp-OutputArea-output img", timeout=180_000)
                page.keyboard.press("Control+b")
                deadline = time.time() + 120
                while (n := rendered_images(page)) < 4 and time.time() < deadline: page.wait_for_timeout(1000)
                assert n >= 4, f"{source.name}: {n} figures rendered in JupyterLab, expected at least 4"
                page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        stop(proc)
