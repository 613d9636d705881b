import json
import subprocess
import sys
import textwrap

import pytest

from mmra.benchmark.registry import Subtask, all_subtasks, get_subtask
from tests.plugins import install_plugin

PAPER = ["RelativePosition", "UsageSimilarity", "MentalitySimilarity", "SimilarMaterial", "AppearanceSimilarity",
         "NearSameEntity", "Environment", "Layout", "SimilarEvent", "SubEvent", "ObservationAngle"]


def test_eleven_builtin_subtasks():
    builtin = [s for s in all_subtasks() if s.origin == "builtin"]
    assert [s.name for s in builtin] == PAPER
    assert sum(s.granularity.value == "entity" for s in builtin) == 6
    assert sum(s.granularity.value == "image" for s in builtin) == 5
    assert sum(s.paper_count for s in builtin) == 1024
    assert get_subtask("SubE").order_sensitive and get_subtask("subevent").swap_rule == "flip_yes_no"


def test_unknown_subtask_lists_known_ones():
    with pytest.raises(KeyError, match="unknown subtask 'Nope'.*RelativePosition"):
        get_subtask("Nope")


def test_bad_subtask_definition():
    with pytest.raises(ValueError, match="name"):
        Subtask(name="two words", abbreviation="X", granularity="entity", definition="d")


def test_cli_json_lists_fields():
    out = subprocess.run([sys.executable, "-m", "mmra.cli", "subtasks", "--json"], capture_output=True, text=True,
                         check=True).stdout
    items = json.loads(out)
    names = [i["name"] for i in items]
    assert names[:11] == PAPER
    for item in items:
        assert {"name", "abbreviation", "granularity", "relations", "qa_types", "order_sensitive"} <= item.keys()


@pytest.mark.slow
def test_external_package_registers_a_12th_subtask(tmp_path):
    """A tiny package, installed for real into a fresh venv layer, adds a subtask via the entry point."""
    env = install_plugin(tmp_path, "colour_plugin", '''
        from mmra.benchmark.registry import Subtask
        COLOUR_MATCH = Subtask(name="ColourMatch", abbreviation="CM", granularity="entity",
                               definition="Entities in both images share a dominant colour.",
                               relations=("HasProperty",), qa_types=("multiple_choice",))
    ''', {'mmra.subtasks': {'colour_match': 'colour_plugin:COLOUR_MATCH'}})
    out = subprocess.run([sys.executable, "-m", "mmra.cli", "subtasks", "--json"], capture_output=True, text=True,
                         check=True, env=env).stdout
    items = {i["name"]: i for i in json.loads(out)}
    assert len(items) == 12
    assert items["ColourMatch"]["abbreviation"] == "CM"
    assert "entry point colour_match" in items["ColourMatch"]["origin"]
    table = subprocess.run([sys.executable, "-m", "mmra.cli", "subtasks"], capture_output=True, text=True,
                           check=True, env={**env, "COLUMNS": "200"}).stdout
    assert "ColourMatch" in table and "12 subtasks" in table


def test_every_builtin_subtask_carries_its_own_miner():
    """One registration path for miners: `Subtask.miner` (a function or "module:function")."""
    from mmra.curation import miners

    for spec in [s for s in all_subtasks() if s.origin == "builtin"]:
        fn = spec.resolve_miner()
        assert callable(fn) and fn.__module__ == miners.__name__, spec.name


def test_the_subtask_decorator_registers_a_subtask_with_its_miner():
    from mmra.benchmark.registry import REGISTRY, subtask

    @subtask(name="DecoratedTest", abbreviation="DCT", granularity="image", definition="A test subtask.")
    def mine_decorated(context, quota, rng):
        return iter(())

    try:
        spec = get_subtask("DecoratedTest")
        assert spec.resolve_miner() is mine_decorated and get_subtask("dct") is spec
        by_reference = Subtask(name="RefTest", abbreviation="RFT", granularity="entity", definition="d",
                               miner="mmra.curation.miners:mine_layout")
        from mmra.curation.miners import mine_layout

        assert by_reference.resolve_miner() is mine_layout
    finally:
        REGISTRY._items.pop("DecoratedTest", None)


def test_external_package_registers_a_backend_and_a_prompt_profile(tmp_path):
    """Backends and prompt profiles register like subtasks: entry points of a real installed package."""
    env = install_plugin(tmp_path, "echo_plugin", '''
        from mmra.eval.backends import Backend, Output

        class EchoBackend(Backend):
            """Answers the first option letter it sees in the prompt text (a real, if simple, backend)."""
            name = "echo"

            def __init__(self, model, **options):
                self.model_id = model

            def generate(self, prompts, *, max_new_tokens):
                return [Output("A" if "A." in p.text else "Yes", None) for p in prompts]

        def terse(question, options, qa_type, *, with_question=True):
            letters = " ".join(f"({chr(65 + i)}) {o}" for i, o in enumerate(options))
            return f"TERSE {question if with_question else ''} {letters}".strip()
    ''', {'mmra.backends': {'echo': 'echo_plugin:EchoBackend'}, 'mmra.prompt_profiles': {'terse': 'echo_plugin:terse'}})
    script = textwrap.dedent('''
        import json
        from mmra.benchmark.prompts import profile_names, question_text
        from mmra.eval.backends import backend_names, make_backend
        backend = make_backend("echo", "m")
        print(json.dumps({"backends": backend_names(), "profiles": profile_names(), "backend": type(backend).__name__,
                          "text": question_text("Which?", ["x", "y", "z"], "multiple_choice", profile="terse")}))
    ''')
    out = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                    env=env).stdout)
    assert out["backends"] == ["hf", "vllm", "openai", "echo"] and out["backend"] == "EchoBackend"
    assert out["profiles"] == ["default", "paper", "terse"]
    assert out["text"] == "TERSE Which? (A) x (B) y (C) z"
    bad = subprocess.run([sys.executable, "-m", "mmra.cli", "eval", "--dataset", str(tmp_path), "--model", "m",
                          "--backend", "nope", "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env)
    said = " ".join((bad.stderr + bad.stdout).split())
    assert bad.returncode != 0 and "Traceback" not in said
    assert "unknown backend 'nope'; choose one of hf, vllm, openai, echo" in said
