"""Real-browser test of the PathExplorer: JupyterLab on 127.0.0.1, Debian's chromium driven by Playwright.

Starts JupyterLab with its own config/data/runtime dirs under a temp dir (token off, news and update checks
off, announcements disabled), opens a small notebook that builds the explorer for a test digit, runs it,
waits for the kernel to be idle, moves the step slider with the keyboard and checks that the visible step
readout and the rendered image change. Saves a screenshot to results/explorer.png (image/explorer.png with IG2_UPDATE_DOCS=1).

With IG2_REQUIRE_BROWSER=1 a missing browser, Playwright or JupyterLab fails the test; otherwise it skips.
The browser is never downloaded (`playwright install` is not used): it is /usr/bin/chromium (apt-get
install chromium), or $IG2_CHROMIUM.
"""
import json, os, re, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest
from ig2.data import load_digits_cnn

pytestmark = pytest.mark.browser  # JupyterLab in Debian's chromium: run by .ci/run, not by the fast suite

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("IG2_CHROMIUM", "/usr/bin/chromium")
# the README's figure is refreshed only on request; a plain run leaves the tracked image/ alone
SCREENSHOT = ROOT / ("image" if os.environ.get("IG2_UPDATE_DOCS") == "1" else "results") / "explorer.png"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"]
STEP = re.compile(r"^step (\d+) / 201$")

NOTEBOOK_CODE = """\
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
explorer"""


def missing(reason):
    "Fail under IG2_REQUIRE_BROWSER=1, else skip, with the reason."
    if os.environ.get("IG2_REQUIRE_BROWSER") == "1": pytest.fail(f"IG2_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": NOTEBOOK_CODE}
    nb = {"cells": [cell], "nbformat": 4, "nbformat_minor": 5,
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


def step_readout(page) -> int:
    text = page.locator(".widget-label").filter(has_text=STEP).first.inner_text().strip()
    return int(STEP.match(text).group(1))


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
                page.locator(".jp-Cell .cm-content").first.click()
                page.keyboard.press("Shift+Enter")
                # the explorer's slider, or a traceback (fail at once, with the kernel's words)
                page.wait_for_function("document.querySelector('.jp-OutputArea-output .noUi-handle') !== null || "
                                       "[...document.querySelectorAll('.jp-OutputArea-output')]"
                                       ".some(e => e.innerText.includes('Traceback'))", timeout=300_000)
                outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
                assert not any("Traceback" in t for t in outputs), "the notebook cell failed:\n" + "\n".join(outputs)[-3000:]
                handle = page.locator(".jp-OutputArea-output .noUi-handle").first
                handle.wait_for(state="visible", timeout=60_000)
                wait_idle(page, 300_000)
                image = page.locator(".jp-OutputArea-output img.widget-image").first
                image.wait_for(state="visible", timeout=60_000)
                page.wait_for_function("document.querySelector('.jp-OutputArea-output img.widget-image').naturalWidth > 0")
                assert step_readout(page) == 60
                src_before, pixels_before = image.get_attribute("src"), image.screenshot()

                handle.focus()
                for _ in range(3): page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    "[...document.querySelectorAll('.widget-label')].some(e => e.innerText.trim() === 'step 63 / 201')",
                    timeout=60_000)
                page.wait_for_function(f"document.querySelector('.jp-OutputArea-output img.widget-image').src !== {src_before!r}",
                                       timeout=60_000)
                page.wait_for_function("document.querySelector('.jp-OutputArea-output img.widget-image').complete")
                assert step_readout(page) == 63
                assert image.screenshot() != pixels_before  # the rendered picture changed, not only its URL

                page.keyboard.press("ArrowLeft")
                page.wait_for_function(
                    "[...document.querySelectorAll('.widget-label')].some(e => e.innerText.trim() === 'step 62 / 201')",
                    timeout=60_000)
                page.wait_for_timeout(500)  # let the last picture paint before the screenshot
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
                assert SCREENSHOT.stat().st_size > 10_000

                # Play (linked to the slider in the browser) moves the step on its own
                page.locator(".jp-OutputArea-output .widget-play button").first.click()
                page.wait_for_function(
                    "[...document.querySelectorAll('.widget-label')].some(e => /^step (6[5-9]|[7-9]\\d|1\\d\\d|20[01]) \\/ 201$/.test(e.innerText.trim()))",
                    timeout=60_000)
            finally:
                browser.close()
    finally:
        stop(proc)
