"""Model-free blind probes as registered objects: adding one is one `BlindProbe` subclass in one file.

A probe answers every item without the images and without a language model, out of fold: `fit_predict` gets the
items, a fold index per item and the shared context (settings, the embedding table) and returns, per item id, a
record with at least `predicted` and `correct` (and, if it has one, `bias_score`: its probability of the gold
answer). The panel turns those into per-task accuracy, intervals, p-values, flags and pruning.

Built-ins (`mmra.benchmark.leakage.blind`): `answer_prior` and `learned`. A package adds one through the
entry-point group `mmra.blind_probes`:

    [project.entry-points."mmra.blind_probes"]
    longest_option = "my_pkg.probes:LongestOption"   # a BlindProbe subclass with a `name`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mmra.plugins import Registry


@dataclass
class ProbeContext:
    seed: int = 0
    embeddings: Any = None  # blind.TextEmbeddings or None (hand features only)
    warnings: list[str] = field(default_factory=list)


class BlindProbe:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def fit_predict(self, items: list, folds: Any, k: int, context: ProbeContext) -> dict[str, dict[str, Any]]:
        raise NotImplementedError


def _is_probe(obj: Any) -> str | None:
    if isinstance(obj, type) and issubclass(obj, BlindProbe) and obj.name:
        return None
    return "is not a BlindProbe subclass with a name"


BLIND_PROBES = Registry(
    "blind probe", "mmra.blind_probes",
    {"answer_prior": "mmra.benchmark.leakage.blind:AnswerPriorProbe",
     "learned": "mmra.benchmark.leakage.blind:LearnedProbe"},
    check=_is_probe,
)
DEFAULT_PROBES = ("answer_prior", "learned")
