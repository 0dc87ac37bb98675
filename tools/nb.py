"""Convert notebooks to and from a percent-format script, so they can be edited as text.

    python tools/nb.py topy nbs/03_gradpath.ipynb > /tmp/03_gradpath.py
    python tools/nb.py tonb /tmp/03_gradpath.py nbs/03_gradpath.ipynb
    python tools/nb.py ids nbs/*.ipynb      # stable cell ids for notebooks edited elsewhere

Cells are separated by lines `# %%` (code) and `# %% [markdown]` (markdown; each line of the
cell is prefixed with `# `). Outputs are dropped: notebooks are committed clean.
"""
import hashlib, json, sys
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


if __name__ == "__main__":
    cmd, src = sys.argv[1], sys.argv[2]
    if cmd == "topy": sys.stdout.write(to_py(src))
    elif cmd == "tonb":
        json.dump(to_nb(src, Path(sys.argv[3]).stem), open(sys.argv[3], "w"), indent=1, ensure_ascii=False); open(sys.argv[3], "a").write("\n")
    elif cmd == "ids":  # give every cell of the notebooks named a stable id
        for path in sys.argv[2:]:
            nb = json.load(open(path))
            for i, c in enumerate(nb["cells"]): c["id"] = cell_id(Path(path).stem, i)
            nb["nbformat_minor"] = max(nb.get("nbformat_minor", 0), 5)
            json.dump(nb, open(path, "w"), indent=1, ensure_ascii=False); open(path, "a").write("\n")
    else: sys.exit(f"unknown command {cmd!r}: use topy, tonb or ids")
