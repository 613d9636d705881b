"""`report.md`: what an audit found, for people. Per task the probe table (n, chance, answer prior, learned probe,
LLM probes, 95 % intervals, p-values), the 20 most text-answerable items with their evidence in words, and the
blind-proof subset's numbers."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from mmra.benchmark.leakage.blind import content_words
from mmra.benchmark.leakage.items import ProbeItem
from mmra.benchmark.vocabulary import QAType

TOP = 20
def _cell(text: Any, limit: int = 90) -> str:
    """Text safe inside a markdown table cell: one line, pipes and markup escaped, shortened."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _stat(st: dict[str, Any] | None) -> str:
    if not st or st.get("accuracy") is None:
        return "–"
    lo, hi = st["ci"]
    return f"{_pct(st['accuracy'])} [{_pct(lo)}, {_pct(hi)}] p={st['p_value']:.2g}"


class Evidence:
    """Set-level counts the explanations refer to: how often each option text is gold, and each question
    word's answer rate among yes/no items (both leaving the item itself out)."""

    def __init__(self, items: list[ProbeItem], report: dict[str, Any] | None = None):
        # the answer prior is evidence only in a task whose answer key is skewed (significantly above chance)
        self.skewed = {name for name, row in (report or {}).get("subtasks", {}).items()
                       if ((row.get("probes") or {}).get("answer_prior") or {}).get("p_value", 1.0) < 0.05}
        self.gold_text = Counter(i.answer_text.casefold() for i in items if i.qa_type == QAType.multiple_choice)
        self.option_text = Counter(o.casefold() for i in items if i.qa_type == QAType.multiple_choice
                                   for o in set(i.options))
        self.word_yes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for i in items:
            if i.qa_type == QAType.yes_no:
                for w in content_words(i.question):
                    self.word_yes[w][0] += i.answer == "Yes"
                    self.word_yes[w][1] += 1

    def explain(self, item: ProbeItem, verdict: dict[str, Any]) -> list[str]:
        reasons: list[str] = []
        probes = verdict.get("probes") or {}
        prior = probes.get("answer_prior") or {}
        if item.qa_type == QAType.multiple_choice:
            reasons += self._mc(item)
        else:
            reasons += self._yes_no(item)
        if prior.get("correct") and item.subtask in self.skewed:
            reasons.append(f"the task's most common answer ({prior.get('rule')} rule: {prior.get('predicted')}) is right")
        hits = verdict.get("hits") or 0
        if hits:
            reasons.append(f"{hits} LLM(s) answer it without the images under every option order")
        if not reasons:
            reasons.append("no single cue stands out: the probe combined weaker features (sentence-embedding "
                           "similarity of question and options, option word counts)")
        return reasons

    def _mc(self, item: ProbeItem) -> list[str]:
        out = []
        gold = item.options.index(item.answer_text)
        lengths = [len(o) for o in item.options]
        others = lengths[:gold] + lengths[gold + 1:]
        if lengths[gold] > max(others):
            out.append(f"the answer is the longest option ({lengths[gold]} characters; the others at most {max(others)})")
        elif lengths[gold] < min(others):
            out.append(f"the answer is the shortest option ({lengths[gold]} characters; the others at least {min(others)})")
        q = content_words(item.question)
        shared = [q & content_words(o) for o in item.options]
        other_shared = max(len(s) for j, s in enumerate(shared) if j != gold)
        if len(shared[gold]) > other_shared:
            words = ", ".join(f"'{w}'" for w in sorted(shared[gold])[:4])
            out.append(f"the answer shares {len(shared[gold])} word(s) with the question ({words}); "
                       f"no other option shares more than {other_shared}")
        text = item.answer_text.casefold()
        elsewhere = self.gold_text[text] - 1
        offered = self.option_text[text] - 1
        if elsewhere >= 2:
            out.append(f"its text '{_cell(item.answer_text, 40)}' is the gold answer of {elsewhere} other item(s) "
                       f"(offered in {offered})")
        distractor_gold = max((self.gold_text[o.casefold()] for j, o in enumerate(item.options) if j != gold), default=0)
        if elsewhere >= 2 and distractor_gold == 0:
            out.append("none of its distractors is ever a gold answer")
        return out

    def _yes_no(self, item: ProbeItem) -> list[str]:
        out = []
        for w in sorted(content_words(item.question)):
            yes, n = self.word_yes[w]
            yes -= item.answer == "Yes"
            n -= 1
            if n < 5:
                continue
            rate = yes / n
            if item.answer == "Yes" and rate >= 0.8 or item.answer == "No" and rate <= 0.2:
                share = yes if item.answer == "Yes" else n - yes
                out.append(f"cue word '{w}': {share} of {n} other yes/no questions with it are answered {item.answer}")
        return out[:3]


def _answer_cell(item: ProbeItem) -> str:
    if item.qa_type == QAType.multiple_choice:
        return f"{_cell(item.answer)}: {_cell(item.answer_text, 40)}"
    return _cell(item.answer)


def most_answerable(verdicts: list[dict[str, Any]], items: list[ProbeItem], n: int = TOP) -> list[list[dict[str, Any]]]:
    """The items the text gives away most surely (LLM hits first, then the learned probe's bias score), as up to
    `n` groups: items asking the same question with the same options and answer in one task are one shortcut
    (a benchmark often asks it about many images), listed once with all their ids."""
    def key(v):
        learned = (v.get("probes") or {}).get("learned") or {}
        return (-(v.get("hits") or 0), -(learned.get("bias_score") or 0.0) if learned.get("correct") else 1.0, str(v["id"]))

    by_id = {i.id: i for i in items}
    right = [v for v in verdicts if v.get("hits") or ((v.get("probes") or {}).get("learned") or {}).get("correct")]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for v in sorted(right, key=key):
        item = by_id[v["id"]]
        same = (item.subtask, " ".join(item.question.split()).casefold(), tuple(item.options), item.answer)
        if same in groups or len(groups) < n:
            groups.setdefault(same, []).append(v)
    return list(groups.values())


