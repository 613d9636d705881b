"""The wheel holds every subpackage of the mapped folders, under the `mmra` namespace only."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"mmra": "mmra", "curation": "mmra/curation", "annotation": "mmra/annotation",
           "benchmark": "mmra/benchmark", "eval": "mmra/eval"}


@pytest.mark.slow
def test_wheel_contains_every_subpackage(tmp_path):
    # build from a clean copy of the source files: a stale build/ folder in the checkout could hide a gap
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(src)], check=True)
    wheel = next(tmp_path.glob("mmra_toolkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, target in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            expected.add(str(Path(target, rel, "__init__.py")))
    missing = sorted(expected - names)
    assert not missing, f"subpackages missing from the wheel: {missing}"
    # data files the code reads at run time ship too
    for data_file in ("mmra/demo/data/relations.tsv",):
        assert data_file in names, f"{data_file} missing from the wheel"
    tops = {n.split("/")[0] for n in names if not n.startswith("mmra_toolkit-")}
    assert tops == {"mmra"}, f"unexpected top-level names in the wheel: {tops}"
