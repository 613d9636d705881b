"""The LLM probe modes of `mmra leakage` over real HTTP on loopback (a scripted OpenAI-compatible server that
records every request body and answers deterministically from the prompt and the request's seed), and the VLM
image probes with the tiny random Qwen2-VL (real transformers forward passes).

- the eval-QO probes send byte-identical messages to what `mmra eval --setting QO` sends, per profile;
- sampled mode sends K distinct requests per probe and applies MMMU-Pro's "right in more than half" rule;
- the image settings produce predictions, and the one-image rule flags as specified."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.benchmark.leakage.method import answerable_from_one_image, knows
from mmra.benchmark.leakage.vlm import image_probe_evidence
from mmra.benchmark.mmra_format import options_to_mmra
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample
from mmra.eval.scoring import ScoredItem, score_record
from tests.leakage.conftest import IMAGE_DEPENDENT, TEXT_ANSWERABLE, build_samples

_OPTION = re.compile(r"(?:^|\s)([A-D])[.:]\s+(.+?)(?=\s{2,}[A-D]:|\n|$)", re.MULTILINE)


class ScriptedServer:
    """OpenAI-compatible chat server: records each request body; answers the option whose text is the target
    of the first `knowledge` key in the prompt when the request's seed is in that key's `right_seeds` (no seed:
    seed 0), else another option. Yes/no prompts without options get "Yes"."""

    def __init__(self, knowledge: dict[str, tuple[str, set[int]]], models=("m",)):
        self.knowledge = knowledge
        self.models = list(models)
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, body: dict) -> str:
        prompt = "\n".join(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                           for m in body["messages"])
        options = {letter: text.strip() for letter, text in _OPTION.findall(prompt)}
        seed = body.get("seed", 0)
        for key, (target, right_seeds) in self.knowledge.items():
            if key in prompt and options:
                right = next((ltr for ltr, t in options.items() if t == target), "A")
                wrong = next(ltr for ltr in options if ltr != right)
                return right if seed in right_seeds else wrong
        return next(iter(options), "Yes")

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._json({"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "t"}
                                                       for m in server.models]})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.bodies.append(body)
                text = server.answer(body)
                self._json({"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        return Handler


def _cli(*args: str, env: dict | None = None):
    from mmra.cli import app

    return CliRunner().invoke(app, list(args), env=env)


def _chat_bodies(server: ScriptedServer) -> list[dict]:
    return [b for b in server.bodies if b["messages"] != [{"role": "user", "content": "Say OK."}]]


def _user_texts(bodies) -> list[str]:
    return sorted(json.dumps(b["messages"], sort_keys=True, ensure_ascii=False) for b in bodies)


@pytest.fixture()
def samples_path(tmp_path, make_image) -> tuple[Path, list[Sample]]:
    from mmra.benchmark.records import write_jsonl

    samples = build_samples(make_image, TEXT_ANSWERABLE + IMAGE_DEPENDENT)
    return write_jsonl(tmp_path / "samples.jsonl", samples), samples


@pytest.mark.parametrize("profile", ["default", "paper"])
def test_eval_probe_sends_exactly_what_eval_qo_sends(tmp_path, samples_path, profile):
    path, samples = samples_path
    toml = tmp_path / "mmra.toml"
    toml.write_text(f'[paths]\ncache = "{tmp_path / "eval-cache"}"\n')
    env = {"MMRA_CONFIG": str(toml)}
    with ScriptedServer({}) as server:
        ev = _cli("eval", "--dataset", str(path), "--backend", "openai", "--base-url", server.base_url,
                  "--model", "m", "--setting", "QO", "--profile", profile, "--out", str(tmp_path / "qo"), env=env)
        assert ev.exit_code == 0, ev.output
        eval_bodies = _chat_bodies(server)
        server.bodies.clear()
        lk = _cli("leakage", "--samples", str(path), "--model", f"m@{server.base_url}", "--probe",
                  f"eval-{profile}", "--no-cache", "--out", str(tmp_path / "lk"), env=env)
        assert lk.exit_code == 0, lk.output
        leak_bodies = _chat_bodies(server)
    assert len(eval_bodies) == len(leak_bodies) == len(samples)
    # the same messages, byte for byte, and the same sampling fields: one request, two stages
    assert _user_texts(eval_bodies) == _user_texts(leak_bodies)
    strip = [{k: v for k, v in b.items() if k != "messages"} for b in eval_bodies + leak_bodies]
    assert all(s == strip[0] for s in strip), strip[:2]
    assert all(b["messages"][0]["role"] == "user" and len(b["messages"]) == 1 for b in leak_bodies)
    # and the filter scores it as eval does: per-sample correctness equals eval's scored rows
    scored = {json.loads(x)["id"]: json.loads(x)["correct"]
              for x in (tmp_path / "qo" / "scored.jsonl").read_text().splitlines()}
    verdicts = [json.loads(x) for x in (tmp_path / "lk" / "verdicts.jsonl").read_text().splitlines()]
    kind = f"eval-{profile}"
    assert {v["id"]: v["models"]["m"]["kinds"][kind]["hit"] for v in verdicts} == scored
    report = json.loads((tmp_path / "lk" / "report.json").read_text())
    eval_scores = json.loads((tmp_path / "qo" / "scores.json").read_text())
    assert report["totals"]["models"]["m"]["probes"][kind]["accuracy"] == pytest.approx(
        eval_scores["runs"][0]["overall"], abs=1e-4)


def test_sampled_mode_sends_k_distinct_requests_and_applies_the_half_rule(tmp_path, samples_path):
    path, samples = samples_path
    # right in 3 of 5 tries on the fruit question (knows), 2 of 5 on the flying one (does not)
    knowledge = {"fruit": ("banana", {1, 2, 4}), "can fly": ("bird", {0, 3})}
    args = ["leakage", "--samples", str(path), "--probe", "circular,eval-default", "--samples-per-probe", "5",
            "--temperature", "0.7", "--cache", str(tmp_path / "c.sqlite"), "--flag-on", "circular,eval-default",
            "--every-rotation"]
    with ScriptedServer(knowledge) as server:
        result = _cli(*args, "--model", f"m@{server.base_url}", "--out", str(tmp_path / "out"))
        assert result.exit_code == 0, result.output
        bodies = _chat_bodies(server)
        sent_first = len(bodies)
        again = _cli(*args, "--model", f"m@{server.base_url}", "--out", str(tmp_path / "out2"))
        assert again.exit_code == 0, again.output
        assert len(_chat_bodies(server)) == sent_first  # the cache keeps every one of the K tries
    n_probes = sum(len(s.options) if s.options else 2 for s in samples) + len(samples)  # circular + eval-default
    assert len(bodies) == 5 * n_probes
    keyed = {(json.dumps(b["messages"], sort_keys=True), b["seed"]) for b in bodies}
    assert len(keyed) == len(bodies)  # K distinct requests per probe
    assert {b["seed"] for b in bodies} == set(range(5)) and {b["temperature"] for b in bodies} == {0.7}
    verdicts = {v["id"]: v for v in map(json.loads, (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines())}
    by_question = {s.question: s.id for s in samples}
    fruit = verdicts[by_question["Which of these is a fruit?"]]["models"]["m"]
    fly = verdicts[by_question["Which of these can fly?"]]["models"]["m"]
    assert fruit["kinds"]["eval-default"] == {"hit": True, "correct": 1, "probes": 1, "not_asked": 0, "first_correct": 1,
                                              "tries_correct": 3, "tries": 5, "first_tries_correct": 3,
                                              "first_tries": 5}
    assert fruit["kinds"]["circular"]["hit"] and fruit["kinds"]["circular"]["tries_correct"] == 3 * 3
    assert not fly["kinds"]["eval-default"]["hit"] and not fly["kinds"]["circular"]["hit"]
    assert fly["kinds"]["eval-default"]["tries_correct"] == 2
    assert len(fruit["probes"][0]["tries"]) == 5
    assert verdicts[by_question["Which of these is a fruit?"]]["leaked"]
    assert not verdicts[by_question["Which of these can fly?"]]["leaked"]


def test_bad_probe_options_are_one_clear_line(tmp_path, samples_path):
    path, _ = samples_path
    cases = {("--probe", "circular,guess"): "unknown probe kind(s) 'guess'",
             ("--samples-per-probe", "3"): "needs --temperature above 0",
             ("--flag-on", "choices-only"): "choices-only is evidence only",
             ("--one-image-rule", "some"): "--one-image-rule must be one of"}
    for extra, message in cases.items():
        result = _cli("leakage", "--samples", str(path), "--model", "m@http://127.0.0.1:9/v1", "--out",
                      str(tmp_path / "o"), *extra)
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output


def test_knows_rule():
    assert knows([True]) and not knows([False])
    assert knows([True, True, False]) and not knows([True, False]) and not knows([True, True, False, False, False])
    assert knows([True] * 6 + [False] * 4) and not knows([True] * 5 + [False] * 5)  # MMMU-Pro: more than 5 of 10


# ------------------------------------------------------------------------------------------- image probes


def _record(sample: Sample, response: str | None, setting: str, error: str | None = None) -> ScoredItem:
    """A prediction line as a file holds it, scored (the evidence reads scored answers)."""
    return score_record({"id": sample.id, "sample_id": sample.id, "variant": "orig", "Task": sample.subtask,
                         "QA_type": "Choice QA" if sample.options else "True or false QA",
                         "options": options_to_mmra(sample.options), "answer": sample.answer, "response": response,
                         "error": error, "setting": setting})


def test_one_image_rule_on_constructed_predictions(make_image):
    mc, yn = build_samples(make_image, TEXT_ANSWERABLE[:1] + IMAGE_DEPENDENT[2:3])  # gold B; gold Yes
    preds = {  # mc: right with both and from image 1 alone; yn: right from image 2 alone, wrong with both
        "IQ": [_record(mc, "B", "IQ"), _record(yn, "No", "IQ")],
        "IQ-image1": [_record(mc, "The answer is B.", "IQ-image1"), _record(yn, "No", "IQ-image1")],
        "IQ-image2": [_record(mc, "A", "IQ-image2"), _record(yn, "Yes", "IQ-image2")],
        "IQ-blank": [_record(mc, None, "IQ-blank", error="image missing"), _record(yn, "No", "IQ-blank")],
    }
    as_well = image_probe_evidence(preds, rule="as-well", model="v")["samples"]
    assert as_well[mc.id]["one_image"] and not as_well[yn.id]["one_image"]
    assert as_well[mc.id]["correct"] == {"IQ": True, "IQ-image1": True, "IQ-image2": False, "IQ-blank": None}
    assert as_well[mc.id]["missing"] == ["IQ-blank"]
    anyone = image_probe_evidence(preds, rule="any", model="v")["samples"]
    assert anyone[mc.id]["one_image"] and anyone[yn.id]["one_image"]
    off = image_probe_evidence(preds, rule="off", model="v")["samples"]
    assert not any(e["one_image"] for e in off.values())
    # the rule itself: failures (None) count wrong
    assert answerable_from_one_image({"IQ": True, "IQ-image2": True}) is True
    assert answerable_from_one_image({"IQ": True, "IQ-image1": None, "IQ-image2": False}) is False
    assert answerable_from_one_image({"IQ": None, "IQ-image1": True}) is False
    with pytest.raises(ValueError, match="one-image rule"):
        answerable_from_one_image({}, "sometimes")


def test_vlm_image_probes_with_the_tiny_qwen2_vl(tmp_path, samples_path):
    path, samples = samples_path
    out = tmp_path / "out"
    result = _cli("leakage", "--samples", str(path), "--vlm", "tiny:qwen2-vl", "--one-image-rule", "any",
                  "--vlm-batch-size", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    for setting in ("IQ", "IQ-image1", "IQ-image2", "IQ-blank"):  # ordinary eval run folders, one per setting
        records = [json.loads(x) for x in (out / "vlm" / setting / "predictions.jsonl").read_text().splitlines()]
        assert len(records) == len(samples) and {r["setting"] for r in records} == {setting}
        assert not any(r["error"] for r in records)
        assert sum(bool(r["response"]) for r in records) >= len(samples) - 1  # a real generate for every row
    verdicts = [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == [s.id for s in samples]
    for v in verdicts:
        ev = v["image_probes"]
        assert set(ev["correct"]) == {"IQ", "IQ-image1", "IQ-image2", "IQ-blank"} and ev["rule"] == "any"
        expected = bool(ev["correct"]["IQ-image1"] or ev["correct"]["IQ-image2"])
        assert ev["one_image"] == expected and v["leaked"] == expected
        assert v["models"] == {} and v["hits"] == 0
    report = json.loads((out / "report.json").read_text())
    probes = report["image_probes"]
    assert probes["model"] == "tiny:qwen2-vl" and probes["totals"]["n"] == len(samples)
    assert set(probes["subtasks"]) == {s.subtask for s in samples}
    totals = probes["totals"]
    assert totals["one_image"] == sum(v["leaked"] for v in verdicts) == report["totals"]["flagged"]
    for row in probes["subtasks"].values():
        lo, hi = row["settings"]["IQ"]["ci95"]
        assert lo <= row["settings"]["IQ"]["accuracy"] <= hi
        assert row["multimodal_gain"] == pytest.approx(row["settings"]["IQ"]["accuracy"]
                                                       - row["settings"]["IQ-blank"]["accuracy"])
    flagged = read_jsonl(out / "flagged.jsonl", Sample)
    assert {s.id for s in flagged} == {v["id"] for v in verdicts if v["leaked"]}
    assert "image probes: tiny:qwen2-vl" in result.output


@pytest.mark.llm
def test_sampled_eval_probes_with_the_real_local_llm(tmp_path, samples_path, local_llm):
    """llama.cpp's server takes the `seed` field: K tries per probe are K requests, each cached on its own."""
    path, samples = samples_path
    local_llm("smollm2-135m")
    args = ["leakage", "--samples", str(path), "--local", "smollm2-135m", "--probe", "eval-default,eval-paper",
            "--samples-per-probe", "3", "--temperature", "1.0", "--max-tokens", "4",
            "--cache", str(tmp_path / "cache.sqlite")]
    first = _cli(*args, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    stats = json.loads((tmp_path / "a" / "report.json").read_text())["models"]["smollm2-135m"]
    assert stats["requests"] == stats["sent"] == 3 * 2 * len(samples) and stats["errors"] == 0
    again = _cli(*args, "--out", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "b" / "report.json").read_text())["models"]["smollm2-135m"]
    assert rerun["sent"] == 0 and rerun["cached"] == stats["requests"]
    verdicts = [json.loads(x) for x in (tmp_path / "a" / "verdicts.jsonl").read_text().splitlines()]
    for v in verdicts:
        for kind in ("eval-default", "eval-paper"):
            ev = v["models"]["smollm2-135m"]["kinds"][kind]
            assert ev["tries"] == 3 and ev["hit"] == (ev["tries_correct"] >= 2)
