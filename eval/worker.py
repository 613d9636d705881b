"""One data-parallel worker: `python -m mmra.eval.worker '<json spec>'` evaluates its shard of the samples
(the parent sets CUDA_VISIBLE_DEVICES) and writes OUT/predictions.shard-<i>.jsonl."""

from __future__ import annotations

import json
import sys

from .runner import evaluate


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    dataset, out, shard = spec.pop("dataset"), spec.pop("out"), tuple(spec.pop("shard"))
    evaluate(dataset, out=out, shard=shard, score_after=False, show_progress=False, **spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
