"""LLM drafts from the real local OpenAI-compatible server (llama-cpp-python, smollm2-135m GGUF)."""

from __future__ import annotations

import pytest

from mmra.annotation.preannotate import draft_questions
from mmra.benchmark.schema import Sample
from tests.llm.servers import local_llm  # noqa: F401  (session fixture: starts/stops the real server)

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_every_candidate_gets_a_valid_draft_or_a_reason(local_llm, make_candidate):  # noqa: F811
    from mmra.llm.client import ChatClient

    url = local_llm("smollm2-135m")
    client = ChatClient(base_url=url, model="smollm2-135m", cache_path=None, progress=False, concurrency=1)
    client.check()
    cands = [make_candidate("SimilarMaterial")]
    drafts, failed = draft_questions(cands, client, max_tokens=160)
    assert client.last_stats.sent == 1 and client.last_stats.completion_tokens > 0  # a real generation
    assert set(drafts) | {cid for cid, _ in failed} == {c.id for c in cands}
    for cid, reason in failed:
        assert reason.startswith(("unusable draft:", "LLM request failed:")), (cid, reason)
    for cand in cands:
        if cand.id in drafts:  # a draft the pull would accept as it stands
            d = drafts[cand.id].content
            Sample(subtask=cand.subtask, image1=cand.image1, image2=cand.image2, qa_type=d.qa_type,
                   question=d.question, options=d.options, answer=d.answer)
            assert drafts[cand.id].model == "draft:smollm2-135m"
