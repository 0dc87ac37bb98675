"tools/readme.py: README.md rendered from nbs/index.ipynb, its rendering rules, and the check that CI runs."
import base64, importlib.util, io, json
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_tool", ROOT / "tools" / "readme.py")
readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme)


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (3, 2), value).save(buf, format="PNG")
    return buf.getvalue()


def _code(source, outputs=()):
    return {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": list(outputs),
            "source": source}


def _md(source): return {"cell_type": "markdown", "id": "m", "metadata": {}, "source": source}


def _stream(name, text): return {"output_type": "stream", "name": name, "text": text}


def _display(data, kind="display_data"): return {"output_type": kind, "data": data, "metadata": {}}


PNG = _png(200)
NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    _md(["# title\n", "\n",
         "![fig](../image/x.png), [IG](02_ig.ipynb), [paper](https://arxiv.org/abs/1), [up](#title)\n", "\n",
         "<!-- include: benchmarks/results/t.md -->\n", "stale\n", "<!-- end include -->"]),
    _code("#| hide\nimport secret", [_stream("stdout", "hidden\n")]),
    _code("print('hi')\n1 + 1", [_stream("stdout", "hi\n"), _stream("stderr", "W0000 log line\n"),
                                 _stream("stdout", "\x1b[1mbold\x1b[0m\n"),
                                 _display({"image/png": base64.b64encode(PNG).decode() + "\n",
                                           "text/plain": "<Figure>"}),
                                 _display({"text/markdown": "| a |\n|---|\n| 1 |", "text/plain": "<Markdown>"}),
                                 _display({"text/plain": "2"}, "execute_result")]),
    _code("#| echo: false\nshow()", [_display({"text/html": "<b>html</b>", "text/plain": "<HTML>"})]),
    _code("#|output: false\ny = 2", [_stream("stdout", "not shown\n")]),
    _code("z = '```'", []),
    {"cell_type": "raw", "id": "r", "metadata": {}, "source": "raw text"},
]}

EXPECTED = readme.HEADER + """# title

![fig](image/x.png), [IG](nbs/02_ig.ipynb), [paper](https://arxiv.org/abs/1), [up](#title)

<!-- include: benchmarks/results/t.md -->
| table |
<!-- end include -->

```python
print('hi')
1 + 1
```

```
hi
bold
```

![figure 1](image/index_1.png)

| a |
|---|
| 1 |

```
2
```

<b>html</b>

```python
y = 2
```

````python
z = '```'
````

raw text
"""


@pytest.fixture
def repo(tmp_path):
    "A repository root with the synthetic index notebook and the table it includes."
    (tmp_path / "nbs").mkdir(); (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "nbs" / "index.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
    (tmp_path / "benchmarks" / "results" / "t.md").write_text("| table |\n")
    return tmp_path


def test_render_follows_the_rules(repo):
    text, images = readme.render(NOTEBOOK, repo)
    assert text == EXPECTED
    assert images == {"index_1.png": PNG}


def test_write_then_check(repo, capsys):
    assert readme.main(["--check"], repo) == 1            # nothing rendered yet
    assert "README.md (generated)" in capsys.readouterr().err
    assert readme.main([], repo) == 0
    assert (repo / "README.md").read_text() == EXPECTED
    assert (repo / "image" / "index_1.png").read_bytes() == PNG
    nb = json.loads((repo / "nbs" / "index.ipynb").read_text())
    assert "".join(nb["cells"][0]["source"]).endswith("<!-- include: benchmarks/results/t.md -->\n| table |\n"
                                                      "<!-- end include -->")   # the notebook shows the table too
    assert all(o.get("name") != "stderr" for c in nb["cells"] for o in c.get("outputs", []))
    assert readme.main(["--check"], repo) == 0
    assert readme.main([], repo) == 0 and readme.main(["--check"], repo) == 0   # idempotent


@pytest.mark.parametrize("change, message", [
    (lambda r: (r / "image" / "index_1.png").write_bytes(_png(10)), "image/index_1.png: missing or different"),
    (lambda r: (r / "image" / "index_1.png").unlink(), "image/index_1.png: missing or different"),
    (lambda r: (r / "image" / "index_7.png").write_bytes(PNG), "image/index_7.png: not generated"),
    (lambda r: (r / "README.md").write_text(EXPECTED.replace("hi\n", "hello\n")), "+hi"),
    (lambda r: (r / "benchmarks" / "results" / "t.md").write_text("| new |\n"), "nbs/index.ipynb: its include blocks"),
])
def test_check_fails_on_any_difference(repo, capsys, change, message):
    assert readme.main([], repo) == 0
    change(repo)
    capsys.readouterr()
    assert readme.main(["--check"], repo) == 1
    assert message in capsys.readouterr().err
    assert readme.main([], repo) == 0 and readme.main(["--check"], repo) == 0   # a write repairs it
    assert not (repo / "image" / "index_7.png").exists()                       # and removes stale figures


def test_errors_are_reported(repo, capsys):
    nb = json.loads(json.dumps(NOTEBOOK))
    error = {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": []}
    nb["cells"].append(_code("1 / 0", [error]))
    (repo / "nbs" / "index.ipynb").write_text(json.dumps(nb))
    assert readme.main([], repo) == 1
    assert "cell 7 has an error output (ZeroDivisionError" in capsys.readouterr().err
    assert not (repo / "README.md").exists()
    (repo / "nbs" / "index.ipynb").write_text(json.dumps(NOTEBOOK))
    (repo / "benchmarks" / "results" / "t.md").unlink()
    assert readme.main([], repo) == 1
    assert "benchmarks/results/t.md is missing" in capsys.readouterr().err
    with pytest.raises(readme.RenderError, match="outside the repository"):
        readme.rebase_links("[x](../../secret)")


def test_the_repository_readme_is_current():
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text(encoding="utf-8"))
    assert sum(1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})) >= 4
    assert readme.main(["--check"], ROOT) == 0
