"""The samples to audit, read by the shared reader (`mmra.benchmark.sources`): a Samples or MMRA-format JSONL,
a parquet file or folder (a published release), a `datasets.save_to_disk` folder or a Hub dataset.

Leakage policy: the filter reads only the text, so a row needs only `Task`, `QA_type`, `question`, `options`,
`answer`; missing images get a placeholder path ("missing:image1") and a missing `id` is derived (the same
question twice about images that cannot be told apart keeps both, as "<id>~2"). Any other bad record stops the
audit with every problem listed."""

from __future__ import annotations

from pathlib import Path

from mmra.benchmark.schema import Sample
from mmra.benchmark.sources import load_samples as read_samples


def load_samples(path: str | Path) -> list[Sample]:
    return read_samples(path, on_error="raise", missing_images="placeholder", rename_duplicates=True).samples
