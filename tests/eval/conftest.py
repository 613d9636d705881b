"""Small real MMRA-format datasets (parquet with Image features, generated PIL images) and one tiny model
per architecture, shared by the eval tests."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

# (Task, QA_type, question, options or None, answer)
ROWS = [
    ("RelativePosition", "Choice QA", "Where is the cup relative to the laptop in both images?",
     {"A": "left of it", "B": "right of it", "C": "on top of it"}, "A"),
    ("UsageSimilarity", "Choice QA", "What can an object in Image 1 and one in Image 2 both be used for?",
     {"A": "cutting", "B": "writing", "C": "sitting", "D": "cooking"}, "C"),
    ("MentalitySimilarity", "Choice QA", "Which feeling do the people in both images share?",
     {"A": "joy", "B": "anger", "C": "fear", "D": "boredom"}, "A"),
    ("SimilarMaterial", "Choice QA", "Which material are the bench and the tree both made of?",
     {"A": "metal", "B": "wood", "C": "glass"}, "B"),
    ("AppearanceSimilarity", "Choice QA", "Which object in Image 2 looks most like the clock in Image 1?",
     {"A": "a plate", "B": "a ball", "C": "a box", "D": "a wheel"}, "D"),
    ("NearSameEntity", "True or false QA", "Is there a dog next to the table in both images?", None, "No"),
    ("Environment", "Choice QA", "Where were both photos taken?",
     {"A": "indoors", "B": "outdoors", "C": "underwater"}, "B"),
    ("Layout", "Choice QA", "How are the two scenes laid out?",
     {"A": "centred subject", "B": "symmetric", "C": "diagonal", "D": "cluttered"}, "A"),
    ("SimilarEvent", "Choice QA", "Which event do both images show?",
     {"A": "people sitting", "B": "a race", "C": "a wedding"}, "A"),
    ("SubEvent", "True or false QA", "Does Image 2 show a step that comes after Image 1?", None, "Yes"),
    ("SubEvent", "Chooice QA".replace("Chooice QA", "True or false QA"), "Is Image 1 a sub-event of Image 2?", None, "No"),
    ("ObservationAngle", "Choice QA", "From which angle are both photos taken?",
     {"A": "from above", "B": "eye level", "C": "from below", "D": "from behind"}, "B"),
]


def make_png(seed: int, size: tuple[int, int] | None = None) -> bytes:
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    size = size or (rnd.randint(40, 96), rnd.randint(40, 96))
    img = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rnd.randrange(size[0] // 2), rnd.randrange(size[1] // 2)
        draw.rectangle([x0, y0, x0 + rnd.randint(5, 30), y0 + rnd.randint(5, 30)],
                       fill=tuple(rnd.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def mmra_rows(n: int = len(ROWS), *, broken: set[int] = frozenset(), with_descriptions: bool = False,
              seed: int = 0) -> dict[str, list]:
    cols: dict[str, list] = {k: [] for k in ("id", "Task", "QA_type", "question", "image1", "image2", "options",
                                             "answer")}
    if with_descriptions:
        cols["description1"], cols["description2"] = [], []
    for i in range(n):
        task, qa, question, options, answer = ROWS[i % len(ROWS)]
        cols["id"].append(f"s{i:03d}")
        cols["Task"].append(task)
        cols["QA_type"].append(qa)
        cols["question"].append(question if i < len(ROWS) else f"{question} (variant {i})")
        img1 = b"\x89PNG\r\n\x1a\n this is not an image" if i in broken else make_png(seed + 2 * i)
        cols["image1"].append({"bytes": img1, "path": None})
        cols["image2"].append({"bytes": make_png(seed + 2 * i + 1), "path": None})
        cols["options"].append(repr(options) if options else None)
        cols["answer"].append(answer)
        if with_descriptions:
            cols["description1"].append(f"a photo with coloured boxes, number {2 * i}")
            cols["description2"].append(f"a photo with coloured boxes, number {2 * i + 1}")
    return cols


def write_parquet_release(folder: Path, cols: dict[str, list]) -> Path:
    import datasets

    features = datasets.Features({
        k: (datasets.Image() if k in ("image1", "image2") else datasets.Value("string")) for k in cols
    })
    ds = datasets.Dataset.from_dict(cols, features=features)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    return folder


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    return write_parquet_release(tmp_path_factory.mktemp("release"), mmra_rows())


@pytest.fixture(scope="session")
def qwen_backend():
    from mmra.eval.backends import make_backend

    return make_backend("hf", "tiny:qwen2-vl")


@pytest.fixture(scope="session")
def smolvlm_backend():
    from mmra.eval.backends import make_backend

    return make_backend("hf", "tiny:smolvlm")
