"""Parameters are documented where users look: `help(ig2.X)` lists every parameter of every public class and function.

Every name in a module's `__all__` that is a class or a function needs a NumPy-style docstring with a line
`name : ...` for each parameter of its signature (a class: of `__init__`), `*args`/`**kwargs` and `self` aside.
Module docstrings are one sentence, never cut mid-sentence by nbdev.
"""
import importlib, inspect, pkgutil, re
import pytest
import ig2

MODULES = sorted(m.name for m in pkgutil.iter_modules(ig2.__path__) if not m.name.startswith("_"))


def public_callables(module):
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None) == module.__name__:
            yield name, obj


def undocumented(obj) -> list:
    fn = obj.__init__ if inspect.isclass(obj) else obj
    try: params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError): return []
    doc = inspect.getdoc(obj) or ""
    names = [p.name for p in params if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return [n for n in names if not re.search(rf"^\s*\*{{0,2}}{re.escape(n)}\s*:", doc, re.M)]


@pytest.mark.parametrize("module", MODULES)
def test_every_parameter_is_documented(module):
    mod = importlib.import_module(f"ig2.{module}")
    missing = {name: m for name, obj in public_callables(mod) if (m := undocumented(obj))}
    assert not missing, f"ig2.{module}: parameters without a `name : meaning` line in the docstring: {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_module_docstring_is_whole(module):
    doc = (importlib.import_module(f"ig2.{module}").__doc__ or "").strip()
    assert doc, f"ig2.{module} has no module docstring"
    assert doc[-1] in ".)`:!?" or doc.endswith("..."), f"ig2.{module}'s docstring looks cut: {doc[-60:]!r}"
