"""An MMRA-format row may name any file: the readers never read devices, FIFOs or /proc while loading."""

from __future__ import annotations

import json
import os
import threading

import pytest

from mmra.benchmark.release import publish
from mmra.benchmark.release.errors import ReleaseInputError
from mmra.benchmark.sources import load_samples


def _row(i: int, image1: str, image2: str) -> dict:
    return {"Task": "SubEvent", "QA_type": "True or false QA", "question": f"Does event {i} follow?",
            "image1": image1, "image2": image2, "answer": "Yes" if i % 2 else "No"}


def test_reading_rows_that_name_devices_and_fifos_does_not_hang(tmp_path, make_image):
    good = make_image("ok.png")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    rows = [_row(0, str(good), "/dev/zero"), _row(1, str(good), str(fifo)), _row(2, str(good), "/proc/self/environ")]
    src = tmp_path / "mmra.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done: dict = {}
    worker = threading.Thread(target=lambda: done.setdefault("loaded", load_samples(src)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert "loaded" in done, "the reader blocked on a device or FIFO"
    samples = done["loaded"].samples
    assert len(samples) == 3 and all(s.image2.sha256 is None for s in samples)  # nothing was read
    with pytest.raises(ReleaseInputError) as info:
        publish(src, "1.0.0", tmp_path / "store", name="hostile", show_progress=False)
    text = " ".join(str(info.value).split())
    assert "system file" in text and "not a regular file" in text and "nothing was published" in text
