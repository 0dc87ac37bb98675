"""Convert notebooks to and from a percent-format script, so they can be edited as text.

    python tools/nb.py topy nbs/03_gradpath.ipynb > /tmp/03_gradpath.py
    python tools/nb.py tonb /tmp/03_gradpath.py nbs/03_gradpath.ipynb
    python tools/nb.py ids nbs/*.ipynb      # stable cell ids for notebooks edited elsewhere
    python tools/nb.py run [NOTEBOOK ...]   # execute as a reader's Run All, write the outputs back, clean
    python tools/nb.py check NOTEBOOK       # execute as a reader's Run All (fresh kernel, every cell), write nothing

Cells are separated by lines `# %%` (code) and `# %% [markdown]` (markdown; each line of the
cell is prefixed with `# `). `topy`/`tonb` drop outputs; `run` puts them back.

`run` and `check` execute every cell in a fresh kernel, as JupyterLab's Run All does (nbdev's skip flags such as
`#| eval: false` are not honoured), from the notebook's folder. `run` (no arguments: nbs/index.ipynb, nbs/[0-9]*.ipynb
and the tutorials) writes the outputs back, drops TensorFlow's C++ start-up lines from stderr outputs and cleans the
notebook with nbdev_clean (outputs kept: `clear_all = False` in settings.ini).
"""
import hashlib, json, os, re, subprocess, sys
from pathlib import Path


def to_py(nb_path):
    nb = json.load(open(nb_path))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            parts.append("# %% [markdown]\n" + "\n".join(("# " + l) if l else "#" for l in src.split("\n")))
        else:
            parts.append("# %%\n" + src)
    return "\n\n".join(parts) + "\n"


def cell_id(nb_name, index):
    "A stable cell id: nbdev writes it into the exported modules, so random ids would change them on every export."
    return hashlib.sha1(f"{nb_name}:{index}".encode()).hexdigest()[:8]


def _cell(kind, lines):
    while lines and not lines[-1].strip(): lines.pop()
    if kind == "markdown": lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
    src = "\n".join(lines)
    src_lines = [l + "\n" for l in src.split("\n")]
    if src_lines: src_lines[-1] = src_lines[-1].rstrip("\n")
    c = {"cell_type": kind, "metadata": {}, "source": src_lines}
    if kind == "code": c.update(execution_count=None, outputs=[])
    return c


def to_nb(py_path, nb_name):
    cells, kind, lines = [], None, []
    for line in open(py_path).read().split("\n"):
        if line.startswith("# %%"):
            if kind: cells.append(_cell(kind, lines))
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind: lines.append(line)
    if kind: cells.append(_cell(kind, lines))
    for i, c in enumerate(cells): c["id"] = cell_id(nb_name, i)
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
            "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


ROOT = Path(__file__).resolve().parents[1]
# TensorFlow's absl/C++ start-up lines reach stderr before TF_CPP_MIN_LOG_LEVEL can act in a kernel that imported it
TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\]).*\n?", re.M)


def all_notebooks() -> list:
    return [ROOT / "nbs" / "index.ipynb", *sorted((ROOT / "nbs").glob("[0-9]*.ipynb")), *sorted(ROOT.glob("tutorial-*.ipynb"))]


def execute(path, timeout: int = 3600):
    "Run every cell of the notebook at `path` in a fresh python3 kernel started in its folder; the executed notebook."
    import nbformat
    from nbclient import NotebookClient
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the kernel inherits it before TensorFlow loads
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def drop_tf_noise(nb) -> None:
    "Remove TensorFlow's C++ log lines from stderr outputs (and outputs left empty)."
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("name") == "stderr":
                out["text"] = TF_NOISE.sub("", out["text"])
                if not out["text"].strip(): continue
            kept.append(out)
        cell["outputs"] = kept


def run(paths) -> None:
    import nbformat
    for path in paths or all_notebooks():
        nb = execute(path)
        drop_tf_noise(nb)
        nbformat.write(nb, str(path))
        subprocess.run(["nbdev_clean", "--fname", str(path)], check=True, cwd=ROOT)
        print(f"{path}: {Path(path).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    cmd, src = sys.argv[1], (sys.argv[2:] or [None])[0]
    if cmd == "topy": sys.stdout.write(to_py(src))
    elif cmd == "tonb":
        json.dump(to_nb(src, Path(sys.argv[3]).stem), open(sys.argv[3], "w"), indent=1, ensure_ascii=False); open(sys.argv[3], "a").write("\n")
    elif cmd == "ids":  # give every cell of the notebooks named a stable id
        for path in sys.argv[2:]:
            nb = json.load(open(path))
            for i, c in enumerate(nb["cells"]): c["id"] = cell_id(Path(path).stem, i)
            nb["nbformat_minor"] = max(nb.get("nbformat_minor", 0), 5)
            json.dump(nb, open(path, "w"), indent=1, ensure_ascii=False); open(path, "a").write("\n")
    elif cmd == "run": run(sys.argv[2:])
    elif cmd == "check": execute(src)
    else: sys.exit(f"unknown command {cmd!r}: use topy, tonb, ids, run or check")
