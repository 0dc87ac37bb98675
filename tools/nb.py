"""Convert notebooks to and from a percent-format script, so they can be edited as text.

    python tools/nb.py topy nbs/01_paths.ipynb > /tmp/01_paths.py
    python tools/nb.py tonb /tmp/01_paths.py nbs/01_paths.ipynb

Cells are separated by lines `# %%` (code) and `# %% [markdown]` (markdown; each line of the
cell is prefixed with `# `). Outputs are dropped: notebooks are committed clean.
"""
import json, sys


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


def _cell(kind, lines):
    while lines and not lines[-1].strip(): lines.pop()
    if kind == "markdown": lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
    src = "\n".join(lines)
    src_lines = [l + "\n" for l in src.split("\n")]
    if src_lines: src_lines[-1] = src_lines[-1].rstrip("\n")
    c = {"cell_type": kind, "metadata": {}, "source": src_lines}
    if kind == "code": c.update(execution_count=None, outputs=[])
    return c


def to_nb(py_path):
    cells, kind, lines = [], None, []
    for line in open(py_path).read().split("\n"):
        if line.startswith("# %%"):
            if kind: cells.append(_cell(kind, lines))
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind: lines.append(line)
    if kind: cells.append(_cell(kind, lines))
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
            "name": "python3"}}, "nbformat": 4, "nbformat_minor": 4}


if __name__ == "__main__":
    cmd, src = sys.argv[1], sys.argv[2]
    if cmd == "topy": sys.stdout.write(to_py(src))
    elif cmd == "tonb":
        json.dump(to_nb(src), open(sys.argv[3], "w"), indent=1, ensure_ascii=False); open(sys.argv[3], "a").write("\n")
    else: sys.exit(f"unknown command {cmd!r}: use topy or tonb")
