"""Image corpora: COCO (instances + captions + an image folder), a folder + JSONL manifest, and a Hugging Face
`datasets` dataset with an image column. All become `ImageRecord`s; every problem with an input becomes an
`Issue` that names the item and the cause, and the rest is processed.

Manifest format (one JSON object per line; `mmra demo` writes one for its generated images):

    {"path": "images/cat_sofa.png",                       # required; relative to the manifest's folder
     "id": "demo-001",                                     # optional; default: the path
     "entities": ["cat", "sofa"],                          # optional object names (box labels count too)
     "boxes": [{"label": "cat", "bbox": [12, 40, 90, 60]}], # optional; COCO order x, y, width, height in pixels
     "captions": ["a cat sleeping on a sofa"],             # optional
     "source": "generated", "source_url": null,            # optional; source defaults to "manifest:<stem>:<id>"
     "licence": "CC0-1.0"}                                 # optional ("license" is accepted too)
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.sources import iter_json_lines
from mmra.fileio import write_atomic
from mmra.parsing import load_json, non_finite_field

# Supercategories (COCO's) or words that make an entity a living being, for MentalitySimilarity.
SENTIENT_SUPERCATEGORIES = frozenset({"person", "animal"})


@dataclass
class Issue:
    """A problem with an input. `reject` issues drop an image; the others drop only a line or annotation."""

    item: str  # names the item: "instances_val2017.json: annotation 80342 (image 453302)", "coco:val2017:000000000139"
    reason: str  # short machine-readable kind: "missing_file", "unknown_category", "truncated", ...
    detail: str  # the message for a person
    stage: str = "ingest"
    reject: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "reason": self.reason, "detail": self.detail, "stage": self.stage}

    def __str__(self) -> str:
        return f"{self.item}: {self.detail}"


@dataclass
class ImageBox:
    label: str
    bbox: tuple[float, float, float, float]  # x, y, width, height in pixels
    supercategory: str | None = None

    @property
    def area(self) -> float:
        return self.bbox[2] * self.bbox[3]

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.bbox
        return x + w / 2, y + h / 2


@dataclass
class ImageRecord:
    key: str  # unique source id, e.g. "coco:val2017:000000000139"
    path: Path  # absolute
    width: int | None = None
    height: int | None = None
    labels: list[str] = field(default_factory=list)  # object names given by the corpus (not from captions)
    boxes: list[ImageBox] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    source_url: str | None = None
    licence: str | None = None
    sentient_labels: set[str] = field(default_factory=set)
    # filled by QC
    sha256: str | None = None
    phash: str | None = None
    dhash: str | None = None

    @property
    def area(self) -> float:
        return float((self.width or 0) * (self.height or 0))


@dataclass
class Corpus:
    images: list[ImageRecord] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: Corpus) -> None:
        seen = {r.key for r in self.images}
        for record in other.images:
            if record.key in seen:
                self.issues.append(Issue(record.key, "duplicate_id", f"listed twice (again from {record.path}); "
                                         "the first entry is kept", reject=True))
                continue
            seen.add(record.key)
            self.images.append(record)
        self.issues.extend(other.issues)
        for name, value in other.notes.items():
            if isinstance(value, int):
                self.notes[name] = self.notes.get(name, 0) + value
            else:
                self.notes[name] = value


def licence_id(url: str | None, name: str | None = None) -> str | None:
    """COCO/Flickr licence -> an SPDX-like id: '.../licenses/by-nc-sa/2.0/' -> 'CC-BY-NC-SA-2.0'."""
    text = (url or "").lower()
    if "creativecommons.org/licenses/" in text:
        parts = [p for p in text.split("/licenses/", 1)[1].split("/") if p]
        if len(parts) >= 2:
            return f"CC-{parts[0].upper()}-{parts[1]}"
    if "flickr.com/commons" in text:
        return "Flickr-Commons-no-known-copyright-restrictions"
    if "usa.gov/copyright" in text:
        return "US-Government-Work"
    return name or url or None


# ---------------------------------------------------------------------------------------------------- COCO


def _load_json(path: Path, corpus: Corpus) -> dict | None:
    try:
        data = load_json(path.read_bytes())  # ParseError (a ValueError) also for JSON nested too deeply
    except FileNotFoundError:
        corpus.issues.append(Issue(str(path), "missing_file", "annotation file does not exist"))
        return None
    except (OSError, ValueError) as exc:
        corpus.issues.append(Issue(str(path), "bad_json", f"not a readable JSON file: {exc}"))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        corpus.issues.append(Issue(str(path), "bad_json", "not a COCO annotation file (no 'images' list)"))
        return None
    return data


def _as_bbox(value: Any) -> tuple[float, float, float, float]:
    """A box as [x, y, width, height]: four finite numbers with a positive size. The COCO reader is lenient
    (one NaN must not cost the whole file), so a NaN, an Infinity or a number too large for a float is caught
    here, per box; ValueError names the value and the cause."""
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"bbox {str(value)[:80]} is not [x, y, width, height] (four numbers)")
    box = []
    for index, number in enumerate(value):
        try:
            number = float(number)
        except OverflowError:  # an integer beyond a float's range
            number = math.inf
        if not math.isfinite(number):
            shown = str(value[index])
            raise ValueError(f"bbox.{index} is {shown[:40]}{'...' if len(shown) > 40 else ''}, not a finite number")
        box.append(number)
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"bbox {value!r} has no positive width and height")
    return box[0], box[1], box[2], box[3]


def _split_name(path: Path, image: dict) -> str:
    url = image.get("coco_url") or ""
    if "cocodataset.org/" in url:
        return url.rstrip("/").split("/")[-2]
    stem = path.stem
    for prefix in ("instances_", "captions_", "person_keypoints_"):
        if stem.startswith(prefix):
            stem = stem[len(prefix):]
    return stem.removesuffix("_full")


class _FileIndex:
    """File name -> path over the image folders and their direct sub-folders (e.g. coco-mini/val2017)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.by_name: dict[str, list[Path]] = defaultdict(list)
        for folder in folders:
            folder = Path(folder).resolve()
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if entry.is_file():
                    self.by_name[entry.name].append(Path(entry.path))
                elif entry.is_dir():
                    for sub in os.scandir(entry.path):
                        if sub.is_file():
                            self.by_name[sub.name].append(Path(sub.path))

    def find(self, file_name: str, split: str) -> Path | None:
        paths = self.by_name.get(Path(file_name).name)
        if not paths:
            return None
        for p in paths:  # prefer the folder named after the split
            if p.parent.name == split:
                return p
        return paths[0]


