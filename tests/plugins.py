"""Install a real package that registers plug-ins through entry points, for the tests of each registry (subtasks,
backends, prompt profiles, blind probes): one module, its entry points, pip-installed into a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def install_plugin(tmp_path: Path, name: str, source: str, entry_points: dict[str, dict[str, str]]) -> dict[str, str]:
    """Build package `name` (module `name`, holding `source`) with `entry_points` ({group: {name: "mod:attr"}}),
    pip-install it into tmp_path/site and return an environment whose PYTHONPATH sees it."""
    pkg = tmp_path / name
    (pkg / name).mkdir(parents=True)
    (pkg / name / "__init__.py").write_text(textwrap.dedent(source))
    groups = "".join(f'[project.entry-points."{group}"]\n' + "".join(f'{k} = "{v}"\n' for k, v in eps.items())
                     for group, eps in entry_points.items())
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name.replace("_", "-")}"\nversion = "0.0.1"\n{groups}'
        f'[tool.setuptools]\npackages = ["{name}"]\n')
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(pkg)], check=True)
    return {**os.environ, "PYTHONPATH": str(target)}
