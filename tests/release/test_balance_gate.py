"""Answer-key balance, the flagged config and the release gate, on a raw set with planted text-only shortcuts:

- Environment: every gold letter is "C" (a constant answer wins; balancing fixes it);
- SimilarMaterial: the gold option is always the longest (the learned blind probe sees it; balancing cannot);
- SubEvent (order-sensitive, swap rule flip_yes_no): every answer is "No" (balancing swaps image pairs);
- MentalitySimilarity yes/no: every answer is "Yes" (no swap rule: balancing cannot fix it, only report it);
- UsageSimilarity: clean (random options, random gold letter).
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import ReleaseStore, load_release, publish
from mmra.benchmark.release.balance import balance_samples
from mmra.benchmark.release.validity import ReleaseGateError, ValidityOptions
from mmra.benchmark.schema import LETTERS, QAType, Sample
from mmra.cli import app

from .conftest import draw_image

N = 30  # samples per planted subtask: enough for 5-fold estimates and a significant gap
WORDS = ("river mountain lantern pepper violin carpet saddle marble anchor basket candle feather harbor "
         "jacket kettle ladder mirror needle orchard pillow quilt ribbon shovel tunnel umbrella velvet wagon "
         "yogurt zipper blanket cactus dolphin engine fountain garden helmet island jungle kitchen lemon "
         "magnet napkin oyster pencil rocket sponge teapot trumpet walnut whistle").split()
FAST = ValidityOptions(embedder=None)  # hand features only: seconds, and the length shortcut is a hand feature


def _sample(folder: Path, k: int, subtask: str, question: str, options: list[str], answer: str,
            leaked: bool | None = None) -> Sample:
    for j in (1, 2):
        draw_image(folder / "imgs" / f"{k}_{j}.png", 7_000 + 2 * k + j)
    return Sample.model_validate({
        "subtask": subtask, "qa_type": QAType.multiple_choice if options else QAType.yes_no,
        "question": question, "options": options, "answer": answer,
        "image1": {"path": f"imgs/{k}_1.png", "licence": "CC0-1.0", "source": f"generated:{k}_1"},
        "image2": {"path": f"imgs/{k}_2.png", "licence": "CC0-1.0", "source": f"generated:{k}_2"},
        "provenance": {"captions": {"image1": [f"first picture {k}"], "image2": [f"second picture {k}"]},
                       "boxes": [{"label": "thing", "bbox": [1, 2, 3, 4], "image": 1}]},
        "descriptions": {"image1": f"description one {k}", "image2": f"description two {k}"},
        # every sample has a leakage check (publish refuses unchecked ones); `leaked` flags it
        "leakage": {"leaked": bool(leaked), "hits": int(bool(leaked)), "models": ["m"], "model_hits": {"m": bool(leaked)}},
    })


def planted_samples(folder: Path, *, flagged: int = 0) -> list[Sample]:
    rng = random.Random(11)
    out: list[Sample] = []

    def words(n: int) -> list[str]:
        return rng.sample(WORDS, n)

    for i in range(N):
        k = len(out)
        out.append(_sample(folder, k, "Environment", f"Which {words(1)[0]} setting do both scenes share ({i})?",
                           words(4), "C"))
        k = len(out)
        short = words(3)
        gold = f"{' '.join(words(3))} and polished {words(1)[0]}"  # always the longest option
        pos = rng.randrange(4)
        out.append(_sample(folder, k, "SimilarMaterial", f"What are the {words(1)[0]} and the other made of ({i})?",
                           short[:pos] + [gold] + short[pos:], LETTERS[pos]))
        k = len(out)
        out.append(_sample(folder, k, "SubEvent", f"Is the {words(1)[0]} scene in Image 2 a step of Image 1 ({i})?",
                           [], "No"))
        k = len(out)
        out.append(_sample(folder, k, "MentalitySimilarity", f"Do both {words(1)[0]} people feel alike ({i})?",
                           [], "Yes"))
        k = len(out)
        out.append(_sample(folder, k, "UsageSimilarity", f"What can the {words(1)[0]} and the other do ({i})?",
                           words(4), LETTERS[rng.randrange(4)]))
    for i in range(flagged):  # leakage-flagged extras, all in UsageSimilarity
        k = len(out)
        out.append(_sample(folder, k, "UsageSimilarity", f"Flagged question {i} about a {words(1)[0]}?",
                           words(3), "A", leaked=True))
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    samples = planted_samples(folder, flagged=4)
    return folder, write_jsonl(folder / "raw.jsonl", samples), samples


def _cli(*args: str):
    return CliRunner().invoke(app, ["publish", *args, "--probe-embedder", "none"])


def _offending(output: str) -> set[str]:
    """Subtasks named by the gate's lines (the console may wrap long lines)."""
    return set(re.findall(r"(\w+): (?:answer_prior|learned) blind accuracy", " ".join(output.split())))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_raw_set_is_refused_naming_the_subtasks_and_nothing_is_written(planted, tmp_path):
    _, raw, _ = planted
    store, cards = tmp_path / "store", tmp_path / "cards"
    balanced = _cli("--samples", str(raw), "--version", "1.0.0", "--to", str(store), "--name", "bench",
                    "--cards-dir", str(cards))
    assert balanced.exit_code == 1, balanced.output
    assert "release refused" in balanced.output and "--allow-blind-gap" in balanced.output
    offending = _offending(balanced.output)
    # balancing fixed the letter and the swappable yes/no shortcut; not the long gold option nor unswappable Yes
    assert offending == {"SimilarMaterial", "MentalitySimilarity"}, balanced.output
    text = " ".join(balanced.output.split())
    assert "SimilarMaterial: learned blind accuracy" in text
    assert "MentalitySimilarity: answer_prior blind accuracy 100.0 % vs chance 50.0 % (n=30" in text

    kept = _cli("--samples", str(raw), "--version", "1.0.0", "--to", str(store), "--name", "bench",
                "--cards-dir", str(cards), "--keep-option-order")
    assert kept.exit_code == 1
    named = _offending(kept.output)
    assert {"Environment", "SubEvent", "SimilarMaterial", "MentalitySimilarity"} <= named, kept.output
    assert "UsageSimilarity" not in named  # the clean subtask passes
    assert ReleaseStore(store).versions("bench") == [] and not list(store.rglob("*.parquet"))
    assert not list(store.rglob(".tmp-*")) and not cards.exists()


