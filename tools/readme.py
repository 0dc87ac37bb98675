"""Fill README.md's generated sections from the files they name, or check that they are up to date.

    python tools/readme.py           # rewrite every `<!-- include: PATH -->` ... `<!-- end include -->` block
    python tools/readme.py --check   # exit 1 when README.md differs from what the files give

The experiments' tables are written by `python -m ig2 bench --update-docs` into benchmarks/results/; the README
includes them from there, so no number in it is pasted by hand.
"""
import re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- include: (?P<path>[^ ]+) -->\n)(?P<body>.*?)(<!-- end include -->)", re.S)


def rendered(text: str) -> str:
    "README text with every include block refilled from its file (a missing file is an error)."
    def fill(m):
        path = ROOT / m["path"]
        if not path.exists(): sys.exit(f"tools/readme.py: {m['path']} is missing: run `python -m ig2 bench --update-docs`")
        return m.group(1) + path.read_text().rstrip("\n") + "\n" + m.group(4)
    return BLOCK.sub(fill, text)


if __name__ == "__main__":
    readme = ROOT / "README.md"
    old = readme.read_text(); new = rendered(old)
    if "--check" in sys.argv[1:]:
        if old != new: sys.exit("README.md is out of date with benchmarks/results: run `python tools/readme.py`")
    else: readme.write_text(new)
