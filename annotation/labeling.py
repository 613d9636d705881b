"""The Label Studio side of a candidate: the labeling config, the task data, and annotation results.

Every piece of text an annotator reads (definition, guidance, evidence, suggested question, what text-only
models answered) is task *data* shown through `<Text>` tags, never spliced into the config's markup, so a
question containing `<script>` or `"` is displayed as text. The config itself is the same for every
subtask; the subtask registry supplies the per-task definition and guidance.

The entity boxes that motivated a pair (`evidence.boxes`) are drawn on both images when the task opens: they
are read-only regions of the task's prediction (`entity_regions`), labelled with the entity name through Label
Studio's dynamic labels (`$entity_labels1`, `$entity_labels2` in the task data), so the config never names an
entity. They are not part of the answer: `QAContent.from_result` reads only the question controls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmra.benchmark.registry import get_subtask
from mmra.benchmark.schema import LETTERS, YES_NO, Box, Candidate, QAType
from mmra.benchmark.vocabulary import normalise_answer

CONTEXT = "subtask_info"  # every control points at this Text tag
OPTION_FIELDS = tuple(f"option_{letter.lower()}" for letter in LETTERS)  # option_a .. option_d
TEXT_FIELDS = ("subtask_info", "guidance", "evidence", "suggested_question", "draft_check", "revision_note")
ENTITY_CONTROLS = {1: "entities1", 2: "entities2"}  # read-only box regions on image1 / image2 (not answers)
# task data: the dynamic labels of those controls, [{"value": name}, ...] per image
ENTITY_LABELS = {1: "entity_labels1", 2: "entity_labels2"}
# task data that only a push with drafts sets (a later push without drafts keeps what is there)
DRAFT_FIELDS = ("draft_check", "mmra_draft_check")
NO_DRAFT_CHECK = "(no machine draft for this task)"

_LABEL_CONFIG = """<View>
  <View style="background: #f4f4f4; padding: 8px 12px; border-radius: 4px; margin-bottom: 8px;">
    <Header value="Subtask" size="5"/>
    <Text name="subtask_info" value="$subtask_info"/>
    <Header value="Guidance" size="6"/>
    <Text name="guidance" value="$guidance"/>
    <Header value="Why these two images were paired (evidence)" size="6"/>
    <Text name="evidence" value="$evidence"/>
    <Header value="Suggested question" size="6"/>
    <Text name="suggested_question" value="$suggested_question"/>
    <Header value="Draft check: can a text-only model answer the pre-filled draft without the images?" size="6"/>
    <Text name="draft_check" value="$draft_check"/>
    <Header value="Revision request (empty for a new pair)" size="6"/>
    <Text name="revision_note" value="$revision_note"/>
  </View>
  <View style="display: flex; gap: 12px;">
    <View style="flex: 1 1 50%; width: 50%;">
      <Header value="Image 1" size="5"/>
      <Image name="image1" value="$image1" width="100%" zoom="true" zoomControl="true" rotateControl="false"/>
      <RectangleLabels name="entities1" toName="image1" value="$entity_labels1" showInline="true"/>
    </View>
    <View style="flex: 1 1 50%; width: 50%;">
      <Header value="Image 2" size="5"/>
      <Image name="image2" value="$image2" width="100%" zoom="true" zoomControl="true" rotateControl="false"/>
      <RectangleLabels name="entities2" toName="image2" value="$entity_labels2" showInline="true"/>
    </View>
  </View>
  <Header value="Question type"/>
  <Choices name="qtype" toName="subtask_info" choice="single-radio" showInline="true" required="true">
    <Choice value="multiple_choice"/>
    <Choice value="yes_no"/>
  </Choices>
  <Header value="Question (it must need BOTH images)"/>
  <TextArea name="question" toName="subtask_info" rows="2" maxSubmissions="1" editable="true"/>
  <View visibleWhen="choice-selected" whenTagName="qtype" whenChoiceValue="multiple_choice">
    <Header value="Options A-D (D optional)"/>
{options}
  </View>
  <Header value="Correct answer"/>
  <Choices name="answer" toName="subtask_info" choice="single-radio" showInline="true">
{answers}
  </Choices>
  <Header value="Keep this sample?"/>
  <Choices name="verdict" toName="subtask_info" choice="single-radio" showInline="true" required="true">
    <Choice value="keep"/>
    <Choice value="reject"/>
  </Choices>
  <Header value="Reason for rejecting (required when rejecting)" size="6"/>
  <TextArea name="reject_reason" toName="subtask_info" rows="2" maxSubmissions="1" editable="true"/>
