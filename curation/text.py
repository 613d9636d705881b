"""Words and phrases: ConceptNet URI/phrase normalisation, caption lemmatisation (simplemma) and matching
ConceptNet concept phrases inside captions.

Concepts are compared as normalised lemma phrases ("ice cream", "ride horse"), the form CKBC uses and the form
`/c/en/ice_cream/n/...` URIs normalise to.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import simplemma

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_SPACES = re.compile(r"\s+")

# Words a caption phrase may skip between the words of a concept ("riding a horse" ~ "ride horse").
SKIPPABLE = frozenset("a an the some his her their its this that these those one two three several".split())

STOPWORDS = frozenset(
    """a an the and or but of on in at to for with without from by over under into onto up down out off near
    next beside behind front top side this that these those there here is are was were be been being it its
    he she they them his her their some one two three four five several many other another each very while as
    has have having who which what where when than then just also only not no yes can will would could should
    may might do does did doing s image picture photo photograph view shot""".split()
)


def normalise_phrase(text: str) -> str:
    """'  Ice_Cream ' -> 'ice cream'."""
    return _SPACES.sub(" ", text.replace("_", " ")).strip().lower()


def normalise_concept_uri(uri: str) -> str | None:
    """'/c/en/ice_cream/n/wn/food' -> 'ice cream'; None when it is not a /c/<lang>/<term> URI."""
    parts = uri.split("/")
    if len(parts) < 4 or parts[1] != "c" or not parts[3]:
        return None
    return normalise_phrase(parts[3])


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Lemmatiser:
    """simplemma lemmas, cached, with a fix for -ing forms simplemma leaves alone ('sitting' -> 'sit') when the
    shorter form is a known word (`known`: e.g. the one-word ConceptNet concepts)."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.known = set(known)
        self._cache: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        lemma = self._cache.get(word)
        if lemma is None:
            lemma = self._lemma(word)
            self._cache[word] = lemma
        return lemma

    def _lemma(self, word: str) -> str:
        lemma = simplemma.lemmatize(word, lang="en").lower()
        if lemma.endswith("ing") and len(lemma) > 5 and lemma == word:
            stem = word[:-3]
            options = [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                options.insert(0, stem[:-1])  # sitting -> sit, running -> run
            for option in options:
                if option in self.known:
                    return option
        return lemma

    def lemmas(self, text: str) -> list[str]:
        return [self(w) for w in tokens(text)]

    def phrase(self, text: str) -> tuple[str, ...]:
        """A concept phrase as lemma tokens without skippable words ('play on ice' keeps 'on')."""
        return tuple(self(w) for w in tokens(text) if w not in SKIPPABLE)


@dataclass(frozen=True)
class PhraseMatch:
    concept: str
    start: int  # token positions in the lemma sequence (after skippable words are removed)
    end: int


class PhraseMatcher:
    """Finds concept phrases in lemmatised text, in order, allowing `max_gap` extra words inside a phrase
    ('riding a brown horse' matches 'ride horse'). Phrases are indexed by their first lemma, so matching costs
    O(words x phrases sharing a first word), not O(vocabulary)."""

    def __init__(self, concepts: Iterable[str], lemmatiser: Lemmatiser, *, max_gap: int = 1,
                 max_words: int = 4) -> None:
        self.lemmatiser = lemmatiser
        self.max_gap = max_gap
        chosen: dict[tuple[str, ...], str] = {}
        for concept in sorted(concepts):
            words = lemmatiser.phrase(concept)
            if not words or len(words) > max_words:
                continue
            # several concepts can share one lemma form ("men", "man"): prefer the one spelled as its lemmas
            if words not in chosen or concept == " ".join(words):
                chosen[words] = concept
        # first word -> one-word concept; (first, second word) -> longer phrases: a caption word only
        # looks at the phrases that can start there
        self._single: dict[str, str] = {}
        self._by_two: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for words, concept in sorted(chosen.items()):
            if len(words) == 1:
                self._single[words[0]] = concept
            else:
                self._by_two[(words[0], words[1])].append((words, concept))
        self._firsts = {w for w, _ in self._by_two}

    def __len__(self) -> int:
        return len(self._single) + sum(len(v) for v in self._by_two.values())

    def sequence(self, text: str) -> list[str]:
        return [self.lemmatiser(w) for w in tokens(text) if w not in SKIPPABLE]

    def sequence_with_forms(self, text: str) -> tuple[list[str], list[bool]]:
        """Lemmas, and whether each word was a verb form (-ing/-ed changed by lemmatising: 'standing')."""
        words = [w for w in tokens(text) if w not in SKIPPABLE]
        lemmas = [self.lemmatiser(w) for w in words]
        verbal = [w != lem and w.endswith(("ing", "ed")) for w, lem in zip(words, lemmas, strict=True)]
        return lemmas, verbal

    def find(self, text: str | list[str]) -> list[PhraseMatch]:
        seq = self.sequence(text) if isinstance(text, str) else text
        found: list[PhraseMatch] = []
        n = len(seq)
        for i, word in enumerate(seq):
            concept = self._single.get(word)
            if concept is not None:
                found.append(PhraseMatch(concept, i, i + 1))
            if word not in self._firsts:
                continue
            for j in range(i + 1, min(n, i + 2 + self.max_gap)):
                for words, concept in self._by_two.get((word, seq[j]), ()):
                    end = self._match_from(seq, j + 1, words[2:], self.max_gap - (j - i - 1))
                    if end is not None:
                        found.append(PhraseMatch(concept, i, end))
        return found

    @staticmethod
    def _match_from(seq: list[str], pos: int, words: tuple[str, ...], gaps_left: int) -> int | None:
        for word in words:
            while pos < len(seq) and seq[pos] != word:
                gaps_left -= 1
                pos += 1
                if gaps_left < 0:
                    return None
            if pos >= len(seq):
                return None
            pos += 1
        return pos
