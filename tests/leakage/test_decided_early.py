"""A kind's rotations stop once its hit is decided: the same verdicts as asking every rotation, from fewer
requests, over real HTTP on loopback (the scripted server of test_probe_modes records every request in order)."""

from __future__ import annotations

import json

import pytest

from mmra.benchmark.leakage.method import hit_decided, is_hit
from mmra.llm.client import ChatClient, ChatRequest
from tests.leakage.test_probe_modes import ScriptedServer, _chat_bodies, _cli


def _verdicts(folder) -> dict[str, dict]:
    return {v["id"]: v for v in map(json.loads, (folder / "verdicts.jsonl").read_text().splitlines())}


@pytest.mark.parametrize(("answers", "total", "rule", "decided"), [
    ([True], 4, "all", False), ([True, False], 4, "all", True), ([True] * 4, 4, "all", True),
    ([True, True, True], 4, "majority", True),  # 3 of 4 right: more than half whatever comes next
    ([False, False], 4, "majority", True),  # at most 2 of 4 right: never more than half
    ([True, False], 4, "majority", False), ([True, False, True], 3, "majority", True),
])
def test_hit_decided_matches_every_completion(answers, total, rule, decided):
    assert hit_decided(answers, rule, total) is decided
    if decided:  # whatever the remaining probes answer, the hit is the one is_hit gives now
        import itertools

        rest = total - len(answers)
        outcomes = {is_hit(answers + list(tail), rule) for tail in itertools.product([True, False], repeat=rest)}
        assert outcomes == {is_hit(answers, rule, total)}


def test_run_chains_asks_in_order_and_stops_when_decided(tmp_path):
    chains = [[ChatRequest(messages=[{"role": "user", "content": f"chain {c} step {j}\nA. x\nB. y"}])
               for j in range(3)] for c in range(6)]
    with ScriptedServer({}) as server:
        client = ChatClient(server.base_url, "m", cache_path=tmp_path / "c.sqlite", concurrency=3, progress=False)
        # even chains stop after their first answer
        results = client.run_chains(chains, decided=lambda c, got: c % 2 == 0)
        sent = [b["messages"][0]["content"].split("\n")[0] for b in server.bodies]
        again = client.run_chains(chains, decided=lambda c, got: c % 2 == 0)
        assert len(server.bodies) == len(sent)  # the re-run is answered from the cache
    assert [len(r) for r in results] == [1, 3, 1, 3, 1, 3]
    assert [len(r) for r in again] == [1, 3, 1, 3, 1, 3] and all(x.cached for r in again for x in r)
    assert sorted(sent) == sorted([f"chain {c} step 0" for c in range(0, 6, 2)]
                                  + [f"chain {c} step {j}" for c in range(1, 6, 2) for j in range(3)])
    for c in range(1, 6, 2):  # a chain's requests go one after another
        steps = [s for s in sent if s.startswith(f"chain {c} ")]
        assert steps == [f"chain {c} step {j}" for j in range(3)]
    assert client.last_stats.not_asked == 6 and client.last_stats.requests == 12


