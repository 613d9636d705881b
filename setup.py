"""Map the root folders onto the `mmra` namespace.

The repository keeps `curation/ annotation/ benchmark/ eval/` at the top level (the layout users asked for),
but they install as `mmra.curation`, `mmra.annotation`, ... so no generic top-level name such as `eval`
lands in site-packages. Packages are discovered by walking the folders, so a new subpackage can never be
left out of the wheel by a stale hand-written list.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
STAGE_FOLDERS = ("curation", "annotation", "benchmark", "eval")

package_dir = {"mmra": "mmra"}
packages = ["mmra", *(f"mmra.{p}" for p in find_packages("mmra"))]
for folder in STAGE_FOLDERS:
    package_dir[f"mmra.{folder}"] = folder
    packages.append(f"mmra.{folder}")
    packages.extend(f"mmra.{folder}.{sub}" for sub in find_packages(folder))
    # subpackages of a mapped folder need their own mapping for editable installs
    for sub in find_packages(folder):
        package_dir[f"mmra.{folder}.{sub}"] = str(Path(folder, *sub.split(".")))

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={"": ["*.json", "*.toml", "*.xml", "*.txt", "*.yaml", "*.jsonl", "*.tsv", "*.png", "*.jpg", "py.typed", "data/*"]},
    include_package_data=True,
)
