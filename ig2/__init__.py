"""ig2: IG² (Integrated Gradients on an Iterative Gradient path) and the path-attribution family for Keras 3.

`import ig2` is light: the public names and the submodules load on first use (PEP 562), so importing the
package pulls in neither TensorFlow nor any optional package. `ig2.IG2` imports `ig2.ig2` (and
TensorFlow) the first time it is asked for.
"""
# Hand-written, not exported by nbdev (settings.ini: put_version_in_init = False).
import importlib
import pkgutil

# public name -> the module that defines it (each module is imported only when one of its names is used)
_EXPORTS = {
    "core": ("ModelAdapter", "Explainer"),
    "paths": ("GradPath", "auto_step_size"),
    "engine": ("PathResult",),
    "ig2": ("IG2", "GradCFE", "OtherClassReferences", "RelevantReferences"),
    "ig": ("IntegratedGradients",),
    "gradients": ("VanillaGradient", "GradientInput", "SmoothGrad"),
    "expected": ("ExpectedGradients",),
    "guided": ("GuidedIG",),
    "blurig": ("BlurIG",),
    "text": ("EmbeddingAdapter", "TextExplainer", "TextAttribution"),
    "questions": ("load_questions", "load_question_cnn"),
    "widgets": ("PathExplorer",),
    "division": ("divide", "partition_from_masks"),
    "regions": ("SubmodularRegions", "RegionResult", "greedy_maximize", "blurred_canvas"),
    "scale": ("explain_dataset", "load_shards", "sample_images", "calibrate_batchnorm", "IMAGENET_IG2"),
    "curves": ("insertion", "deletion"),
    "information": ("pic", "sic", "aic"),  # not a module `pic`: importing it would shadow the function `ig2.pic`
    "fidelity": ("completeness_gap", "mu_fidelity", "infidelity", "max_sensitivity"),
    "localisation": ("pointing_game", "energy_in_mask"),
}
_ORIGIN = {name: module for module, names in _EXPORTS.items() for name in names}
# every submodule and subpackage on disk (new ones need no entry here); private ones (_modidx, __main__) stay hidden
_SUBMODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

# optional packages (pip names) per extra; tests/test_packaging.py checks this against settings.ini
_EXTRAS = {
    "widgets": ("ipywidgets", "matplotlib", "pillow"),
    "regions": ("opencv-contrib-python-headless", "scikit-image", "matplotlib"),
    "text": ("matplotlib",),
    "bench": ("matplotlib", "tqdm", "scikit-image", "opencv-contrib-python-headless", "mnist1d", "mlxtend",
              "threadpoolctl", "pillow", "shap"),
}
_IMPORT_NAMES = {"pillow": "PIL", "opencv-contrib-python-headless": "cv2", "scikit-image": "skimage"}
_MODULE_EXTRA = {"widgets": "widgets", "viz": "widgets", "division": "regions", "regions": "regions", "evidential": "regions",
                 "bench": "bench", "experiments": "bench", "speed": "bench"}

__all__ = sorted(_ORIGIN)


def _extra_for(package: str, module: str):
    "The (pip name, extra) that provides import name `package`; the extra of `module` first; None if not optional."
    found = [(pip, extra) for extra, pips in _EXTRAS.items() for pip in pips if _IMPORT_NAMES.get(pip, pip) == package]
    found.sort(key=lambda pe: pe[1] != _MODULE_EXTRA.get(module))  # stable: the module's own extra, then file order
    return found[0] if found else None


def _import(module: str, wanted: str):
    "Import `ig2.module`; a missing optional package becomes an ImportError that names the extra to install."
    try:
        return importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as e:
        hit = _extra_for((e.name or "").split(".")[0], module)
        if hit is None: raise  # a core dependency or a real bug: the original error says it best
        pip, extra = hit
        raise ImportError(f"ig2.{wanted} needs {pip}: pip install 'ig2[{extra}]'", name=e.name) from e


def _version() -> str:
    "The installed distribution's version (setup.py takes it from settings.ini); a source tree reads settings.ini."
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(__name__)
    except PackageNotFoundError:
        from configparser import ConfigParser
        from pathlib import Path
        cfg = ConfigParser(delimiters=["="])
        cfg.read(Path(__file__).resolve().parent.parent / "settings.ini", encoding="utf-8")
        ok = cfg.defaults().get("lib_name") == __name__  # never trust a settings.ini of another project
        return cfg.defaults().get("version", "0+unknown") if ok else "0+unknown"


def __getattr__(name: str):
    if name in _ORIGIN:
        value = getattr(_import(_ORIGIN[name], name), name)
    elif name in _SUBMODULES:
        value = _import(name, name)
    elif name == "__version__":
        value = _version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__():
    return sorted(set(globals()) | set(_ORIGIN) | _SUBMODULES | {"__version__"})
