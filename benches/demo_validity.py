"""Is the demo's release answerable without its images? Measured OUTSIDE the toolkit (this script does not
import mmra): it reads the published parquet with pandas/pyarrow, only the MMRA columns a benchmark user sees
(Task, QA_type, question, options, answer), and fits its own text-only baselines with scikit-learn.

    .venv/bin/python benches/demo_validity.py --workspace mmra-workspace/demo          # latest release + its QO eval
    .venv/bin/python benches/demo_validity.py --release DIR [--scores scores.json] [--check]

Figures, overall and per subtask:
- chance: the mean of 1/number-of-options (Yes/No: 1/2);
- constant answer: the best single answer (a letter, or Yes/No) per subtask and question type, in sample
  (an upper bound) and out of fold (chosen on the other folds, scored on the held-out fold);
- k-fold text classifier: TF-IDF bag of words + logistic regression over (question, option) pairs, label
  "this option is gold"; each sample answers with its highest-scoring option. Features: the option's words,
  the question's words and word pairs crossed with the option (so "Is ... a step of ..." can pull towards Yes or No), the
  subtask crossed with the option, the option's letter, its length and length rank, and its word overlap with
  the question. 5-fold cross-validation over samples, averaged over 10 fold assignments;
- gold letter shares (multiple choice) and the Yes share (yes/no), per subtask and overall;
- question-only (QO) eval accuracy from the demo's `scores.json` (the setting QO run).
`--check` exits 1 unless: QO and the classifier are within chance + 10 points overall, no gold letter above
45 %, and the Yes share is within 25-75 % (the targets of issue 11).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

LETTERS = "ABCDEFGHIJ"
FOLDS, REPEATS = 5, 10
MARGIN, MAX_LETTER, YES_RANGE = 10.0, 45.0, (25.0, 75.0)


# ------------------------------------------------------------------ reading the release


def default_files(release: Path) -> list[Path]:
    """The parquet files of the card's default config, test split (what `datasets.load_dataset` would read)."""
    card = release / "README.md"
    patterns = ["data/*.parquet"]
    if card.exists():
        text = card.read_text(encoding="utf-8")
        if text.startswith("---"):
            meta = yaml.safe_load(text.split("---", 2)[1]) or {}
            for config in meta.get("configs") or []:
                if config.get("default") or config.get("config_name") == "default":
                    files = [f for f in config.get("data_files") or [] if f.get("split") == "test"]
                    if files:
                        path = files[0]["path"]
                        patterns = path if isinstance(path, list) else [path]
                    break
    found = sorted({p for pattern in patterns for p in release.glob(pattern)})
    if not found:
        raise SystemExit(f"{release}: no parquet files match {patterns}")
    return found


def read_release(release: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p, columns=["Task", "QA_type", "question", "options", "answer"])
              for p in default_files(release)]
    df = pd.concat(frames, ignore_index=True)
    rows = []
    for rec in df.to_dict("records"):
        yes_no = "true or false" in rec["QA_type"].lower() or "yes" in rec["QA_type"].lower()
        if yes_no:
            options, gold = ["Yes", "No"], str(rec["answer"]).strip().capitalize()
        else:
            parsed = ast.literal_eval(rec["options"]) if isinstance(rec["options"], str) else rec["options"]
            options = [str(parsed[k]) for k in sorted(parsed)]
            gold = str(rec["answer"]).strip().strip("().").upper()
        rows.append({"task": rec["Task"], "yes_no": yes_no, "question": rec["question"], "options": options,
                     "gold": gold, "gold_index": (options.index(gold) if yes_no else LETTERS.index(gold))})
    return pd.DataFrame(rows)


def latest_release(workspace: Path) -> Path:
    versions = [p for p in (workspace / "releases").glob("*/*") if (p / "manifest.json").exists()]
    if not versions:
        raise SystemExit(f"{workspace}: no release under releases/")

    def key(p: Path):
        return tuple(int(x) for x in re.findall(r"\d+", p.name)[:3])

    return max(versions, key=key)


def qo_accuracy(scores_path: Path) -> tuple[float | None, dict[str, float]]:
    data = json.loads(scores_path.read_text())
    for run in data.get("runs", []):
        if run.get("setting") == "QO":
            per = {k: v["accuracy"] for k, v in (run.get("subtasks") or {}).items() if v.get("accuracy") is not None}
            return run.get("overall"), per
    return None, {}