def load_coco(instances: Sequence[str | Path] = (), captions: Sequence[str | Path] = (),
              image_dirs: Sequence[str | Path] = ()) -> Corpus:
    """Images listed in `instances` files must exist in `image_dirs` (else a `missing_file` reject);
    images only known from `captions` files are taken when their file exists (the full val2017 captions list
    5,000 images; a folder usually holds a few of them)."""
    corpus = Corpus()
    files = _FileIndex([Path(d) for d in image_dirs])
    for folder in image_dirs:
        if not Path(folder).is_dir():
            corpus.issues.append(Issue(str(folder), "missing_file", "image folder does not exist"))
    records: dict[tuple[str, int], ImageRecord] = {}
    required: set[tuple[str, int]] = set()
    meta: dict[tuple[str, int], dict] = {}

    def image_meta(path: Path, data: dict, must_exist: bool) -> dict[int, tuple[str, int]]:
        licences = {lic.get("id"): licence_id(lic.get("url"), lic.get("name"))
                    for lic in data.get("licenses", []) if isinstance(lic, dict)}
        ids: dict[int, tuple[str, int]] = {}
        for image in data["images"]:
            if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
                corpus.issues.append(Issue(f"{path.name}: image entry {str(image)[:80]}", "bad_annotation",
                                           "image entry without 'id' or 'file_name'; skipped"))
                continue
            bad = non_finite_field({k: image.get(k) for k in ("id", "width", "height")})
            try:
                if bad is not None:
                    raise ValueError(f"{bad[0]} is {bad[1]}, not a finite number")
                image_id = int(image["id"])
            except (TypeError, ValueError) as exc:  # a NaN size, an id such as "abc" or [1]
                cause = exc if bad is not None else f"id {str(image['id'])[:40]} is not an integer"
                corpus.issues.append(Issue(f"{path.name}: image {str(image['id'])[:40]}", "bad_annotation",
                                           f"{cause}; image entry skipped"))
                continue
            split = _split_name(path, image)
            key = (split, image_id)
            ids[key[1]] = key
            if key not in meta:
                meta[key] = {**image, "_licence": licences.get(image.get("license")), "_from": path.name}
            if must_exist:
                required.add(key)
        return ids

    for path in map(Path, instances):
        data = _load_json(path, corpus)
        if data is None:
            continue
        ids = image_meta(path, data, must_exist=True)
        categories = {c["id"]: c for c in data.get("categories", []) if isinstance(c, dict) and "id" in c}
        for ann in data.get("annotations", []):
            ann_name = f"{path.name}: annotation {ann.get('id', '?')} (image {ann.get('image_id', '?')})"
            key = ids.get(ann.get("image_id"))
            if key is None:
                corpus.issues.append(Issue(ann_name, "unknown_image", "refers to an image id that the file does not "
                                           "list; annotation skipped"))
                continue
            category = categories.get(ann.get("category_id"))
            if category is None:
                corpus.issues.append(Issue(ann_name, "unknown_category",
                                           f"unknown category id {ann.get('category_id')!r}; annotation skipped"))
                continue
            try:
                bbox = _as_bbox(ann.get("bbox"))
            except ValueError as exc:
                corpus.issues.append(Issue(ann_name, "bad_annotation", f"{exc}; annotation skipped"))
                continue
            meta[key].setdefault("_boxes", []).append(ImageBox(category["name"], bbox, category.get("supercategory")))

    captions_without_file = 0
    for path in map(Path, captions):
        data = _load_json(path, corpus)
        if data is None:
            continue
        ids = image_meta(path, data, must_exist=False)
        for ann in data.get("annotations", []):
            key = ids.get(ann.get("image_id"))
            text = ann.get("caption")
            if key is None or not isinstance(text, str):
                corpus.issues.append(Issue(f"{path.name}: caption {ann.get('id', '?')}", "bad_annotation",
                                           "caption without a known image id or text; skipped"))
                continue
            caps = meta[key].setdefault("_captions", [])
            if text.strip() and text.strip() not in caps:
                caps.append(text.strip())

    for key, image in sorted(meta.items()):
        split, image_id = key
        file_path = files.find(image["file_name"], split)
        name = f"coco:{split}:{image_id:012d}"
        if file_path is None:
            if key in required:
                corpus.issues.append(Issue(name, "missing_file", f"image file {image['file_name']} (listed in "
                                           f"{image['_from']}) is not in {', '.join(map(str, image_dirs)) or 'any folder'}",
                                           reject=True))
            else:
                captions_without_file += 1
            continue
        boxes = image.get("_boxes", [])
        records[key] = ImageRecord(
            key=name, path=file_path.resolve(), width=image.get("width"), height=image.get("height"),
            labels=[b.label for b in boxes], boxes=boxes, captions=image.get("_captions", []),
            source_url=image.get("flickr_url") or image.get("coco_url"), licence=image.get("_licence"),
            sentient_labels={b.label for b in boxes if b.supercategory in SENTIENT_SUPERCATEGORIES},
        )
    corpus.images = list(records.values())
    corpus.notes["coco_images"] = len(records)
    corpus.notes["captions_for_images_not_on_disk"] = captions_without_file
    return corpus


