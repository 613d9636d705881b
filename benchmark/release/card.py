"""The data card (README.md with Hub YAML metadata) written into every release and into
`data_cards/<name>/<version>/`. Everything in it is computed from the release's rows, so a rebuild of the
same samples writes the same card."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from huggingface_hub import DatasetCardData

from mmra import __version__ as toolkit_version

from .diff import ReleaseDiff
from .digest import FEATURES
from .lmms_eval import CARD_NOTE as LMMS_CARD_NOTE
from .plots import PLOT_FILES, VALIDITY_PLOT
from .semver import hub_tag
from .stats import (
    LicenceDecision,
    SubtaskStats,
    letter_balance_p,
    letters_used,
    size_category,
    total_stats,
    yes_share_p,
)
from .vlmevalkit import card_section as vlmevalkit_section

MMRA_BIBTEX = """@article{wu2024mmra,
  title   = {MMRA: A Benchmark for Evaluating Multi-Granularity and Multi-Image Relational Association
             Capabilities in Large Visual Language Models},
  author  = {Wu, Siwei and Zhu, Kang and Bai, Yu and Liang, Yiming and Li, Yizhi and Wu, Haoning and
             Liu, Jiaheng and Liu, Ruibo and Qu, Xingwei and Cheng, Xuxin and Zhang, Ge and Huang, Wenhao
             and Lin, Chenghua},
  journal = {arXiv preprint arXiv:2407.17379},
  year    = {2024}
}"""

SPLIT_NOTE = (
    "The benchmark is evaluation data. Its split is **`test`**. m-a-p/MMRA shipped its test data as a split "
    "named `train`, and code written for it does `load_dataset(...)['train']`; so the `default` config also "
    "exposes **`train` as an alias of the same files** (same rows, same order). It is *not* training data: "
    "never train on either split. New code should use `split=\"test\"` (loading only one split also avoids "
    "the alias being cached twice). The `entity_level` / `image_level` configs hold the `test` rows of one "
    "granularity."
)


@dataclass
class CardInputs:
    name: str
    version: str
    fingerprint: str
    rows: list[dict[str, Any]]  # sorted release rows (image bytes are not read)
    stats: list[SubtaskStats]
    licence: LicenceDecision
    configs: list[dict[str, Any]]
    config_infos: dict[str, dict[str, Any]]  # config -> {"splits": {split: (bytes, n)}, "download_size": int}
    repo_id: str | None
    dataset_path: str  # how load snippets name a local release (a placeholder, never a machine path)
    source: dict[str, Any]
    changelog: ReleaseDiff | None
    previous_versions: list[tuple[str, str]]  # (version, fingerprint), oldest first
    text_licence: str
    validity: dict[str, Any] | None = None  # validity.ReleasePlan.report


def card_metadata(ci: CardInputs) -> DatasetCardData:
    data = DatasetCardData(
        pretty_name=f"{ci.name} (MMRA-style multi-image relational association benchmark)",
        language=["en"],
        license=ci.licence.licence,
        task_categories=["visual-question-answering", "multiple-choice"],
        task_ids=["visual-question-answering", "multiple-choice-qa"],
        size_categories=[size_category(len(ci.rows))],
        annotations_creators=["expert-generated"],
        language_creators=["expert-generated"],
        source_datasets=sorted({"original", *_source_datasets(ci.rows)}),
        tags=["multi-image", "relational-association", "conceptnet", "mmra", "benchmark", f"version-{ci.version}"],
        configs=ci.configs,
    )
    if ci.licence.licence_name:
        data.license_name = ci.licence.licence_name
    infos = DatasetInfosDict()
    for config, info in ci.config_infos.items():
        splits = SplitDict()
        for split, (nbytes, n) in info["splits"].items():
            splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=n))
        infos[config] = DatasetInfo(
            features=FEATURES, splits=splits, download_size=info["download_size"],
            dataset_size=sum(b for b, _ in info["splits"].values()),
        )
    infos.to_dataset_card_data(data)
    return data


def _source_datasets(rows: list[dict[str, Any]]) -> set[str]:
    """Hub `source_datasets` ('extended|<dataset>') for the image collections and ConceptNet we know."""
    prefixes = {str(r.get(f"image{i}_source") or "").split(":")[0].lower() for r in rows for i in (1, 2)}
    known = {"coco": "extended|coco", "visual_genome": "extended|visual_genome", "gqa": "extended|gqa"}
    found = {known[p] for p in prefixes if p in known}
    if any('"source":"conceptnet"' in (r.get("provenance") or "").replace(" ", "") for r in rows):
        found.add("extended|conceptnet5")
    return found


def render_card(ci: CardInputs) -> str:
    header = card_metadata(ci).to_yaml()
    parts = [f"---\n{header}\n---\n", _body(ci)]
    return "\n".join(parts)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def subtask_table(stats: list[SubtaskStats]) -> str:
    letters = letters_used(stats)
    head = ["Subtask", "Level", "n", "Choice / T-F", *(f"{L}" for L in letters), "Yes / No", "agreement", "α answers / keep",
            "leakage flagged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in [*stats, total_stats(stats)]:
        name = f"{s.name} ({s.abbreviation})" if s.name != "total" else "**total**"
        yn = sum(s.yes_no.values())
        cells = [
            name, s.level or "", str(s.n),
            f"{s.qa_types.get('Choice QA', 0)} / {s.qa_types.get('True or false QA', 0)}",
            *(_pct(s.letter_share(L)) if sum(s.letters.values()) else "-" for L in letters),
            f"{s.yes_no['Yes']} / {s.yes_no['No']} ({_pct(s.yes_share())} yes)" if yn else "-",
            f"{s.agreement:.2f} (n={len(s.agreements)})" if s.agreement is not None else "n/a",
            " / ".join("n/a" if s.alpha(k) is None else f"{s.alpha(k):.2f}" for k in ("answers", "keep_reject")),
            f"{s.leakage_flagged} / {s.leakage_checked} checked" if s.leakage_checked else "not checked",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def changelog_section(diff: ReleaseDiff | None, previous: list[tuple[str, str]]) -> str:
    if diff is None:
        return "First release in this store: every sample is new."
    t = {k: diff.total(k) for k in ("added", "removed", "changed", "metadata_changed", "unchanged")}
    lines = [
        f"Against **{diff.old}**: {t['added']} added, {t['removed']} removed, {t['changed']} changed "
        f"(same id, other content), {t['metadata_changed']} with metadata-only changes, {t['unchanged']} unchanged.",
        "",
        "| Subtask | added | removed | changed | metadata only | unchanged |",
        "|---|---|---|---|---|---|",
    ]
    for row in diff.table_rows():
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    if diff.moved:
        into = sum(now == "flagged" for _, now in diff.moved.values())
        lines += ["", f"Moved between configs: {into} into `flagged`, {len(diff.moved) - into} back into the "
                  "default config."]
    changed = [(sid, f) for d in diff.subtasks.values() for sid, f in d.changed.items()]
    if changed:
        lines += ["", "Changed samples (fields that differ):", ""]
        lines += [f"- `{sid}`: {', '.join(fields)}" for sid, fields in changed[:50]]
        if len(changed) > 50:
            lines.append(f"- ... and {len(changed) - 50} more (`mmra diff` lists them all)")
    if previous:
        lines += ["", "Earlier versions: " + ", ".join(f"{v} (`{fp[:19]}`)" for v, fp in previous)]
    return "\n".join(lines)


def _build_section(ci: CardInputs) -> str:
    rows = ci.rows
    sources = Counter(str(r.get(f"image{i}_source") or "unrecorded").split(":")[0] for r in rows for i in (1, 2))
    relations: Counter = Counter()
    miners: Counter = Counter()
    for r in rows:
        prov = json.loads(r["provenance"]) if r.get("provenance") else {}
        relations.update(e.get("relation", "?") for e in prov.get("edges", []))
        miners[prov.get("miner") or prov.get("heuristic") or "unrecorded"] += 1
    models = Counter(m for r in rows for m in (r.get("leakage_models") or []))
    checked = sum(1 for r in rows if r.get("leakage_checked"))
    flagged = sum(1 for r in rows if r.get("leakage_flagged"))
    annotators = Counter(r.get("annotators") or 0 for r in rows)
    adjudication = Counter(r.get("adjudication") or "unrecorded" for r in rows)

    def fmt(c: Counter) -> str:
        return ", ".join(f"{k} ({v})" for k, v in c.most_common()) or "none"

    src = ci.source
    return "\n".join([
        f"- **Input**: `{src.get('file')}` ({src.get('format')} JSONL, sha256 `{str(src.get('sha256'))[:16]}...`), "
        f"published with mmra-toolkit {toolkit_version}.",
        f"- **Image sources** (images per source): {fmt(sources)}.",
        f"- **ConceptNet relations** behind the pairs (edges): {fmt(relations)}.",
        f"- **Candidate miners / heuristics** (samples): {fmt(miners)}.",
        f"- **Annotation**: annotators per sample: {fmt(annotators)}; adjudication: {fmt(adjudication)}.",
        f"- **Leakage filter** (text-only models answering without the images): {checked} of {len(rows)} samples "
        f"of the default config checked, {flagged} of them flagged. Models: {fmt(models)}. "
        + _flagged_line(ci.validity),
        "- **Validation at publish time**: every image decodes fully, sha256 recorded upstream must match, ids "
        "are unique, the version is semver; any failure stops the release before anything is written.",
    ])


def _flagged_line(validity: dict[str, Any] | None) -> str:
    if validity is None:
        return "Flagged samples were kept in the default config with `leakage_flagged = true`."
    n = validity["flagged"]["n"]
    if not n:
        return "No sample was flagged, so the `flagged` config is absent."
    return (f"The {n} flagged sample(s) are **not in the default config**; they are published in the separate "
            "`flagged` config (see Validity).")


def _interval(probe: dict[str, Any] | None) -> str:
    if not probe or probe.get("accuracy") is None:
        return "n/a"
    ci = probe.get("ci") or [None, None]
    span = f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci[0] is not None else ""
    p = probe.get("p_value")
    return f"{_pct(probe['accuracy'])}{span}" + (f", p={p:.3f}" if p is not None else "")


def _gate_banner(validity: dict[str, Any] | None) -> str:
    gate = (validity or {}).get("gate")
    if not gate or not gate["allowed"]:
        return ""
    lines = "\n".join(f"> - {line}" for line in gate["offending"])
    return (f"> **Warning: published with `--allow-blind-gap`.** The release gate found "
            f"{len(gate['offending'])} subtask(s) that a model can answer without the images (more than "
            f"{gate['max_gap']:g} points above chance, one-sided binomial p < {gate['alpha']:g}). Scores on "
            f"them do not measure multi-image association:\n>\n{lines}\n")


def _unchecked_banner(validity: dict[str, Any] | None) -> str:
    unchecked = (validity or {}).get("unchecked")
    if not unchecked or not unchecked["n"]:
        return ""
    per = ", ".join(f"{k} ({n})" for k, n in sorted(unchecked["subtasks"].items()))
    return (f"> **Warning: published with `--publish-unchecked`.** {unchecked['n']} sample(s) of this release were "
            f"not checked for text-only leakage: {unchecked['missing']} have no leakage check and "
            f"{unchecked['failed']} a failed one (probe requests got no answer), so nothing shows that they need the "
            f"images (`leakage_checked = false`). Per subtask: {per}.\n")


def validity_section(ci: CardInputs) -> str:
    v = ci.validity
    if v is None:
        return "Not checked: this release was built without the validity checks."
    out: list[str] = []
    fl = v["flagged"]
    if fl["n"]:
        per = ", ".join(f"{k} ({n})" for k, n in sorted(fl["subtasks"].items()))
        why = ", ".join(f"{k} ({n})" for k, n in sorted(fl["probes"].items(), key=lambda kv: (-kv[1], kv[0])))
        out.append(f"**Flagged samples left out of the default config**: {fl['n']} sample(s) that the leakage "
                   f"filter flagged as answerable without the images are published only in the `flagged` config "
                   f"(`load_dataset(..., \"flagged\", split=\"test\")`), as MMRA removed such samples. Per "
                   f"subtask: {per}. Why (probes that flagged them): {why}.")
    else:
        out.append("**Flagged samples**: none (no sample's leakage verdict says leaked).")
    bal = v["balance"]
    if bal["applied"]:
        moved = sum(b["reordered"] for b in bal["subtasks"].values())
        swapped = sum(b["swapped"] for b in bal["subtasks"].values())
        out.append(f"**Answer-key balance**: options were reshuffled deterministically (seeded by sample id) so "
                   f"gold letters are near uniform per subtask ({moved} sample(s) reordered; the option texts "
                   f"moved with the gold letter); {swapped} yes/no sample(s) of order-sensitive subtasks were "
                   "swapped NaturalBench-style (images exchanged, answer flipped by the subtask's swap rule). "
                   "Every moved sample keeps its id and records the change in `provenance.extra.balance`.")
    else:
        out.append("**Answer-key balance**: not applied (`--keep-option-order`): the options are in the order "
                   "they were written.")
    blind = v.get("blind") or {}
    probes = list(dict.fromkeys(p for b in blind.get("subtasks", {}).values() for p in (b.get("probes") or {})))
    head = ["Subtask", "n", "chance", *(f"{p} (blind)" for p in probes), "letters χ² p", "Yes share",
            "yes/no balance"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for st in ci.stats:
        b = blind.get("subtasks", {}).get(st.name, {})
        chi = letter_balance_p(st.letters, st.n_options)
        ys = st.yes_share()
        yp = yes_share_p(st.yes_no)
        rule = (bal["subtasks"].get(st.name) or {}).get("yes_no_rule") or "-"
        cells = [st.name, str(st.n), _pct(b.get("chance")) if b.get("chance") is not None else "n/a",
                 *(_interval((b.get("probes") or {}).get(p)) + (" (too small: not gated)" if b.get("too_small") else "")
                   for p in probes),
                 f"{chi:.3f}" if chi is not None else "-",
                 f"{_pct(ys)} (p={yp:.3f})" if ys is not None else "-", rule]
        rows.append("| " + " | ".join(cells) + " |")
    if blind:
        overall = blind.get("overall") or {}
        out.append("**Blind probes** (model-free, run by `mmra publish` on the default config after balancing): "
                   "`answer_prior` answers a constant per subtask, estimated out of fold; `learned` is a text-only "
                   "classifier fitted with k-fold cross-validation on the release's own questions and options "
                   "(options in a canonical order, so the letter is no feature). Accuracy with its 95 % interval "
                   "and the one-sided binomial p against chance. A model that needs the images cannot be "
                   "beaten by these.")
        if overall.get("probes"):
            out.append(f"Overall ({overall.get('n')} samples, chance {_pct(overall.get('chance'))}): "
                       + ", ".join(f"{p} {_interval(o)}" for p, o in overall["probes"].items()) + ".")
    out.append("\n".join(rows))
    out.append("Letters χ² p: chi-square test of the gold letters against a uniform key (small p: a letter "
               "wins). Yes share p: two-sided binomial test against 50 %. Yes/no balance `swapped pairs`: the "
               "subtask's swap rule flips the answer when the images are exchanged, so the share was balanced; "
               "`not swappable`: no such rule, the share is as annotated.")
    gate = v.get("gate")
    if gate is not None:
        if gate["offending"]:
            status = ("**overridden with `--allow-blind-gap`**" if gate["allowed"] else "refused")
            out.append(f"**Release gate**: {status}; offending subtasks:\n\n"
                       + "\n".join(f"- {line}" for line in gate["offending"]))
        else:
            out.append(f"**Release gate**: passed (no subtask more than {gate['max_gap']:g} points above chance "
                       f"with p < {gate['alpha']:g}).")
    notes = blind.get("warnings") or []
    if notes:
        out.append("Notes from the probes:\n\n" + "\n".join(f"- {w}" for w in notes))
    out.append(_mmstar_section(v.get("eval")))
    out.append(f"![validity]({VALIDITY_PLOT})")
    return "\n\n".join(o for o in out if o)


def _mmstar_section(ev: dict[str, Any] | None) -> str:
    if not ev:
        return ("MMStar's multi-modal gain / leakage: give `mmra publish --eval-run DIR` (IQ, IQ-blank and QO runs "
                "of a model) to report them here.")
    lines = ["**MMStar multi-modal gain and leakage** (from the eval runs given): MG = S_v - S_wv (with images "
             "minus blank images), ML = max(0, S_wv - S_t) (blank images minus the text-only run).", "",
             "| model | S_v | S_wv | S_t | MG | ML |", "|---|---|---|---|---|---|"]
    for model, m in (ev.get("mmstar") or {}).items():
        ml = "n/a" if m["ML"] is None else f"{100 * m['ML']:.1f} pts"
        lines.append(f"| {model} | {_pct(m['S_v'])} | {_pct(m['S_wv'])} | {_pct(m['S_t'])} | "
                     f"{100 * m['MG']:+.1f} pts | {ml} |")
    if not ev.get("mmstar"):
        lines.append("| (needs an IQ and an IQ-blank run of the same model) | | | | | |")
    lines += ["", "Runs: " + ", ".join(f"{r['label']} ({_pct(r['overall'])})" for r in ev.get("runs", []))]
    return "\n".join(lines)


def _licence_section(lic: LicenceDecision) -> str:
    lines = [f"**`{lic.licence}`**: {lic.reason}. Every image keeps its own licence and source in the "
             "`image1_licence` / `image1_source` (and `image2_*`) columns; honour those when you redistribute images.",
             "", "| component | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(lic.components.items())]
    return "\n".join(lines)


def _columns_section() -> str:
    return "\n".join([
        "| column | meaning |", "|---|---|",
        "| `Task` | subtask name, as in m-a-p/MMRA (e.g. `SubEvent`) |",
        "| `QA_type` | `Choice QA` or `True or false QA` (MMRA's strings) |",
        "| `question` | the question text |",
        "| `image1`, `image2` | the image pair (embedded bytes, `datasets.Image`) |",
        "| `options` | Python-dict string such as `\"{'A': '...', 'B': '...', 'C': '...'}\"`; `None` for True/False; parse with `ast.literal_eval` |",
        "| `answer` | gold letter (`A`-`D`) or `Yes`/`No` |",
        "| `id` | stable sample id (kept across versions; use it to join results) |",
        "| `granularity` | `entity` or `image` |",
        "| `options_list` | the options as a list, in letter order |",
        "| `provenance` | JSON: ConceptNet edges, entities, boxes, captions behind the pair |",
        "| `image{1,2}_source`, `_source_url`, `_licence`, `_sha256` | where each image comes from, its licence, its hash |",
        "| `annotators`, `agreement`, `adjudication` | annotation summary (annotator identities are not published) |",
        "| `alpha_answers`, `alpha_keep_reject` | the subtask's Krippendorff's alpha (nominal) at the pull, on the "
        "kept answers and on keep/reject |",
        "| `leakage_checked`, `leakage_flagged`, `leakage_hits`, `leakage_models`, `leakage` | text-only leakage verdict (JSON in `leakage`) |",
        "| `description1`, `description2` | image descriptions for the DQ/IDQ settings, when present |",
        "| `candidate_id` | the curation candidate the sample came from |",
        "| `version`, `content_hash` | release version; hash of what a model sees (`mmra diff` compares it) |",
    ])


def _body(ci: CardInputs) -> str:
    total = len(ci.rows)
    repo = ci.repo_id or ci.dataset_path
    tag = hub_tag(ci.version)
    load_pinned = (f'load_dataset("{ci.repo_id}", revision="{tag}", split="test")' if ci.repo_id
                   else f'load_dataset("{ci.dataset_path}", split="test")')
    plots = "\n".join(f"![{k}]({v})" for k, v in PLOT_FILES.items())
    return f"""# {ci.name} {ci.version}