# ------------------------------------------------------------------ baselines


def chance(df: pd.DataFrame) -> np.ndarray:
    return np.array([1.0 / len(o) for o in df["options"]])


def constant_answer(df: pd.DataFrame, folds: list[np.ndarray] | None = None) -> np.ndarray:
    """Right (1/0) per sample for the most common gold answer of its subtask and question type; with `folds`,
    the answer is chosen on the other folds only (ties: the first letter / Yes)."""
    key = df["task"] + "|" + df["yes_no"].astype(str)
    right = np.zeros(len(df))
    splits = folds or [np.arange(len(df))]
    for test in splits:
        train = np.setdiff1d(np.arange(len(df)), test) if folds else test
        for k in key.iloc[test].unique():
            counts = Counter(df["gold"].iloc[train][key.iloc[train] == k])
            best = min(counts, key=lambda a: (-counts[a], a)) if counts else "A"
            idx = test[(key.iloc[test] == k).to_numpy()]
            right[idx] = (df["gold"].iloc[idx] == best).to_numpy()
    return right


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def pair_rows(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for i, rec in enumerate(df.to_dict("records")):
        lengths = [len(o) for o in rec["options"]]
        order = sorted(range(len(lengths)), key=lambda j: -lengths[j])
        qtokens = _words(rec["question"])
        qwords = set(qtokens)
        qgrams = qwords | {f"{a}_{b}" for a, b in zip(qtokens, qtokens[1:], strict=False)}  # bigrams keep "image 1 ... image 2" order
        for j, option in enumerate(rec["options"]):
            tag = "_".join(_words(option)) or "empty"
            rows.append({
                "sample": i, "is_gold": int(j == rec["gold_index"]),
                "option": option,
                # the question's words crossed with this option: lets a word of the question pick an answer
                "cross": " ".join(f"{tag}__{w}" for w in sorted(qgrams)) + f" {rec['task']}__{tag}",
                "dense": [lengths[j] / 40.0, order.index(j) / max(1, len(lengths) - 1),
                          float(j == order[0]), len(qwords & set(_words(option))) / 3.0, float(rec["yes_no"])]
                         + [float(j == k) for k in range(4)],
            })
    return pd.DataFrame(rows)


def _best_option_right(pairs: pd.DataFrame, scores: np.ndarray, right: np.ndarray) -> None:
    """Each held-out sample answers with its highest-scoring option."""
    for sample, group in pairs.assign(score=scores).groupby("sample"):
        right[sample] = group["is_gold"].to_numpy()[int(np.argmax(group["score"].to_numpy()))]


def _bow_features(part: pd.DataFrame, opt_vec: TfidfVectorizer, cross_vec: TfidfVectorizer, fit: bool):
    a = opt_vec.fit_transform(part["option"]) if fit else opt_vec.transform(part["option"])
    b = cross_vec.fit_transform(part["cross"]) if fit else cross_vec.transform(part["cross"])
    return sparse.hstack([a, b, sparse.csr_matrix(np.array(part["dense"].tolist()))]).tocsr()


def text_classifier(df: pd.DataFrame, seed: int) -> np.ndarray:
    """Out-of-fold right (1/0) per sample for the TF-IDF + logistic-regression pair scorer."""
    pairs = pair_rows(df)
    right = np.zeros(len(df))
    folds = KFold(n_splits=min(FOLDS, len(df)), shuffle=True, random_state=seed)
    for train_s, _ in folds.split(np.arange(len(df))):
        train = pairs["sample"].isin(train_s).to_numpy()
        opt_vec = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"[A-Za-z0-9]+")
        cross_vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False)
        y = pairs["is_gold"][train].to_numpy()
        if len(set(y)) < 2:
            continue
        model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        model.fit(_bow_features(pairs[train], opt_vec, cross_vec, True), y)
        test = pairs[~train]
        _best_option_right(test, model.decision_function(_bow_features(test, opt_vec, cross_vec, False)), right)
    return right