def markdown_report(report: dict[str, Any], verdicts: list[dict[str, Any]], items: list[ProbeItem]) -> str:
    audit = report.get("audit", {})
    models = report["settings"].get("models", [])
    probes = list(report["totals"].get("probes", {}))
    lines = [f"# Audit of {_cell(audit.get('source', ''), 200)}", ""]
    lines.append(f"Format: {audit.get('format')}; columns used: "
                 + ", ".join(f"{k} = {_cell(v, 60)}" for k, v in audit.get("columns", {}).items() if v) + ".")
    lines.append(f"{audit.get('items')} items audited in {len(report['subtasks'])} task(s); "
                 f"{audit.get('rows_left_out', 0)} row(s) left out (see report.json `audit.left_out`).")
    lines.append(f"Flag rule: {report['settings'].get('rule')}.")
    lines += ["", "## Per task", ""]
    head = ["task", "n", "chance %", *(f"{p.replace('_', ' ')} % [95 % CI] p" for p in probes),
            *(f"{m} circular % / hit %" for m in models), "flagged"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    rows = dict(report["subtasks"])
    rows["ALL"] = report["totals"]
    for name, row in rows.items():
        cells = [f"**{_cell(name)}**" if name == "ALL" else _cell(name) + (" (too small)" if row.get("too_small") else ""),
                 str(row["n"]), _pct(row.get("chance"))]
        cells += [_stat(row["probes"].get(p)) for p in probes]
        for m in models:
            k = (row.get("models", {}).get(m, {}).get("probes") or {}).get("circular")
            cells.append("–" if not k or k.get("accuracy") is None else f"{_pct(k['accuracy'])} / {_pct(k['hit_rate'])}")
        cells.append(f"{row['flagged']} ({100 * row['flag_rate']:.0f} %)")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## The most text-answerable items", ""]
    top = most_answerable(verdicts, items)
    if not top:
        lines.append("No item is answered right by the text probes with any confidence.")
    else:
        evidence = Evidence(items, report)
        by_id = {i.id: i for i in items}
        lines.append("Items that ask the same question with the same options and answer are one row (their ids "
                     "together).")
        lines.append("")
        lines.append("| # | id | task | question | answer | bias score | evidence |")
        lines.append("|---|---|---|---|---|---|---|")
        for rank, group in enumerate(top, 1):
            v = group[0]
            item = by_id[v["id"]]
            learned = (v.get("probes") or {}).get("learned") or {}
            ids = ", ".join(str(g["id"]) for g in group[:3]) + (f" and {len(group) - 3} more" if len(group) > 3 else "")
            lines.append(f"| {rank} | {_cell(ids, 60)} | {_cell(item.subtask, 30)} | {_cell(item.question)} | "
                         f"{_answer_cell(item)} | {learned.get('bias_score', '–')} | "
                         + _cell("; ".join(evidence.explain(item, v)), 400) + " |")
    subset = audit.get("subset")
    if subset:
        lines += ["", "## The blind-proof subset", ""]
        lines.append(f"`{_cell(subset.get('path', ''), 200)}`: {subset['kept']} of {subset['of']} items kept "
                     f"(every task within chance + {subset['eps']:g} points after refitting"
                     + ("" if subset["converged"] else "; NOT reached, see the warnings") + f"; {subset['rounds']} pruning round(s)). "
                     "Same format and columns as the input, values untouched, rows removed.")
        lines += ["", "| task | n | kept | chance % after | " + " | ".join(
            f"{p.replace('_', ' ')} % before → after" for p in probes) + " |",
            "|" + "---|" * (4 + len(probes))]
        for name, t in subset["tasks"].items():
            lines.append(f"| {_cell(name)} | {t['n']} | {t['kept']} | {_pct(t['chance_after'])} | " + " | ".join(
                f"{_pct(t['before'].get(p))} → {_pct(t['after'].get(p))}" for p in probes) + " |")
        for w in subset["warnings"]:
            lines.append(f"\n> warning: {_cell(w, 300)}")
    lines += ["", "## What the numbers mean", "",
              "- **chance**: the accuracy of a uniform guess, from each item's own number of options (yes/no: 50 %).",
              "- **answer prior**: one constant answer per task (the most frequent gold letter, option text or "
              "yes/no), learned on the other folds. Above chance means a skewed answer key.",
              "- **learned**: a logistic-regression probe trained out of fold on the benchmark's own text only "
              "(option lengths, words shared with the question, option texts that are gold elsewhere, sentence "
              "embeddings). Above chance means the text gives answers away; its per-item probability of the gold "
              "answer is the **bias score**.",
              "- **circular**: an LLM answers every item without the images under every rotation of the options; "
              "a hit needs the right answer under all of them, so a position-biased guesser never hits. The "
              "rotations stop at the first wrong answer (it decides: no hit), so the circular % is the accuracy "
              "in the item's own option order unless the audit ran with `--every-rotation`.",
              "- The interval is a 95 % Wilson interval; p is the one-sided binomial test against chance. A task "
              "marked too small is reported but never gated or pruned."]
    return "\n".join(lines) + "\n"