</View>
"""


def label_config() -> str:
    options = "\n".join(
        f'    <Header value="Option {letter}" size="6"/>\n'
        f'    <TextArea name="{name}" toName="{CONTEXT}" rows="1" maxSubmissions="1" editable="true"/>'
        for letter, name in zip(LETTERS, OPTION_FIELDS, strict=True)
    )
    answers = "\n".join(f'    <Choice value="{v}"/>' for v in (*LETTERS, *YES_NO))
    return _LABEL_CONFIG.format(options=options, answers=answers)


def subtask_info(subtask: str) -> tuple[str, str]:
    spec = get_subtask(subtask)
    qa = " or ".join(q.value.replace("_", " ") for q in spec.qa_types)
    info = f"{spec.name} ({spec.abbreviation}, {spec.granularity.value} level; {qa}): {spec.definition}"
    return info, spec.guidance or "-"


def evidence_text(candidate: Candidate) -> str:
    ev = candidate.evidence
    lines = [f"ConceptNet: {e.head} --{e.relation}--> {e.tail} (weight {e.weight:g}, {e.source})" for e in ev.edges]
    for key, names in ev.entities.items():
        lines.append(f"Entities in {key}: {', '.join(names)}")
    for key, caps in ev.captions.items():
        lines += [f"Caption of {key}: {c}" for c in caps[:3]]
    if ev.concepts:
        lines.append(f"Shared concept(s): {', '.join(ev.concepts)}")
    for box in ev.boxes[:8]:
        x, y, w, h = box.bbox
        lines.append(f"Box in image {box.image}: {box.label} at x={x:.0f}, y={y:.0f}, w={w:.0f}, h={h:.0f}")
    if ev.heuristic:
        lines.append(f"Heuristic: {ev.heuristic}")
    if ev.miner:
        lines.append(f"Miner: {ev.miner}" + (f" (score {ev.score:.3f})" if ev.score is not None else ""))
    return "\n".join(lines) or "(no evidence recorded)"


@dataclass
class QAContent:
    """What an annotator (or a draft) says about a pair: the question and its answer, and keep/reject."""

    qa_type: str | None = None
    question: str = ""
    options: list[str] = field(default_factory=list)  # texts in letter order, empty ones dropped at the end
    answer: str | None = None
    verdict: str | None = "keep"
    reject_reason: str = ""

    def to_result(self) -> list[dict[str, Any]]:
        """Label Studio annotation/prediction `result` items, keyed by control name."""
        items: list[dict[str, Any]] = []

        def choice(name: str, value: str | None) -> None:
            if value:
                items.append({"from_name": name, "to_name": CONTEXT, "type": "choices",
                              "value": {"choices": [value]}})

        def text(name: str, value: str) -> None:
            if value:
                items.append({"from_name": name, "to_name": CONTEXT, "type": "textarea", "value": {"text": [value]}})

        choice("qtype", self.qa_type)
        text("question", self.question)
        for name, option in zip(OPTION_FIELDS, self.options, strict=False):
            text(name, option)
        choice("answer", self.answer)
        choice("verdict", self.verdict)
        text("reject_reason", self.reject_reason)
        return items

    @classmethod
    def from_result(cls, result: list[dict[str, Any]]) -> QAContent:
        values: dict[str, Any] = {}
        for item in result or []:
            if item.get("from_name") in ENTITY_CONTROLS.values():
                continue  # the evidence boxes drawn on the images: shown to the annotator, never an answer
            value = item.get("value") or {}
            if "choices" in value:
                values[item.get("from_name")] = [str(v) for v in value["choices"]]
            elif "text" in value:
                text = value["text"]
                values[item.get("from_name")] = [text] if isinstance(text, str) else [str(t) for t in text]

        def first(name: str) -> str | None:
            vals = values.get(name) or []
            return vals[0] if vals else None

        def joined(name: str) -> str:
            return "\n".join(values.get(name) or []).strip()

        options = [joined(name) for name in OPTION_FIELDS]
        while options and not options[-1]:  # D (or C) left empty: fewer options, not an empty option
            options.pop()
        return cls(qa_type=first("qtype"), question=joined("question"), options=options, answer=first("answer"),
                   verdict=first("verdict"), reject_reason=joined("reject_reason"))

    def key(self) -> tuple:
        """What two annotators must share to count as agreeing: type, options and answer (case/space-blind)."""
        norm = tuple(" ".join(o.split()).casefold() for o in self.options)
        if self.qa_type == QAType.yes_no.value:
            norm = ()
        return (self.qa_type, norm, normalise_answer(self.answer, self.qa_type))


def image_url(media_name: str) -> str:
    """The local-files URL of an image linked into <document_root>/images/."""
    return f"/data/local-files/?d=images/{media_name}"


def _clip(box: Box, width: int, height: int) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """The box inside a width x height image (COCO x, y, w, h pixels), and a note when it had to change."""
    x, y, w, h = box.bbox
    where = f"box {box.label!r} in image {box.image} ({x:g}, {y:g}, {w:g}, {h:g})"
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None, f"{where}: not a finite box; dropped"
    if w <= 0 or h <= 0:
        return None, f"{where}: width and height must be positive; dropped"
    x0, y0, x1, y1 = max(0.0, x), max(0.0, y), min(float(width), x + w), min(float(height), y + h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None, f"{where}: lies outside the {width}x{height} image; dropped"
    if (x0, y0, x1, y1) != (x, y, x + w, y + h):
        return (x0, y0, x1 - x0, y1 - y0), f"{where}: reaches outside the {width}x{height} image; clipped to it"
    return (x, y, w, h), None


def entity_regions(boxes: Sequence[Box], sizes: Mapping[int, tuple[int, int]]
                   ) -> tuple[list[dict[str, Any]], dict[int, list[str]], list[str]]:
    """Read-only rectangle regions (Label Studio percent coordinates) for the evidence boxes, the entity labels
    they use per image, and one note per box that was clipped or dropped. `sizes`: image number -> (width, height) of
    the verified image, as displayed."""
    regions: list[dict[str, Any]] = []
    labels: dict[int, list[str]] = {1: [], 2: []}
    notes: list[str] = []
    for number, box in enumerate(boxes):
        width, height = sizes[box.image]
        bbox, note = _clip(box, width, height)
        if note:
            notes.append(note)
        if bbox is None:
            continue
        label = " ".join(box.label.split()) or "entity"
        if label not in labels[box.image]:
            labels[box.image].append(label)
        x, y, w, h = bbox
        regions.append({
            "id": f"entity{box.image}-{number}", "from_name": ENTITY_CONTROLS[box.image], "to_name": f"image{box.image}",
            "type": "rectanglelabels", "readonly": True, "original_width": width, "original_height": height,
            "image_rotation": 0,
            "value": {"x": 100 * x / width, "y": 100 * y / height, "width": 100 * w / width,
                      "height": 100 * h / height, "rotation": 0, "rectanglelabels": [label]},
        })
    return regions, labels, notes


def task_data(candidate: Candidate, image_names: tuple[str, str], *, external_id: str | None = None,
              revision_note: str = "", extra: dict[str, Any] | None = None,
              entity_labels: Mapping[int, Sequence[str]] | None = None, draft_check: str = NO_DRAFT_CHECK
              ) -> dict[str, Any]:
    info, guidance = subtask_info(candidate.subtask)
    data = {
        "external_id": external_id or candidate.id,
        "kind": "revision" if revision_note else "pair",
        "subtask": candidate.subtask,
        "subtask_info": info,
        "guidance": guidance,
        "evidence": evidence_text(candidate),
        "suggested_question": candidate.suggested_question or "",
        "draft_check": draft_check,
        "revision_note": revision_note,
        **{key: [{"value": label} for label in (entity_labels or {}).get(image, ())]
           for image, key in ENTITY_LABELS.items()},
        "image1": image_url(image_names[0]),
        "image2": image_url(image_names[1]),
        # not shown: what pull needs to turn an annotation back into a Sample
        "mmra_candidate": candidate.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    data.update(extra or {})
    return data