def _prior_features(part: pd.DataFrame, gold: pd.Series, shown: pd.Series, own: bool) -> np.ndarray:
    g = part["key"].map(gold).fillna(0).to_numpy() - (part["is_gold"].to_numpy() if own else 0)
    n = part["key"].map(shown).fillna(0).to_numpy() - (1 if own else 0)
    rate = (g + 0.25) / (n + 1.0)
    return np.column_stack([rate, np.log1p(n), (n == 0).astype(float), np.array(part["dense"].tolist())])


def option_prior_classifier(df: pd.DataFrame, seed: int) -> np.ndarray:
    """Out-of-fold right (1/0) per sample for a logistic regression on hand features of each option: how
    often its text is gold among the training samples that show it (leave-one-out inside the training
    folds, so the feature means the same for training and held-out rows), how often it is shown, its length
    rank and its word overlap with the question. It learns either sign: options whose text is gold too
    often, or too rarely, elsewhere."""
    pairs = pair_rows(df)
    pairs["key"] = pairs["option"].str.lower() + "|" + df["task"].iloc[pairs["sample"]].to_numpy()
    right = np.zeros(len(df))
    folds = KFold(n_splits=min(FOLDS, len(df)), shuffle=True, random_state=seed)
    for train_s, _ in folds.split(np.arange(len(df))):
        train = pairs["sample"].isin(train_s).to_numpy()
        gold = pairs[train].groupby("key")["is_gold"].sum()
        shown = pairs[train].groupby("key")["is_gold"].count()
        y = pairs["is_gold"][train].to_numpy()
        if len(set(y)) < 2:
            continue
        model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        model.fit(_prior_features(pairs[train], gold, shown, True), y)
        test = pairs[~train]
        _best_option_right(test, model.decision_function(_prior_features(test, gold, shown, False)), right)
    return right


# ------------------------------------------------------------------ report


def pct(x: float | None) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def measure(df: pd.DataFrame, qo: float | None, qo_per: dict[str, float]) -> dict:
    ch = chance(df)
    rng_folds = KFold(n_splits=min(FOLDS, len(df)), shuffle=True, random_state=0)
    const_oof = constant_answer(df, [test for _, test in rng_folds.split(np.arange(len(df)))])
    const_in = constant_answer(df)
    clf = np.mean([text_classifier(df, seed) for seed in range(REPEATS)], axis=0)
    prior = np.mean([option_prior_classifier(df, seed) for seed in range(REPEATS)], axis=0)
    mc, yn = df[~df["yes_no"]], df[df["yes_no"]]
    letters = Counter(mc["gold"])
    overall = {
        "n": len(df), "chance": ch.mean(), "constant_in_sample": const_in.mean(), "constant_out_of_fold":
        const_oof.mean(), "text_classifier": clf.mean(), "option_prior": prior.mean(), "qo_eval": qo,
        "letter_shares": {k: letters[k] / max(1, len(mc)) for k in sorted(letters)},
        "yes_share": (yn["gold"] == "Yes").mean() if len(yn) else None, "yes_no_n": len(yn),
    }
    per = {}
    for task, idx in df.groupby("task").groups.items():
        part = df.loc[idx]
        sub_mc, sub_yn = part[~part["yes_no"]], part[part["yes_no"]]
        lc = Counter(sub_mc["gold"])
        per[task] = {"n": len(part), "chance": ch[idx].mean(), "constant_in_sample": const_in[idx].mean(),
                     "constant_out_of_fold": const_oof[idx].mean(), "text_classifier": clf[idx].mean(),
                     "option_prior": prior[idx].mean(),
                     "qo_eval": next((v for k, v in qo_per.items() if k in (task, abbreviation(task))), None),
                     "top_letter": (max(lc.values()) / len(sub_mc)) if len(sub_mc) else None,
                     "yes_share": (sub_yn["gold"] == "Yes").mean() if len(sub_yn) else None,
                     "yes_no_n": len(sub_yn)}
    return {"overall": overall, "subtasks": per}


def abbreviation(task: str) -> str:
    return "".join(c for c in task if c.isupper())


