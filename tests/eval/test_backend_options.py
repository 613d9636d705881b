"""`--backend-option KEY=VALUE` reaches any backend's constructor, a plug-in's included (before, only the built-in
backends got options, through an if-chain on their names); a key the backend does not take is one line."""

from __future__ import annotations

import json
import subprocess
import sys

from mmra.benchmark.records import write_jsonl
from tests.plugins import install_plugin
from tests.release.conftest import make_sample_records


def _plugin(tmp_path):
    return install_plugin(tmp_path, "fixed_plugin", '''
        from mmra.eval.backends import Backend, Output

        class FixedBackend(Backend):
            """Always gives the answer it was configured with (a real, if simple, backend)."""
            name = "fixed"

            def __init__(self, model, *, answer="A", repeat=1):
                self.model_id, self.answer, self.repeat = model, answer, repeat

            def generate(self, prompts, *, max_new_tokens):
                return [Output(" ".join([self.answer] * self.repeat), None) for _ in prompts]
    ''', {"mmra.backends": {"fixed": "fixed_plugin:FixedBackend"}})


def test_backend_option_reaches_a_plugin_backend(tmp_path):
    env = _plugin(tmp_path)
    write_jsonl(tmp_path / "samples.jsonl", make_sample_records(tmp_path, 8, flag_every=0))
    run = [sys.executable, "-m", "mmra.cli", "eval", "--dataset", "samples.jsonl", "--model", "m", "--backend",
           "fixed", "--setting", "QO"]
    r = subprocess.run([*run, "--out", "run", "--backend-option", "answer=B", "--backend-option", "repeat=2"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert lines and all(x["response"] == "B B" for x in lines)  # the string and the JSON number both arrived
    bad = subprocess.run([*run, "--out", "run2", "--backend-option", "colour=red"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    said = " ".join(bad.stderr.split())
    assert bad.returncode != 0 and "backend 'fixed'" in said and "colour" in said and "Traceback" not in said
    worse = subprocess.run([*run, "--out", "run3", "--backend-option", "no-equals"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert worse.returncode == 2 and "expected KEY=VALUE" in " ".join(worse.stderr.split())
