"""Item variants and prompts: image-mention swapping, option rotation, swap rules from the registry."""

from __future__ import annotations

from mmra.benchmark.schema import ImageRef, Sample
from mmra.eval.items import build_prompt, expand_items, rotated_sample, swap_image_mentions, swapped_sample


def _sample(subtask="SubEvent", qa="yes_no", options=(), answer="Yes", question="Does Image 2 follow Image 1?"):
    return Sample(subtask=subtask, qa_type=qa, question=question, options=list(options), answer=answer,
                  image1=ImageRef(path="a.png"), image2=ImageRef(path="b.png"),
                  descriptions={"image1": "a dog", "image2": "a cat"})


def test_swap_image_mentions_keeps_casing():
    text = "Is the cup in Image 1 left of the one in image2? Compare the first image with the Second picture."
    assert swap_image_mentions(text) == (
        "Is the cup in Image 2 left of the one in image1? Compare the second image with the First picture.")
    assert swap_image_mentions(swap_image_mentions(text)) == text


def test_swap_follows_the_registry_rule():
    s = _sample()
    swapped = swapped_sample(s)  # SubEvent: order-sensitive, flip_yes_no
    assert (swapped.image1.path, swapped.image2.path, swapped.answer) == ("b.png", "a.png", "No")
    assert swapped.descriptions == {"image1": "a cat", "image2": "a dog"}
    assert swapped_sample(_sample("Environment", "multiple_choice", ["in", "out", "sea"], "B", "Where?")) is None
    items = expand_items([s], swap_images=True, circular=True)
    assert [(i.key, i.variant) for i in items] == [(s.id, "orig"), (s.id + "#swap", "swap")]


def test_rotation_remaps_the_gold_letter():
    s = _sample("Environment", "multiple_choice", ["indoors", "outdoors", "underwater", "space"], "B", "Where?")
    for k in range(4):
        r = rotated_sample(s, k)
        assert r.options[ord(r.answer) - ord("A")] == "outdoors"
    assert [i.variant for i in expand_items([s], circular=True)] == ["orig", "circ1", "circ2", "circ3"]


def test_prompt_parts_per_setting_and_profile():
    s = _sample()
    (item,) = expand_items([s])
    iq = build_prompt(item, "IQ", "default", None, ["img1", "img2"])
    assert [p["type"] for p in iq.parts] == ["text", "image", "text", "image", "text"]
    assert iq.images == ["img1", "img2"] and iq.choices == ["Yes", "No"]
    paper = build_prompt(item, "IQ", "paper", None, ["img1", "img2"])
    assert [p["type"] for p in paper.parts] == ["image", "image", "text"]
    qo = build_prompt(item, "QO", "default", None, ["img1", "img2"])
    assert qo.images == [] and qo.text.startswith("Question: Does Image 2 follow Image 1?")
    dq = build_prompt(item, "DQ", "default", s.descriptions, [])
    assert dq.text.startswith("Description of Image 1: a dog\nDescription of Image 2: a cat\nQuestion:")