def checks(fig: dict) -> list[tuple[str, bool]]:
    o = fig["overall"]
    ch = 100 * o["chance"]
    out = [(f"text classifier {100 * o['text_classifier']:.1f} % <= chance {ch:.1f} + {MARGIN:.0f}",
            100 * o["text_classifier"] <= ch + MARGIN),
           (f"option-prior classifier {100 * o['option_prior']:.1f} % <= chance {ch:.1f} + {MARGIN:.0f}",
            100 * o["option_prior"] <= ch + MARGIN)]
    if o["qo_eval"] is not None:
        out.append((f"QO eval {100 * o['qo_eval']:.1f} % <= chance {ch:.1f} + {MARGIN:.0f}",
                    100 * o["qo_eval"] <= ch + MARGIN))
    top = max(o["letter_shares"].items(), key=lambda kv: kv[1]) if o["letter_shares"] else ("-", 0.0)
    out.append((f"top gold letter {top[0]} {100 * top[1]:.1f} % <= {MAX_LETTER:.0f} %", 100 * top[1] <= MAX_LETTER))
    if o["yes_share"] is not None:
        out.append((f"Yes share {100 * o['yes_share']:.1f} % in {YES_RANGE[0]:.0f}-{YES_RANGE[1]:.0f} %",
                    YES_RANGE[0] <= 100 * o["yes_share"] <= YES_RANGE[1]))
    return out


def print_report(release: Path, fig: dict, scores: Path | None) -> None:
    o = fig["overall"]
    print(f"release: {release}  ({o['n']} samples, default config)")
    print(f"QO eval scores: {scores if scores else '(none given)'}")
    head = f"{'subtask':22} {'n':>3} {'chance':>6} {'const':>6} {'c-oof':>6} {'clf':>6} {'prior':>6} {'QO':>6} {'topL':>6} {'Yes':>6}"
    print(head)
    print("-" * len(head))
    for task, s in sorted(fig["subtasks"].items()):
        yes = "   -" if s["yes_share"] is None else f"{pct(s['yes_share'])}/{s['yes_no_n']}"
        print(f"{task:22} {s['n']:3d} {pct(s['chance']):>6} {pct(s['constant_in_sample']):>6} "
              f"{pct(s['constant_out_of_fold']):>6} {pct(s['text_classifier']):>6} {pct(s['option_prior']):>6} "
              f"{pct(s['qo_eval']):>6} "
              f"{pct(s['top_letter']):>6} {yes:>6}")
    print("-" * len(head))
    print(f"{'overall':22} {o['n']:3d} {pct(o['chance']):>6} {pct(o['constant_in_sample']):>6} "
          f"{pct(o['constant_out_of_fold']):>6} {pct(o['text_classifier']):>6} {pct(o['option_prior']):>6} "
          f"{pct(o['qo_eval']):>6}")
    shares = ", ".join(f"{k} {100 * v:.0f} %" for k, v in o["letter_shares"].items())
    yes = "-" if o["yes_share"] is None else f"{100 * o['yes_share']:.0f} % of {o['yes_no_n']}"
    print(f"gold letters (multiple choice): {shares}; Yes share (yes/no): {yes}")
    print("const = best constant answer per subtask in sample, c-oof = the same chosen out of fold, clf = k-fold "
          f"TF-IDF + logistic regression,\n"
          f"prior = k-fold option-prior logistic regression (both {FOLDS} folds x {REPEATS}), QO = the question-only "
          "eval run")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", type=Path, help="a demo workspace: its latest release and that release's QO run")
    ap.add_argument("--release", type=Path, help="a release folder (STORE/<name>/<version>)")
    ap.add_argument("--scores", type=Path, help="scores.json of an eval that includes a QO run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the issue-11 targets hold")
    args = ap.parse_args(argv)
    if not args.release and not args.workspace:
        ap.error("give --workspace or --release")
    release = args.release or latest_release(args.workspace)
    scores = args.scores
    if scores is None and args.workspace:
        guess = args.workspace / "eval" / release.name / "scores" / "scores.json"
        scores = guess if guess.exists() else None
    qo, qo_per = qo_accuracy(scores) if scores else (None, {})
    df = read_release(release)
    fig = measure(df, qo, qo_per)
    print_report(release, fig, scores)
    results = checks(fig)
    for text, ok in results:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        args.json.write_text(json.dumps({"release": str(release), "scores": str(scores) if scores else None,
                                         **fig, "checks": [{"check": t, "pass": ok} for t, ok in results]},
                                        indent=2, default=float))
    return 0 if (not args.check or all(ok for _, ok in results)) else 1


if __name__ == "__main__":
    sys.exit(main())
