# Packaging from settings.ini (nbdev 2's configuration): the one source of the version and the dependencies.
from configparser import ConfigParser
from pathlib import Path
import setuptools

HERE = Path(__file__).resolve().parent
cfg = ConfigParser(delimiters=["="])
cfg.read(HERE / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

EXTRAS = ("widgets", "regions", "text", "bench")  # each from `NAME_requirements` in settings.ini
extras = {name: cfg.get(f"{name}_requirements", "").split() for name in EXTRAS}
extras["all"] = sorted(set().union(*extras.values()))
extras["dev"] = sorted(set(extras["all"]) | set(cfg.get("dev_requirements", "").split()))

setuptools.setup(
    name=cfg["lib_name"], version=cfg["version"], description=cfg["description"],
    author=cfg["author"], author_email=cfg["author_email"], license="Apache-2.0", license_files=["LICENSE"],
    keywords=cfg["keywords"].split(), python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=["ig2", "ig2.*"]),
    # data shipped inside the package (TREC questions, trained models); MANIFEST.in puts them in the sdist
    package_data={"ig2": ["assets/*", "assets/*/*"]}, include_package_data=True,
    install_requires=cfg.get("requirements", "").split(), extras_require=extras,
    long_description=(HERE / "README.md").read_text(encoding="utf-8"), long_description_content_type="text/markdown",
    entry_points={"console_scripts": ["ig2 = ig2.__main__:main"],
                  "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    classifiers=["License :: OSI Approved :: Apache Software License", "Programming Language :: Python :: 3",
                 "Topic :: Scientific/Engineering :: Artificial Intelligence"],
    zip_safe=False,
)