def test_allow_blind_gap_publishes_and_the_card_says_so(planted, tmp_path):
    _, raw, _ = planted
    out = _cli("--samples", str(raw), "--version", "1.0.0", "--to", str(tmp_path / "store"), "--name", "bench",
               "--cards-dir", str(tmp_path / "cards"), "--allow-blind-gap")
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "published with --allow-blind-gap" in text and "4 leakage-flagged sample(s)" in text
    card = (tmp_path / "cards" / "bench" / "1.0.0" / "README.md").read_text()
    banner = card.index("**Warning: published with `--allow-blind-gap`.**")
    assert banner < card.index("## Load it")  # prominent: right under the title
    assert "SimilarMaterial: learned blind accuracy" in card[banner:card.index("## Load it")]
    assert "**Release gate**: **overridden with `--allow-blind-gap`**" in card
    manifest = ReleaseStore(tmp_path / "store").manifest("bench", "1.0.0")
    assert manifest["validity"]["gate"]["status"] == "overridden (--allow-blind-gap)"
    assert (tmp_path / "store" / "bench" / "1.0.0" / "plots" / "validity.png").stat().st_size > 5000


def _published(raw: Path, store: Path, **kw) -> Path:
    opts = ValidityOptions(embedder=None, allow_blind_gap=True, **kw)
    return publish(raw, "1.0.0", store, name="bench", show_progress=False, validity=opts).path


