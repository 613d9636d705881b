import pytest

from mmra.benchmark.answers import extract_answer

OPTS3 = ["a red apple", "a banana", "a cherry"]
OPTS4 = ["red", "red and blue", "green", "yellow"]


@pytest.mark.parametrize(
    "response, options, expected, status",
    [
        ("B", OPTS4, "B", "ok"),
        ("(C)", OPTS4, "C", "ok"),
        ("The answer is B.", OPTS4, "B", "ok"),
        ("Answer: (d)", OPTS4, "D", "ok"),
        ("A man is holding a banana, so the answer is B", OPTS3, "B", "ok"),  # article "A" is not an answer
        ("A man is standing near a wall.", OPTS3, None, "unparseable"),
        ("D", OPTS3, None, "unparseable"),  # no option D on a 3-option item
        ("The answer is B, not C.", OPTS4, "B", "ok"),  # the official script returned C
        ("red and blue", OPTS4, "B", "ok"),  # option text, the longer option wins over its substring
        ("I think it is a cherry.", OPTS3, "C", "ok"),
        ('{"answer": "C"}', OPTS4, "C", "ok"),
        ("B. red and blue", OPTS4, "B", "ok"),
        ("I cannot see the images, so I can't answer.", OPTS4, None, "refusal"),
        ("", OPTS4, None, "empty"),
        ("B or C", OPTS4, None, "unparseable"),
    ],
)
def test_choice(response, options, expected, status):
    got = extract_answer(response, "multiple_choice", options)
    assert (got.answer, got.status) == (expected, status)


@pytest.mark.parametrize(
    "response, expected, status",
    [
        ("Yes", "Yes", "ok"),
        ("yes.", "Yes", "ok"),
        ("NO", "No", "ok"),
        ("No, it is not; although one might say yes", "No", "ok"),  # the official script returned "yes"
        ("The answer is yes", "Yes", "ok"),
        ("True", "Yes", "ok"),
        ("Sorry, I cannot determine that.", None, "refusal"),
        ("Maybe.", None, "unparseable"),
        ("   ", None, "empty"),
    ],
)
def test_yes_no(response, expected, status):
    got = extract_answer(response, "yes_no")
    assert (got.answer, got.status) == (expected, status)
