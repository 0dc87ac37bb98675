# Packaging from settings.ini (nbdev 2's configuration): one source for version and dependencies.
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]
reqs = cfg.get("requirements", "").split()
dev_reqs = cfg.get("dev_requirements", "").split()

setuptools.setup(
    name=cfg["lib_name"], version=cfg["version"], description=cfg["description"],
    author=cfg["author"], license="Apache-2.0", python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=["ig2", "ig2.*"]), include_package_data=True,
    install_requires=reqs, extras_require={"dev": dev_reqs},
    long_description=open("README.md", encoding="utf-8").read(), long_description_content_type="text/markdown",
    entry_points={"nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