def test_same_verdicts_as_every_rotation_from_fewer_requests(tmp_path, samples_path):
    path, samples = samples_path
    knowledge = {"fruit": ("banana", {0}), "can fly": ("bird", {0})}  # two text-answerable questions
    base = ["leakage", "--samples", str(path), "--probe", "circular,eval-default,choices-only"]
    with ScriptedServer(knowledge) as server:
        every = _cli(*base, "--every-rotation", "--cache", str(tmp_path / "a.sqlite"), "--model",
                     f"m@{server.base_url}", "--out", str(tmp_path / "every"))
        assert every.exit_code == 0, every.output
        n_every = len(_chat_bodies(server))
        early = _cli(*base, "--cache", str(tmp_path / "b.sqlite"), "--model", f"m@{server.base_url}",
                     "--out", str(tmp_path / "early"))
        assert early.exit_code == 0, early.output
        n_early = len(_chat_bodies(server)) - n_every
    all_v, early_v = _verdicts(tmp_path / "every"), _verdicts(tmp_path / "early")
    for sid, v in all_v.items():
        e = early_v[sid]
        assert (e["leaked"], e["hits"], e["model_hits"], e["choices_only_hits"], e["status"]) == \
            (v["leaked"], v["hits"], v["model_hits"], v["choices_only_hits"], v["status"])
        for kind, ev in v["models"]["m"]["kinds"].items():
            got = e["models"]["m"]["kinds"][kind]
            assert got["hit"] == ev["hit"] and got["first_correct"] == ev["first_correct"]
            assert got["probes"] + got["not_asked"] == ev["probes"] and ev["not_asked"] == 0
    assert sum(v["leaked"] for v in early_v.values()) == 2
    assert n_early < n_every
    by_question = {s.question: s.id for s in samples}
    fruit = early_v[by_question["Which of these is a fruit?"]]["models"]["m"]
    assert fruit["kinds"]["circular"] == {**fruit["kinds"]["circular"], "probes": 3, "not_asked": 0, "hit": True}
    # the scripted server answers "A" to questions it does not know: right on the rotation that shows the
    # gold at A only, so the kitchen question (gold A) stops at its second rotation, and the rest is recorded
    kitchen = early_v[by_question["Where were both photos most likely taken?"]]["models"]["m"]
    assert [p.get("asked", True) for p in kitchen["probes"] if p["kind"] == "circular"] == [True, True, False, False]
    assert kitchen["probes"][2]["status"] == "not asked" and kitchen["probes"][2]["correct"] is None
    report = json.loads((tmp_path / "early" / "report.json").read_text())
    circular = report["totals"]["models"]["m"]["probes"]["circular"]
    assert circular["not_asked"] > 0 and circular["asked"] + circular["not_asked"] == \
        json.loads((tmp_path / "every" / "report.json").read_text())["totals"]["models"]["m"]["probes"]["circular"][
            "asked"]
    assert report["settings"]["accuracy_over"].startswith("each sample's first probe")
    # accuracy over each sample's first rotation is the same in both runs' verdicts
    firsts = [v["models"]["m"]["kinds"]["circular"]["first_correct"] for v in early_v.values()]
    assert circular["accuracy"] == round(sum(firsts) / len(firsts), 4)


@pytest.fixture()
def samples_path(tmp_path, make_image):
    from mmra.benchmark.records import write_jsonl
    from tests.leakage.conftest import IMAGE_DEPENDENT, TEXT_ANSWERABLE, build_samples

    samples = build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT)
    return write_jsonl(tmp_path / "samples.jsonl", samples), samples


def test_run_asks_consecutive_requests_one_after_another(tmp_path):
    """`run` cuts the requests into `concurrency` runs of consecutive ones, each asked in order on one connection
    (so requests that share a beginning, put next to each other, reach the slot that holds it)."""
    requests = [ChatRequest(messages=[{"role": "user", "content": f"request {i}\nA. x\nB. y"}]) for i in range(7)]
    with ScriptedServer({}) as server:
        client = ChatClient(server.base_url, "m", cache_path=None, concurrency=2, progress=False)
        results = client.run(requests)
        sent = [int(b["messages"][0]["content"].split("\n")[0].split()[1]) for b in server.bodies]
    assert [r.text for r in results] == ["A"] * 7 and sorted(sent) == list(range(7))
    assert [i for i in sent if i < 4] == [0, 1, 2, 3] and [i for i in sent if i >= 4] == [4, 5, 6]


def test_eval_sends_openai_requests_in_prompt_text_order(tmp_path, samples_path):
    """Prompts that share a beginning follow each other (Backend.order_by_text), so llama.cpp's slots reuse it."""
    path, samples = samples_path
    toml = tmp_path / "mmra.toml"
    toml.write_text(f'[paths]\ncache = "{tmp_path / "eval-cache"}"\n')
    with ScriptedServer({}) as server:
        ev = _cli("eval", "--dataset", str(path), "--backend", "openai", "--base-url", server.base_url, "--model", "m",
                  "--setting", "QO", "--concurrency", "1", "--out", str(tmp_path / "qo"), env={"MMRA_CONFIG": str(toml)})
        assert ev.exit_code == 0, ev.output
        texts = [b["messages"][-1]["content"] for b in _chat_bodies(server)]
    assert len(texts) == len(samples) and texts == sorted(texts)
    scored = [json.loads(x) for x in (tmp_path / "qo" / "scored.jsonl").read_text().splitlines()]
    assert {r["id"] for r in scored} == {s.id for s in samples}