def test_balance_spreads_letters_and_yes_no_keeps_texts_ids_and_is_deterministic(planted, tmp_path):
    folder, raw, samples = planted
    path = _published(raw, tmp_path / "a")
    rows = list(load_release(str(path)).cast_column("image1", datasets.Image(decode=False))
                .cast_column("image2", datasets.Image(decode=False)))
    by_id = {s.id: s for s in samples}
    assert sorted(r["id"] for r in rows) == sorted(s.id for s in samples if not s.leakage.leaked)  # ids stable
    letters: dict[str, Counter] = {}
    yes: dict[str, Counter] = {}
    swapped = 0
    for r in rows:
        src = by_id[r["id"]]
        prov = json.loads(r["provenance"])
        if r["options"]:
            letters.setdefault(r["Task"], Counter())[r["answer"]] += 1
            opts = ast.literal_eval(r["options"])
            assert opts[r["answer"]] == src.answer_text  # the gold text moved with its letter
            assert sorted(opts.values()) == sorted(src.options)
            if list(opts.values()) != src.options:
                assert prov["extra"]["balance"]["answer_was"] == src.answer
        else:
            yes.setdefault(r["Task"], Counter())[r["answer"]] += 1
            if r["answer"] != src.answer:  # a NaturalBench-style swapped pair
                swapped += 1
                assert r["Task"] == "SubEvent" and r["question"] == src.question
                assert r["image1"]["bytes"] == (folder / src.image2.path).read_bytes()
                assert r["image2_sha256"] == hashlib.sha256((folder / src.image1.path).read_bytes()).hexdigest()
                assert r["description1"] == src.descriptions["image2"]
                assert prov["captions"]["image1"] == src.provenance.captions["image2"]
                assert prov["boxes"][0]["image"] == 2
                assert prov["extra"]["balance"] == {"images_swapped": True, "answer_was": "No", "rule": "flip_yes_no"}
    for task, counts in letters.items():
        assert max(counts.values()) / sum(counts.values()) <= 0.45, (task, counts)
    assert 0.25 <= yes["SubEvent"]["Yes"] / N <= 0.75 and swapped == yes["SubEvent"]["Yes"]
    assert yes["MentalitySimilarity"] == Counter({"Yes": N})  # not swappable: left as written, reported
    card = (path / "README.md").read_text()
    assert "| MentalitySimilarity | 30 | 50% |" in card and "100% (p=0.000) | not swappable |" in card
    assert "| SubEvent | 30 | 50% |" in card and "swapped pairs" in card

    # deterministic: the same file into another store gives every byte again; the same samples in another
    # order give the same data, plots and card tables (the card and manifest name the input file and its sha256)
    assert _files(path) == _files(_published(raw, tmp_path / "c"))
    shuffled = list(samples)
    random.Random(5).shuffle(shuffled)
    again = _published(write_jsonl(folder / "shuffled.jsonl", shuffled), tmp_path / "b")
    mine, other = _files(path), _files(again)
    assert mine.keys() == other.keys()
    assert {k: v for k, v in mine.items() if k not in ("README.md", "manifest.json")} == \
        {k: v for k, v in other.items() if k not in ("README.md", "manifest.json")}
    def tables(card: bytes) -> list[str]:
        return [line for line in card.decode().splitlines() if not line.startswith("- **Input**")]

    assert tables(mine["README.md"]) == tables(other["README.md"])


def test_flagged_samples_leave_the_default_config(planted, tmp_path):
    _, raw, samples = planted
    path = _published(raw, tmp_path / "store")
    flagged_ids = sorted(s.id for s in samples if s.leakage and s.leakage.leaked)
    assert len(flagged_ids) == 4
    default = datasets.load_dataset(str(path), split="test")
    assert not set(default["id"]) & set(flagged_ids) and len(default) == 5 * N
    assert sorted(datasets.load_dataset(str(path), "flagged", split="test")["id"]) == flagged_ids
    assert not set(load_release(str(path))["id"]) & set(flagged_ids)  # the eval entry point reads the default
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["configs"] == {"default": 5 * N, "flagged": 4} and manifest["num_samples"] == 5 * N + 4
    card = (path / "README.md").read_text()
    assert "4 sample(s) that the leakage filter flagged" in card and "Per subtask: UsageSimilarity (4)" in card
    assert "Why (probes that flagged them): llm:m (4)" in card
    assert "config_name: flagged" in card


