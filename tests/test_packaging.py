"Packaging and first run: a light `import ig2`, a quiet and quick CLI, extras, version, licence, wheel contents."
import configparser, os, re, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("ipywidgets", "cv2", "matplotlib", "tensorflow", "keras")
TF_NOISE = re.compile(r"tensorflow|cuda|onednn", re.IGNORECASE)


def settings() -> configparser.SectionProxy:
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return cfg["DEFAULT"]


def python(code: str, **kw) -> subprocess.CompletedProcess:
    "Run `code` in a fresh interpreter (so nothing imported by this test process leaks in)."
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the CLI must quieten TF by itself
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, **kw)


def test_import_loads_no_heavy_package():
    r = python(f"import ig2, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_light_modules_load_no_tensorflow():
    "The shared argument checks stay NumPy only, so XAI-Bench (and its checks) run without TensorFlow."
    r = python("import sys, ig2.checks, ig2.xaibench; "
               f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_names_load_on_first_use_and_keep_their_meaning():
    "`ig2.IG2` imports ig2.ig2 (and TensorFlow) when first asked for; every name and submodule resolves."
    code = ("import ig2, importlib, sys\n"
            "assert 'ig2.ig2' not in sys.modules and 'IG2' in dir(ig2)\n"
            "IG2 = ig2.IG2\n"
            "assert 'tensorflow' in sys.modules and IG2 is importlib.import_module('ig2.ig2').IG2\n"
            "bad = [n for n in ig2.__all__ if getattr(ig2, n) is not getattr(importlib.import_module('ig2.' + ig2._ORIGIN[n]), n)]\n"
            "bad += [m for m in sorted(ig2._SUBMODULES) if getattr(ig2, m) is not importlib.import_module('ig2.' + m)]\n"
            "print(len(ig2.__all__), bad)")
    r = python(code, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    count, bad = r.stdout.strip().splitlines()[-1].split(" ", 1)
    assert bad == "[]" and int(count) >= 44  # the eager __init__'s 46 names less get_metric and METRICS (removed with the old tabular suite)


def test_no_public_name_is_a_submodule():
    "Importing `ig2.x` sets the package's attribute `x` to the module: a public name `x` would be shadowed by it."
    import ig2
    assert not set(ig2._ORIGIN) & ig2._SUBMODULES


def test_unknown_attribute_raises_attribute_error():
    import ig2
    with pytest.raises(AttributeError, match="no_such_name"):
        ig2.no_such_name
    assert not hasattr(ig2, "_secret") and "IG2" in dir(ig2) and "metrics" in dir(ig2)


def test_version_comes_from_settings_ini():
    import ig2
    assert ig2.__version__ == settings()["version"], "reinstall (pip install -e .) after changing settings.ini's version"
    assert settings()["put_version_in_init"] == "False"  # nbdev must not write a second copy into __init__.py


def test_licence_is_apache():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert settings()["license"] == "apache2"


def test_missing_optional_package_names_the_extra():
    code = ("import sys\nsys.modules['ipywidgets'] = None; sys.modules['cv2'] = None\nimport ig2\n"
            "for name in ('PathExplorer', 'regions'):\n"
            "    try: getattr(ig2, name)\n"
            "    except ImportError as e: print(e)\n")
    r = python(code, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-2:] == [
        "ig2.PathExplorer needs ipywidgets: pip install 'ig2[widgets]'",
        "ig2.regions needs opencv-contrib-python-headless: pip install 'ig2[regions]'"]


def test_core_modules_import_without_extras():
    "The modules outside the widgets/regions/bench extras import with every optional package missing."
    import ig2
    optional = sorted({ig2._IMPORT_NAMES.get(p, p) for pips in ig2._EXTRAS.values() for p in pips} - {"tqdm", "PIL"})
    core = sorted(ig2._SUBMODULES - set(ig2._MODULE_EXTRA))
    code = (f"import sys, importlib\nfor m in {optional!r}: sys.modules[m] = None\n"
            f"for m in {core!r}: importlib.import_module('ig2.' + m)\nprint('ok')")
    r = python(code, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
    assert {"core", "ig", "ig2", "gradients", "metrics", "paths", "data", "text", "questions"} <= set(core)


def test_extras_match_settings_ini():
    import ig2
    cfg = settings()
    for extra, pips in ig2._EXTRAS.items():
        assert sorted(cfg[f"{extra}_requirements"].split()) == sorted(pips), extra
    core = cfg["requirements"].split()
    assert {"tensorflow>=2.16", "numpy>=1.23", "scipy", "scikit-learn"} <= set(core)
    assert "nbdev==2.4.14" in cfg["dev_requirements"].split()  # nbdev 3 refuses settings.ini


def test_no_made_up_links_in_modidx():
    assert settings()["doc_host"] == "" and settings()["git_url"] == ""
    assert "example.invalid" not in (ROOT / "ig2" / "_modidx.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["demo", "--help"], ["train-models", "--help"],
                                  ["bench-speed", "--help"]])
def test_cli_help_is_quick_and_quiet(args):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "ig2", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    seconds = time.perf_counter() - t0
    print(f"python -m ig2 {' '.join(args)}: {seconds:.2f} s")  # the figure; the bound below is generous on purpose
    assert r.returncode == 0, r.stderr
    assert not TF_NOISE.search(r.stderr), r.stderr
    assert r.stdout.strip() and seconds < 10


def test_cli_refuses_unknown_command():
    r = subprocess.run([sys.executable, "-m", "ig2", "explain-everything"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_console_script():
    "The `ig2` console script (setup.py entry point) is the same `main`, exiting 0."
    from ig2.__main__ import main
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    script = Path(sys.executable).parent / "ig2"
    if not script.exists():
        pytest.skip("no `ig2` script beside this interpreter: pip install -e . creates it")
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("usage: ig2") and not r.stderr


def test_wheel_and_sdist_contents(tmp_path):
    "The sdist carries settings.ini (setup.py reads it); the wheel built from it has the licence, assets, script, extras."
    pytest.importorskip("build")
    import tarfile, zipfile
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    with tarfile.open(next(tmp_path.glob("*.tar.gz"))) as t:
        names = {n.split("/", 1)[-1] for n in t.getnames()}
    assert {"settings.ini", "LICENSE", "README.md", "MANIFEST.in"} <= names
    with zipfile.ZipFile(next(tmp_path.glob("*.whl"))) as w:
        names = w.namelist()
        read = lambda suffix: w.read(next(n for n in names if n.endswith(suffix))).decode()
        entry_points, metadata = read("entry_points.txt"), read("METADATA")
    assert any(n.endswith("dist-info/LICENSE") for n in names)
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ig2" / "assets").rglob("*") if p.is_file()}
    assert shipped <= set(names), sorted(shipped - set(names))
    assert "ig2 = ig2.__main__:main" in entry_points
    for extra in ("widgets", "regions", "text", "bench", "all", "dev"):
        assert f"Provides-Extra: {extra}" in metadata
