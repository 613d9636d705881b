"""The `mmra` CLI starts without loading the heavy libraries the stages use (they load inside the commands),
and still lists every stage's commands. Each check runs in a fresh interpreter, so nothing this test session
already imported can hide a module-level import. Startup time itself is measured by benches/bench_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import typer

HEAVY = ("datasets", "torch", "transformers", "openai", "label_studio_sdk", "pandas", "polars", "pyarrow",
         "duckdb", "matplotlib", "PIL", "pydantic")

# run `mmra ARGS` in this interpreter, then report which heavy modules got loaded
_SCRIPT = """
import json, sys
sys.argv = ["mmra", *json.loads(sys.argv[1])]
from mmra.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("LOADED=" + json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
sys.exit(code)
""".replace("{heavy}", repr(HEAVY))


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(list(args))], capture_output=True,
                          text=True, timeout=120, env=env)


def _loaded(proc: subprocess.CompletedProcess) -> list[str]:
    line = next(x for x in proc.stderr.splitlines() if x.startswith("LOADED="))
    return json.loads(line.removeprefix("LOADED="))


def test_import_mmra_cli_loads_no_heavy_library():
    code = ("import json, sys, mmra.cli; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [], "imported at `import mmra.cli`; move the import into the command"


def _stage_commands() -> dict[str, list[str]]:
    """The commands (and command groups) each stage module registers, found by registering it alone."""
    import importlib

    from mmra.cli import STAGE_CLI_MODULES

    found = {}
    for module_name in STAGE_CLI_MODULES:
        probe = typer.Typer()
        importlib.import_module(module_name).register(probe)
        names = [c.name or c.callback.__name__ for c in probe.registered_commands]
        names += [g.name for g in probe.registered_groups]
        found[module_name] = names
    return found


def test_help_lists_every_stage_command_without_loading_heavy_libraries():
    proc = _run("--help")
    assert proc.returncode == 0, proc.stderr
    # rows of the Commands panel: "│ name   help..."; wrapped help lines start with spaces instead
    listed = {line[2:].split(" ")[0] for line in proc.stdout.splitlines() if line.startswith("│ ") and line[2] != " "}
    stages = _stage_commands()
    for module_name, names in stages.items():
        assert names, f"{module_name} registers no command"
        missing = [n for n in names if n not in listed]
        assert not missing, f"{module_name}: {missing} not in `mmra --help`:\n{proc.stdout}"
    assert {"subtasks", "curate", "annotate", "llm", "leakage", "publish", "eval", "score"} <= listed
    assert _loaded(proc) == []


def test_subtasks_json_runs_without_loading_stage_libraries():
    proc = _run("subtasks", "--json")
    assert proc.returncode == 0, proc.stderr
    subtasks = json.loads(proc.stdout)
    assert len(subtasks) >= 11 and {"SubEvent", "UsageSimilarity"} <= {s["name"] for s in subtasks}
    assert [m for m in _loaded(proc) if m != "pydantic"] == []  # the registry validates with pydantic
