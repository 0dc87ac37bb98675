"""Render README.md from the executed front page nbs/index.ipynb, or check that it is current.

    python tools/readme.py           # normalise nbs/index.ipynb, write README.md and image/index_*.png
    python tools/readme.py --check   # exit 1, with a short diff, when any of them is not what the notebook gives

Nothing is executed: the README shows what the committed notebook holds. Execute the notebook first
(`jupyter nbconvert --to notebook --execute --inplace nbs/index.ipynb && nbdev_clean --fname nbs/index.ipynb`).
Rendering rules, cell by cell, cells separated by one blank line:
- markdown cells as they are; a relative link or image target (`](../image/x.png)`, `](32_regions.ipynb)`) is
  rewritten from nbs/ to the repository root (`](image/x.png)`, `](nbs/32_regions.ipynb)`);
- code cells as a ```python block without their `#|` directive lines; `#| hide` or `#| include: false` leave the
  cell out, `#| echo: false` its source, `#| output: false` its outputs;
- outputs: stdout in a ``` block (consecutive stream outputs joined, ANSI codes removed), stderr left out (log
  noise); a display or result by its richest type: image/png written to image/index_<n>.png (n counts the
  notebook's images from 1) and linked as `![figure <n>](image/index_<n>.png)`, else text/markdown as it is, else
  text/html as it is, else text/plain in a ``` block; an error output stops the rendering (the page must run);
- raw cells as they are;
- then every `<!-- include: PATH -->` ... `<!-- end include -->` block is filled from PATH (relative to the
  repository root); the tables of the experiments are written there by `python -m ig2 bench --update-docs`, so no
  number is pasted by hand.
The notebook itself is normalised the same way: its include blocks are refilled, so it shows the tables too, and
its stderr outputs (TensorFlow's C++ log lines) are removed.
"""
from __future__ import annotations
import base64, difflib, json, re, sys
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK, README, IMAGES = "nbs/index.ipynb", "README.md", "image"
IMAGE_PREFIX = "index_"
HEADER = "<!-- generated from nbs/index.ipynb by `python tools/readme.py`: edit the notebook, not this file -->\n\n"
BLOCK = re.compile(r"(<!-- include: (?P<path>[^ ]+) -->\n)(?P<body>.*?)(<!-- end include -->)", re.S)
LINK = re.compile(r"(\]\()(?P<target>[^)\s]+)")   # the target of a markdown link or image: ](target
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<key>[\w-]+)\s*(?::\s*(?P<value>.*?))?\s*$")


class RenderError(Exception): pass


def fill_includes(text: str, root: Path) -> str:
    "`text` with every include block refilled from the file it names (a missing file is an error)."
    def fill(m):
        path = root / m["path"]
        if not path.exists():
            raise RenderError(f"{m['path']} is missing: run `python -m ig2 bench --update-docs`")
        return m.group(1) + path.read_text(encoding="utf-8").rstrip("\n") + "\n" + m.group(4)
    return BLOCK.sub(fill, text)


def rebase_links(text: str, nb_dir: str = "nbs") -> str:
    "Relative link targets of a markdown cell (relative to `nb_dir`) made relative to the repository root."
    def fix(m):
        t = m["target"]
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", t, re.I): return m.group(0)   # URL, anchor or absolute path
        parts = []
        for p in PurePosixPath(nb_dir, t).parts:
            if p == "..":
                if not parts: raise RenderError(f"link {t!r} points outside the repository")
                parts.pop()
            elif p != ".": parts.append(p)
        return m.group(1) + "/".join(parts)
    return LINK.sub(fix, text)


def _text(v) -> str: return "".join(v) if isinstance(v, list) else v


def directives(source: str) -> tuple:
    "The cell's `#|` directives {key: value} and its source without them."
    found, kept = {}, []
    for line in source.split("\n"):
        m = DIRECTIVE.match(line)
        if m: found[m["key"].lower()] = (m["value"] or "").strip().lower()
        else: kept.append(line)
    return found, "\n".join(kept).strip("\n")