{_gate_banner(ci.validity)}{_unchecked_banner(ci.validity)}
A multi-image relational-association benchmark in the format of MMRA (arXiv 2407.17379): {total} questions about
image pairs across {len(ci.stats)} subtasks. Built and published with the MMRA toolkit.

- **Version**: `{ci.version}` (Hub tag `{tag}`; releases are immutable: a change means a new version)
- **Fingerprint**: `{ci.fingerprint}` (content of every row, images by sha256; `manifest.json` lists each file's sha256)

## Load it

```python
from datasets import load_dataset
ds = {load_pinned}   # pin the version you report
row = ds[0]
import ast; options = ast.literal_eval(row["options"]) if row["options"] else None   # as for m-a-p/MMRA
```

Code written for m-a-p/MMRA runs unchanged: `load_dataset("{repo}")["train"]` gives the same rows (see below).
With the toolkit: `mmra.benchmark.release.load_release("{repo}", revision="{ci.version}")`.

## Splits and configs

{SPLIT_NOTE}

## Columns

{_columns_section()}

## Subtasks

{subtask_table(ci.stats)}

Letter columns give the share of multiple-choice gold answers per letter; a balanced 4-option subtask is near 25% each.

{plots}

## Validity

{validity_section(ci)}

## How it was built

{_build_section(ci)}

## Licence

{_licence_section(ci.licence)}

## Changelog

{changelog_section(ci.changelog, ci.previous_versions)}

## Evaluate with lmms-eval

This release ships `lmms_eval/{_task_name(ci.name)}.yaml` and `lmms_eval/utils.py` (the toolkit's prompt and answer
extraction, per-subtask and entity/image-level accuracy, share of unparseable answers). Run
`lmms-eval --include_path <this release>/lmms_eval --tasks {_task_name(ci.name)} ...`; {_lmms_source(ci)}

{LMMS_CARD_NOTE}

{vlmevalkit_section(_task_name(ci.name), ci.version)}

## Citation

If you use this benchmark, cite the MMRA paper and this release:

```bibtex
{MMRA_BIBTEX}

@misc{{{_bib_key(ci.name, ci.version)},
  title        = {{{ci.name}: an MMRA-style benchmark, version {ci.version}}},
  howpublished = {{\\url{{{_repo_url(ci)}}}}},
  note         = {{Version {ci.version}, fingerprint {ci.fingerprint[:23]}; built with the MMRA toolkit}}
}}
```
"""


def _lmms_source(ci: CardInputs) -> str:
    if ci.repo_id:
        return f"the task loads `{ci.repo_id}` at tag `{hub_tag(ci.version)}`."
    return "the task loads this folder's parquet shards by paths relative to the YAML, so keep the folder whole."


def _task_name(name: str) -> str:
    return "mmra_" + "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def _bib_key(name: str, version: str) -> str:
    return _task_name(name) + "_" + version.replace(".", "_").replace("-", "_").replace("+", "_")


def _repo_url(ci: CardInputs) -> str:
    if ci.repo_id:
        return f"https://huggingface.co/datasets/{ci.repo_id}/tree/{hub_tag(ci.version)}"
    return ci.dataset_path


task_name = _task_name


def order_of(rows: list[dict[str, Any]]) -> list[str]:
    """Subtask names in release order (rows are sorted)."""
    return list(dict.fromkeys(r["Task"] for r in rows))