def test_keep_option_order_keeps_the_order_and_diff_shows_what_balancing_moved(planted, tmp_path):
    _, raw, samples = planted
    store = tmp_path / "store"
    opts = ValidityOptions(embedder=None, allow_blind_gap=True, balance=False)
    v1 = publish(raw, "1.0.0", store, name="bench", show_progress=False, validity=opts)
    by_id = {s.id: s for s in samples}
    for r in load_release(str(v1.path)):
        src = by_id[r["id"]]
        assert r["answer"] == src.answer and r["options_list"] == src.options
    v2 = publish(raw, "1.1.0", store, name="bench", show_progress=False,
                 validity=ValidityOptions(embedder=None, allow_blind_gap=True))
    d = json.loads(CliRunner().invoke(app, ["diff", str(v1.path), str(v2.path), "--json"]).stdout)
    assert d["totals"]["added"] == 0 and d["totals"]["removed"] == 0 and d["totals"]["changed"] > 0
    env = d["subtasks"]["Environment"]["changed"]
    # gold moved off C (about 3 in 4), or only the distractors changed places
    assert all(f in (["options (reordered)", "answer"], ["options (reordered)"]) for f in env.values())
    assert sum(f == ["options (reordered)", "answer"] for f in env.values()) in (N * 3 // 4, N * 3 // 4 + 1)
    sub = d["subtasks"]["SubEvent"]["changed"]
    assert sub and all(f == ["answer", "images (swapped)"] for f in sub.values())
    assert "Environment" in d["subtasks"] and not d["moved"]


def test_mmstar_gain_and_leakage_from_eval_runs_on_the_card(planted, tmp_path):
    from mmra.eval.report import write_report
    from mmra.eval.scoring import score_runs

    _, raw, samples = planted
    clean = [s for s in samples if not s.leakage.leaked][:40]

    def records(setting: str, right: int) -> list[dict]:
        out = []
        for i, s in enumerate(clean):
            wrong = "Yes" if s.answer == "No" else "No" if not s.options else LETTERS[(LETTERS.index(s.answer) + 1) % len(s.options)]
            out.append({"id": s.id, "model": "vlm", "setting": setting, "Task": s.subtask,
                        "QA_type": "Choice QA" if s.options else "True or false QA",
                        "options": str({LETTERS[j]: o for j, o in enumerate(s.options)}) if s.options else None,
                        "answer": s.answer, "response": s.answer if i < right else wrong})
        return out

    result, runs = score_runs([("iq.jsonl", records("IQ", 30)), ("blank.jsonl", records("IQ-blank", 20)),
                               ("qo.jsonl", records("QO", 12))], bootstrap=0)
    write_report(result, runs, tmp_path / "run", plot=False)  # what `mmra score --out` writes
    path = publish(raw, "1.0.0", tmp_path / "store", name="bench", show_progress=False,
                   validity=ValidityOptions(embedder=None, allow_blind_gap=True,
                                            eval_runs=(tmp_path / "run",))).path
    card = (path / "README.md").read_text()
    assert "| vlm | 75% | 50% | 30% | +25.0 pts | 20.0 pts |" in card
    with pytest.raises(ValueError, match="--eval-run .*: no scores.json there"):
        publish(raw, "1.0.1", tmp_path / "store", name="bench", show_progress=False,
                validity=ValidityOptions(embedder=None, eval_runs=(tmp_path / "nowhere",)))


def test_balance_is_per_sample_deterministic_and_near_uniform(tmp_path):
    samples = planted_samples(tmp_path)
    a, report = balance_samples(samples)
    b, _ = balance_samples(list(reversed(samples)))
    assert [s.model_dump() for s in a] == [s.model_dump() for s in reversed(b)]
    env = report["Environment"]
    assert env.letters_before == Counter({"C": N}) and max(env.letters_after.values()) - min(env.letters_after.values()) <= 1
    assert report["SubEvent"].yes_after["Yes"] == N // 2 and report["SubEvent"].swapped == N // 2
    assert report["MentalitySimilarity"].yes_no_rule == "not swappable" and report["MentalitySimilarity"].swapped == 0
    assert [s.id for s in a] == [s.id for s in samples]


def test_gate_refusal_raises_before_writing(planted, tmp_path):
    _, raw, _ = planted
    with pytest.raises(ReleaseGateError, match="SimilarMaterial"):
        publish(raw, "1.0.0", tmp_path / "store", name="bench", show_progress=False, validity=FAST)
    assert not (tmp_path / "store" / "bench" / "1.0.0").exists()


def test_flag_reasons_come_from_the_probe_panel(tmp_path):
    from mmra.benchmark.release.validity import flagged_summary

    base = _sample(tmp_path, 0, "UsageSimilarity", "Which use?", ["a", "b", "c"], "A", leaked=True)
    panel = base.model_copy(update={"leakage": base.leakage.model_copy(
        update={"probes": {"flagged_by": ["llm", "learned"]}})})
    summary = flagged_summary([base, panel])
    assert summary["probes"] == {"llm:m": 2, "learned": 1} and summary["subtasks"] == {"UsageSimilarity": 2}
