"""VLMEvalKit export: one TSV in VLMEvalKit's own benchmark format, shipped inside every release.

VLMEvalKit (open-compass/VLMEvalKit) keeps each benchmark as one TSV with base64 images. Its conventions,
read from `vlmeval/dataset/image_base.py` and `image_mcq.py`:
- several images per question: `image` holds the Python-list string of base64 images (`toliststr` turns a
  string that starts with '[' into a list) and `image_path` the matching list of file names, which
  `dump_image` needs to write each image to `$LMUData/images/<dataset>/`;
- a TSV in `$LMUData` whose name is no official dataset, with columns `A` and `B` and an image column, is
  loaded as a `CustomMCQDataset` (multiple choice over the non-empty option columns `A`, `B`, ...);
- `category` and `l2-category` are the columns its accuracy report breaks down by.

So: `category` = subtask, `l2-category` = level (entity / image). A TSV is either multiple choice or
open VQA, so yes/no questions are two-option multiple choice, `A` = Yes and `B` = No, with the gold letter in
`answer`; `qa_type` keeps the original type and `answer_text` the original gold answer (Yes / No or the
option text). The images are the release's own bytes, base64-encoded without re-encoding.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..schema import LETTERS

COLUMNS = ("index", "id", "image", "image_path", "question", "A", "B", "C", "D", "answer", "answer_text",
           "category", "l2-category", "qa_type")
YES_NO_OPTIONS = ("Yes", "No")


def dataset_name(task: str, version: str) -> str:
    """The VLMEvalKit dataset name (also the TSV's file stem): the lmms-eval task name plus the version,
    without dots, since VLMEvalKit derives its output file names from it."""
    return f"{task}_v{version.replace('.', '_').replace('-', '_').replace('+', '_')}"


def _b64(image: dict[str, Any]) -> str:
    return base64.b64encode(image["bytes"]).decode("ascii")


def tsv_row(index: int, row: dict[str, Any]) -> dict[str, Any]:
    yes_no = row["QA_type"] != "Choice QA"
    options = list(YES_NO_OPTIONS) if yes_no else list(row["options_list"] or [])
    if len(options) > len(LETTERS):
        raise ValueError(f"sample {row['id']}: {len(options)} options; the TSV has columns A-D only")
    answer = LETTERS[YES_NO_OPTIONS.index(row["answer"])] if yes_no else row["answer"]
    names = [Path(row[f"image{i}"]["path"]).name for i in (1, 2)]
    out: dict[str, Any] = {
        "index": index, "id": row["id"],
        "image": repr([_b64(row["image1"]), _b64(row["image2"])]),
        "image_path": repr(names),
        "question": row["question"],
        **{letter: (options[i] if i < len(options) else "") for i, letter in enumerate(LETTERS)},
        "answer": answer,
        "answer_text": row["answer"] if yes_no else options[LETTERS.index(row["answer"])],
        "category": row["Task"], "l2-category": row["granularity"],
        "qa_type": "yes_no" if yes_no else "multiple_choice",
    }
    return out


def render_tsv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows):
        writer.writerow(tsv_row(i, row))
    return buf.getvalue()


def render_readme(name: str, n: int) -> str:
    return f"""# {name}: VLMEvalKit format

`{name}.tsv` holds the release's {n} samples (the default config; leakage-flagged samples are left out) in
VLMEvalKit's benchmark format: `index`, `image` (the two images, as a list of base64 strings, the release's own
bytes), `image_path` (their file names), `question`, options `A`-`D`, `answer` (a letter), `category`
(subtask), `l2-category` (level: entity / image), plus `id`, `qa_type` and `answer_text`. Yes/no questions are
two-option multiple choice: `A` = Yes, `B` = No.

Register it as a custom dataset: VLMEvalKit loads any TSV in `$LMUData` (default `~/LMUData`) whose name is
no official dataset and that has columns `A` and `B` as a multiple-choice `CustomMCQDataset`.

```bash
mkdir -p ~/LMUData && cp {name}.tsv ~/LMUData/   # a copy: VLMEvalKit writes images/ beside it
python run.py --data {name} --model Qwen2-VL-7B-Instruct   # from a VLMEvalKit checkout
```

VLMEvalKit builds its own prompt (both images first, then the question, `Options:` and its instruction) and
scores with its own matching (plus an LLM judge if configured), so its numbers are comparable across models in
VLMEvalKit but its raw answers are not those of `mmra eval` or the lmms-eval task; accuracy per `category` and
`l2-category` is in its `_acc.csv`.
"""


def write_vlmevalkit(out_dir: Path, task: str, version: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Write `vlmevalkit/<name>.tsv` and its README; returns the paths written, relative to `out_dir`."""
    name = dataset_name(task, version)
    folder = out_dir / "vlmevalkit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.tsv").write_text(render_tsv(rows), encoding="utf-8")
    (folder / "README.md").write_text(render_readme(name, len(rows)), encoding="utf-8")
    return [f"vlmevalkit/{name}.tsv", "vlmevalkit/README.md"]


def card_section(task: str, version: str) -> str:
    """The data card's paragraph on the VLMEvalKit export."""
    name = dataset_name(task, version)
    return f"""## Evaluate with VLMEvalKit

This release also ships `vlmevalkit/{name}.tsv` in VLMEvalKit's benchmark format (both images base64 in
`image`, `category` = subtask, `l2-category` = level; yes/no questions as options A = Yes, B = No). Copy it
into `$LMUData` and run `python run.py --data {name} --model ...`: VLMEvalKit treats it as a custom
multiple-choice dataset; `vlmevalkit/README.md` has the details. VLMEvalKit uses its own prompt and
answer matching, so its answers differ from `mmra eval`'s."""