# ------------------------------------------------------------------------------------------------ manifest


def _as_str_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"'{what}' must be a string or a list of strings, got {value!r}")


def _parse_boxes(value: Any) -> list[ImageBox]:
    boxes = []
    for box in value or []:
        if not isinstance(box, dict) or not isinstance(box.get("label"), str):
            raise ValueError(f"each box needs a 'label' and a 'bbox', got {box!r}")
        try:
            bbox = _as_bbox(box.get("bbox"))
        except ValueError as exc:
            raise ValueError(f"box {box['label']!r}: {exc}") from None
        boxes.append(ImageBox(box["label"], bbox, box.get("supercategory")))
    return boxes


def load_manifest(path: str | Path) -> Corpus:
    """A folder + JSONL manifest (format in the module docstring)."""
    path = Path(path)
    corpus = Corpus()
    if not path.is_file():
        cause = "manifest is a folder, not a JSONL file" if path.is_dir() else "manifest file does not exist"
        corpus.issues.append(Issue(str(path), "missing_file", cause))
        return corpus
    base = path.parent.resolve()
    lines = 0
    for rec in iter_json_lines(path):
        lines += 1
        item, entry = rec.item, rec.record
        try:
            if entry is None:
                raise ValueError(rec.error)
            if not isinstance(entry.get("path"), str) or not entry["path"]:
                raise ValueError("'path' (the image file) is missing")
            boxes = _parse_boxes(entry.get("boxes"))
            entities = _as_str_list(entry.get("entities"), "entities")
            captions = _as_str_list(entry.get("captions", entry.get("caption")), "captions")
        except ValueError as exc:
            corpus.issues.append(Issue(item, "bad_manifest_line", f"skipped: {exc}"))
            continue
        image_path = Path(entry["path"])
        image_path = (image_path if image_path.is_absolute() else base / image_path).resolve()
        ident = str(entry.get("id") or entry["path"])
        key = entry.get("source") if entry.get("source") not in (None, "generated") else None
        key = key or f"manifest:{path.stem}:{ident}"
        if not image_path.is_file():
            corpus.issues.append(Issue(key, "missing_file", f"image file {image_path} (manifest {item}) "
                                       "does not exist", reject=True))
            continue
        labels = list(dict.fromkeys(entities + [b.label for b in boxes]))
        sentient = {b.label for b in boxes if b.supercategory in SENTIENT_SUPERCATEGORIES}
        corpus.images.append(ImageRecord(
            key=key, path=image_path, labels=labels, boxes=boxes, captions=captions,
            source_url=entry.get("source_url"), licence=entry.get("licence") or entry.get("license"),
            sentient_labels=sentient))
    if not lines:
        corpus.issues.append(Issue(str(path), "empty_manifest", "manifest file is empty (no JSON lines)"))
    corpus.notes["manifest_images"] = len(corpus.images)
    return corpus


