"""`mmra describe`: caption every image of a dataset with any backend, for the DQ / IDQ settings.

Writes a JSONL keyed by sample id, `{"id", "description1", "description2", "model"}`, that
`mmra eval --descriptions FILE` reads. Each caption is appended to `FILE.parts.jsonl` as it completes, so a
killed run resumes; the final file is written atomically at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.records import write_jsonl
from mmra.output import labelled
from mmra.progress import progress_bar, stderr_console

from .backends import Backend, make_backend
from .data import ImageLoadError, check_image_locations, load_dataset_samples, load_image
from .items import Prompt
from .predictions import PredictionWriter, read_done

DEFAULT_CAPTION_PROMPT = (
    "Describe this image in two sentences: the main objects, what the people or animals are doing, "
    "and the setting."
)


@dataclass
class DescribeResult:
    path: Path
    n_samples: int
    n_described: int
    errors: list[str] = field(default_factory=list)


def describe(dataset: str | Path, *, model: str, out: str | Path, backend: str | Backend = "hf",
             batch_size: int = 8, max_new_tokens: int = 64, limit: int | None = None,
             prompt: str = DEFAULT_CAPTION_PROMPT, backend_options: dict[str, Any] | None = None,
             show_progress: bool = True, roots: Sequence[Path] | None = None) -> DescribeResult:
    """Caption both images of every sample. `roots`: the real folders image files may lie in
    (`mmra.benchmark.images.allowed_roots`, as `mmra describe` computes them; None: anywhere but the system
    trees); a sample whose image lies outside stops the command before anything is written."""
    out = Path(out)
    loaded = load_dataset_samples(dataset, limit=limit)
    for problem in loaded.problems:
        stderr_console.print(labelled("skipped row:", "yellow", problem), highlight=False)
    check_image_locations(loaded, ("image1", "image2"), roots, what="nothing was described")
    parts_path = out.with_name(out.name + ".parts.jsonl")
    done, _ = read_done(parts_path)
    jobs = [(s, which) for s in loaded.samples for which in ("image1", "image2")
            if f"{s.id}/{which}" not in done]
    model_label = model if isinstance(backend, str) else backend.model_id
    errors: list[str] = []
    if jobs:
        engine = backend if isinstance(backend, Backend) else make_backend(backend, model, **(backend_options or {}))
        batches = [jobs[i:i + batch_size] for i in range(0, len(jobs), batch_size)]
        failed: dict[int, list[dict]] = {}

        def prepared():
            for index, batch in enumerate(batches):
                ready, bad = [], []
                for sample, which in batch:
                    key = f"{sample.id}/{which}"
                    try:
                        image = load_image(sample, which, loaded.base_dir, roots=roots)
                    except ImageLoadError as exc:
                        bad.append({"id": key, "text": None, "error": str(exc)})
                        continue
                    ready.append(Prompt(key, [{"type": "image"}, {"type": "text", "text": prompt}], [image]))
                failed[index] = bad
                yield (index, ready), ready

        out.parent.mkdir(parents=True, exist_ok=True)
        with PredictionWriter(parts_path) as writer, progress_bar(disable=not show_progress) as bar:
            task = bar.add_task(f"describe {model_label}", total=len(jobs))
            for (index, ready), outputs in engine.stream(prepared(), max_new_tokens=max_new_tokens):
                records = [{"id": p.key, "text": o.text, "error": o.error} for p, o in zip(ready, outputs, strict=True)]
                records += failed.pop(index, [])
                writer.write(records)
                bar.advance(task, len(records))
        done, _ = read_done(parts_path)

    lines = []
    for s in loaded.samples:
        d1, d2 = done.get(f"{s.id}/image1", {}), done.get(f"{s.id}/image2", {})
        if d1.get("text") and d2.get("text"):
            lines.append({"id": s.id, "description1": d1["text"], "description2": d2["text"], "model": model_label})
        else:
            errors.append(f"{s.id}: " + "; ".join(d.get("error") or "empty caption" for d in (d1, d2)
                                                  if not d.get("text")))
    for message in errors:
        stderr_console.print(labelled("not described:", "yellow", message), highlight=False)
    write_jsonl(out, lines)
    return DescribeResult(out, len(loaded.samples), len(lines), errors)
