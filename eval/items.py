"""What gets asked: samples expanded into eval items (original, image-swapped, circular option shifts) and
the prompt for each item under a setting and a prompt profile.

Settings: IQ (both images + question), DQ (descriptions + question), IDQ (both), QO (question only), and the
image probes: IQ-blank (grey images in place of both: MMStar's S_wv), IQ-image1 / IQ-image2 (one image alone,
labelled as such; a question about the relation of two images that one image answers does not test association).

Item ids: `<sample id>` for the original, `<sample id>#swap` for the swapped image order, `<sample id>#circK`
for the options rotated by K positions (CircularEval). Every prediction line carries its item id, the sample id
and the variant, so scoring can regroup them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmra.benchmark.prompts import question_text
from mmra.benchmark.schema import QAType, Sample
from mmra.benchmark.variants import rotated_sample, swap_image_mentions, swapped_sample  # noqa: F401  (re-exported)

BLANK_SETTING = "IQ-blank"  # IQ with grey images in place of the real ones (MMStar's S_wv)
SETTINGS = ("IQ", "DQ", "IDQ", "QO", BLANK_SETTING, "IQ-image1", "IQ-image2")
# What each setting shows the model: (images, descriptions)
SETTING_INPUTS = {"IQ": (True, False), "DQ": (False, True), "IDQ": (True, True), "QO": (False, False),
                  BLANK_SETTING: (True, False), "IQ-image1": (True, False), "IQ-image2": (True, False)}
# Which of the item's images a setting shows, in prompt order
SETTING_IMAGES = {"IQ-image1": ("image1",), "IQ-image2": ("image2",)}
_BY_UPPER = {s.upper(): s for s in SETTINGS}


@dataclass
class EvalItem:
    key: str  # unique per prediction
    sample: Sample  # as presented (images swapped / options rotated, gold answer adjusted)
    sample_id: str  # the original sample's id
    variant: str  # "orig" | "swap" | "circ1".."circ3"
    swapped: bool = False


@dataclass
class Prompt:
    """One request to a backend: chat content parts in order, images decoded."""

    key: str
    parts: list[dict[str, Any]]  # {"type": "text", "text": ...} | {"type": "image"} (images in order)
    images: list[Any] = field(default_factory=list)  # PIL images, one per image part
    choices: list[str] = field(default_factory=list)  # valid answers, for constrained decoding

    @property
    def text(self) -> str:
        """The prompt as a person reads it, images shown as <image>."""
        return "".join(p["text"] if p["type"] == "text" else "<image>" for p in self.parts)


def check_setting(setting: str) -> str:
    value = _BY_UPPER.get(setting.strip().upper())
    if value is None:
        raise ValueError(f"unknown setting {setting!r}; choose one of {', '.join(SETTINGS)}")
    return value


def image_keys(setting: str) -> tuple[str, ...]:
    """The item's images a setting shows (none for text-only settings)."""
    if not SETTING_INPUTS[setting][0]:
        return ()
    return SETTING_IMAGES.get(setting, ("image1", "image2"))


# ---------------------------------------------------------------------------------------------- variants

def expand_items(samples: list[Sample], *, swap_images: bool = False, circular: bool = False) -> list[EvalItem]:
    items: list[EvalItem] = []
    for s in samples:
        items.append(EvalItem(s.id, s, s.id, "orig"))
        if circular and s.qa_type == QAType.multiple_choice:
            for k in range(1, len(s.options)):
                items.append(EvalItem(f"{s.id}#circ{k}", rotated_sample(s, k), s.id, f"circ{k}"))
        if swap_images:
            swapped = swapped_sample(s)
            if swapped is not None:
                items.append(EvalItem(f"{s.id}#swap", swapped, s.id, "swap", swapped=True))
    return items


# ---------------------------------------------------------------------------------------------- prompts


def item_text(item: EvalItem, setting: str, profile: str, descriptions: dict[str, str] | None) -> str:
    s = item.sample
    _, with_desc = SETTING_INPUTS[setting]
    return question_text(s.question, s.options, s.qa_type, profile=profile,
                         descriptions=descriptions if with_desc else None)


def item_descriptions(item: EvalItem, external: dict[str, dict[str, str]] | None) -> dict[str, str] | None:
    """Descriptions for the item as presented (swapped for a swapped item)."""
    if external is not None and item.sample_id in external:
        desc = dict(external[item.sample_id])
        if item.swapped:
            desc = {"image1": desc.get("image2", ""), "image2": desc.get("image1", "")}
        return desc
    return dict(item.sample.descriptions) or None


def choices_for(sample: Sample) -> list[str]:
    return list(sample.letters) if sample.qa_type == QAType.multiple_choice else ["Yes", "No"]


def build_prompt(item: EvalItem, setting: str, profile: str, descriptions: dict[str, str] | None,
                 images: list[Any] | None) -> Prompt:
    """Chat content for the item. `default` labels each image ("Image 1:", "Image 2:") so questions that
    name an image are unambiguous; `paper` puts both images first, then the text, as the official script.
    A one-image setting labels its image under both profiles and says which image is not shown."""
    text = item_text(item, setting, profile, descriptions)
    with_images, _ = SETTING_INPUTS[setting]
    parts: list[dict[str, Any]] = []
    if setting in SETTING_IMAGES:
        (shown,) = SETTING_IMAGES[setting]
        hidden = "2" if shown == "image1" else "1"
        parts += [{"type": "text", "text": f"Image {shown[-1]}: "}, {"type": "image"},
                  {"type": "text", "text": f"\n(Image {hidden} is not shown.)\n" + text}]
        return Prompt(item.key, parts, list(images or []), choices_for(item.sample))
    if with_images:
        if profile == "paper":
            parts += [{"type": "image"}, {"type": "image"}]
        else:
            parts += [{"type": "text", "text": "Image 1: "}, {"type": "image"},
                      {"type": "text", "text": "\nImage 2: "}, {"type": "image"}]
    parts.append({"type": "text", "text": text if profile == "paper" or not with_images else "\n" + text})
    return Prompt(item.key, parts, list(images or []) if with_images else [], choices_for(item.sample))


def question_only_prompt(sample: Sample, profile: str) -> Prompt:
    """The prompt `mmra eval --setting QO` asks for the sample's original item (the leakage filter's eval
    probes use it, so the filter and the evaluator ask the very same question)."""
    return build_prompt(EvalItem(sample.id, sample, sample.id, "orig"), "QO", profile, None, None)


def needs_images(setting: str) -> bool:
    return SETTING_INPUTS[setting][0]


def prompt_length_hint(item: EvalItem, setting: str, profile: str, descriptions: dict[str, str] | None) -> int:
    """A cheap proxy for the tokenised length, for length-sorted batches (less padding per batch)."""
    return len(item_text(item, setting, profile, descriptions))


def blank_image(size: tuple[int, int] = (448, 448)):
    """MMStar's S_wv probe: a plain grey image in place of each real one."""
    from PIL import Image

    return Image.new("RGB", size, (127, 127, 127))


def resolve_base_dir(base_dir: str | Path | None) -> Path | None:
    return Path(base_dir) if base_dir else None