# ---------------------------------------------------------------------------------------------- HF datasets


def _image_suffix(data: bytes) -> str:
    signatures = {b"\xff\xd8\xff": ".jpg", b"\x89PNG": ".png", b"GIF8": ".gif", b"RIFF": ".webp", b"BM": ".bmp"}
    for magic, suffix in signatures.items():
        if data.startswith(magic):
            return suffix
    return ".img"


def load_hf_dataset(name_or_path: str | Path, *, cache_dir: str | Path, split: str | None = None,
                    image_column: str = "image", caption_column: str | None = None,
                    entities_column: str | None = None, revision: str | None = None) -> Corpus:
    """A `datasets` dataset with an image column: a folder written by `save_to_disk`, or a name/path that
    `load_dataset` understands (local files here; the Hub where reachable). Images that live only as bytes are
    written once to `cache_dir` (content-addressed) so every candidate has a real file path."""
    import datasets

    corpus = Corpus()
    source = str(name_or_path)
    try:
        folder = Path(source)
        if folder.is_dir() and ((folder / "dataset_dict.json").exists() or (folder / "state.json").exists()):
            ds = datasets.load_from_disk(source)
        else:
            ds = datasets.load_dataset(source, split=split, revision=revision)
    except Exception as exc:  # the library raises many kinds; the message names the cause
        corpus.issues.append(Issue(f"hf:{source}", "bad_dataset", f"cannot load the dataset: {exc}"))
        return corpus
    if isinstance(ds, datasets.DatasetDict):
        chosen = split or ("train" if "train" in ds else next(iter(ds)))
        if chosen not in ds:
            corpus.issues.append(Issue(f"hf:{source}", "bad_dataset", f"no split {chosen!r}; it has {list(ds)}"))
            return corpus
        ds, split = ds[chosen], chosen
    split = split or str(getattr(ds, "split", None) or "train")
    if image_column not in ds.column_names:
        corpus.issues.append(Issue(f"hf:{source}", "bad_dataset",
                                   f"no image column {image_column!r}; columns: {ds.column_names}"))
        return corpus
    if isinstance(ds.features[image_column], datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    out = Path(cache_dir) / "hf-images"
    out.mkdir(parents=True, exist_ok=True)
    label = Path(source).name if Path(source).exists() else source
    for index, row in enumerate(ds):
        key = f"hf:{label}:{split}:{index}"
        value = row[image_column]
        try:
            image_path = _materialise(value, out)
            captions = _as_str_list(row.get(caption_column), caption_column) if caption_column else []
            entities = _as_str_list(row.get(entities_column), entities_column) if entities_column else []
        except ValueError as exc:
            corpus.issues.append(Issue(key, "bad_dataset_row", f"skipped: {exc}", reject=True))
            continue
        corpus.images.append(ImageRecord(
            key=key, path=image_path, labels=entities, captions=captions,
            source_url=row.get("source_url") or row.get("url"),
            licence=row.get("licence") or row.get("license")))
    corpus.notes["hf_images"] = len(corpus.images)
    return corpus


def _materialise(value: Any, out: Path) -> Path:
    """A file path for an image cell ({'bytes', 'path'}, a path string, or a PIL image)."""
    if isinstance(value, dict):
        path, data = value.get("path"), value.get("bytes")
        if data is None and path and Path(path).is_file():
            return Path(path).resolve()
        if data is None:
            raise ValueError(f"image cell has neither bytes nor an existing path ({path!r})")
    elif isinstance(value, str):
        if Path(value).is_file():
            return Path(value).resolve()
        raise ValueError(f"image path {value!r} does not exist")
    elif hasattr(value, "save"):  # a decoded PIL image
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        data = buf.getvalue()
    else:
        raise ValueError(f"image cell of type {type(value).__name__} is not an image")
    target = out / (hashlib.sha256(data).hexdigest()[:24] + _image_suffix(data))
    if not target.exists():
        write_atomic(target, data)
    return target.resolve()