def _fence(text: str, lang: str = "") -> str:
    "`text` in a fenced block whose fence is longer than any backtick run inside it."
    ticks = "`" * max(3, max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def render_outputs(outputs: list, images: dict, where: str) -> list:
    "Markdown pieces for a code cell's outputs; PNGs are added to `images` {file name: bytes}."
    pieces, stdout = [], []
    def flush():
        if stdout: pieces.append(_fence(ANSI.sub("", "".join(stdout)))); stdout.clear()
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            if o.get("name") == "stdout": stdout.append(_text(o.get("text", "")))
            continue
        flush()
        if kind == "error":
            raise RenderError(f"{where} has an error output ({o.get('ename')}: {o.get('evalue')}): fix it, re-execute")
        data = o.get("data", {})
        if "image/png" in data:
            name = f"{IMAGE_PREFIX}{len(images) + 1}.png"
            images[name] = base64.b64decode(_text(data["image/png"]))
            pieces.append(f"![figure {len(images)}]({IMAGES}/{name})")
        elif "text/markdown" in data: pieces.append(_text(data["text/markdown"]).strip("\n"))
        elif "text/html" in data: pieces.append(_text(data["text/html"]).strip("\n"))
        elif "text/plain" in data: pieces.append(_fence(ANSI.sub("", _text(data["text/plain"]))))
    flush()
    return pieces


def render(nb: dict, root: Path) -> tuple:
    "README text and its images {file name: PNG bytes} for notebook `nb`."
    pieces, images = [], {}
    for i, cell in enumerate(nb["cells"]):
        source = _text(cell.get("source", ""))
        kind = cell["cell_type"]
        if kind == "markdown": pieces.append(rebase_links(source.strip("\n")))
        elif kind == "raw": pieces.append(source.strip("\n"))
        elif kind == "code":
            d, code = directives(source)
            if "hide" in d or d.get("include") == "false": continue
            if code and d.get("echo") != "false": pieces.append(_fence(code, "python"))
            if d.get("output") != "false": pieces += render_outputs(cell.get("outputs", []), images, f"cell {i}")
    text = HEADER + "\n\n".join(p for p in pieces if p.strip()) + "\n"
    return fill_includes(text, root), images


def notebook_text(nb: dict) -> str:
    "The notebook as nbdev_clean writes it (sorted keys, indent 1, UTF-8)."
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def normalised_notebook(nb: dict, root: Path) -> dict:
    "A copy of `nb` with its markdown cells' include blocks filled from their files and its stderr outputs removed."
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
        if cell["cell_type"] != "markdown": continue
        src = _text(cell.get("source", ""))
        new = fill_includes(src, root)
        if new != src: cell["source"] = new.splitlines(keepends=True)
    return nb


def _diff(old: str, new: str, name: str, limit: int = 30) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"{name} (committed)",
                                      f"{name} (generated)", lineterm="", n=1))
    return "\n".join(lines[:limit] + ([f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else []))


def main(argv=None, root: Path = ROOT) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    nb_path, readme = root / NOTEBOOK, root / README
    try:
        nb_old = nb_path.read_text(encoding="utf-8")
        nb = normalised_notebook(json.loads(nb_old), root)
        text, images = render(nb, root)
    except (RenderError, OSError, json.JSONDecodeError) as e:
        print(f"tools/readme.py: {e}", file=sys.stderr); return 1
    nb_new = notebook_text(nb) if notebook_text(json.loads(nb_old)) != notebook_text(nb) else nb_old
    stale = sorted(p.name for p in (root / IMAGES).glob(f"{IMAGE_PREFIX}*.png") if p.name not in images)
    if check:
        problems = []
        if nb_new != nb_old:
            problems.append(f"{NOTEBOOK}: its include blocks differ from their files, or it has stderr outputs")
        old = readme.read_text(encoding="utf-8") if readme.exists() else ""
        if old != text: problems.append(_diff(old, text, README))
        for name, data in images.items():
            p = root / IMAGES / name
            if not p.exists() or p.read_bytes() != data: problems.append(f"{IMAGES}/{name}: missing or different")
        problems += [f"{IMAGES}/{name}: not generated by the notebook any more" for name in stale]
        if problems:
            print("\n".join(problems) + "\nREADME.md is out of date with nbs/index.ipynb or benchmarks/results: "
                  "run `python tools/readme.py`", file=sys.stderr)
            return 1
        return 0
    if nb_new != nb_old: nb_path.write_text(nb_new, encoding="utf-8")
    readme.write_text(text, encoding="utf-8")
    (root / IMAGES).mkdir(exist_ok=True)
    for name, data in images.items():
        p = root / IMAGES / name
        if not p.exists() or p.read_bytes() != data: p.write_bytes(data)
    for name in stale: (root / IMAGES / name).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
