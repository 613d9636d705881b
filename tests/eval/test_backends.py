"""The OpenAI-compatible backend over real HTTP servers on loopback, and the vLLM adapter's request building."""

from __future__ import annotations

import json

import pytest

from mmra.errors import MMRAError
from mmra.eval import evaluate
from mmra.eval.backends import make_backend
from mmra.eval.backends.openai import to_openai_messages
from mmra.eval.backends.vllm import build_requests, vllm_engine_kwargs
from mmra.eval.items import Prompt
from tests.llm.faultserver import FaultPlan, FaultServer
from tests.llm.servers import local_llm  # noqa: F401  (session fixture: the real llama-cpp server)

from .conftest import ROWS, mmra_rows, write_parquet_release


def _prompt_with_images():
    from PIL import Image

    return Prompt("k", [{"type": "text", "text": "Image 1: "}, {"type": "image"}, {"type": "text", "text": "\nQ?"},
                        {"type": "image"}], [Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (4, 4))])


def test_openai_messages_carry_both_images_in_order_in_a_user_turn():
    (message,) = to_openai_messages(_prompt_with_images())
    assert message["role"] == "user"  # the official script put the images in an assistant turn
    kinds = [p["type"] for p in message["content"]]
    assert kinds == ["text", "image_url", "text", "image_url"]
    assert message["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    text_only = Prompt("t", [{"type": "text", "text": "Question: x"}], [])
    assert to_openai_messages(text_only) == [{"role": "user", "content": "Question: x"}]


def test_openai_backend_over_a_faulty_server_answers_everything(tmp_path):
    """Real HTTP with 429s and 500s: retries get every answer through, images included (IQ). The server reads
    options only from plain-text prompts, so the question-only run, where it knows every answer, must score
    100%: that checks the request/response path and the scoring end to end."""
    knowledge = {}
    for _task, _qa, question, options, answer in ROWS[:8]:
        knowledge[question] = options[answer] if options else answer
    release = write_parquet_release(tmp_path / "rel", mmra_rows(8))
    plan = FaultPlan(rate_429=0.3, rate_500=0.2, policy="knower", knowledge=knowledge, answer_style="sentence")
    with FaultServer(plan, models=["vlm-api"]) as server:
        backend = make_backend("openai", "vlm-api", base_url=server.base_url, cache=False, concurrency=4)
        with_images = evaluate(release, model="vlm-api", backend=backend, out=tmp_path / "iq", show_progress=False)
        question_only = evaluate(release, model="vlm-api", backend=backend, setting="QO", out=tmp_path / "qo",
                                 show_progress=False)
        assert server.counts["429"] + server.counts["500"] > 0  # faults did happen
    for result in (with_images, question_only):
        records = [json.loads(x) for x in result.predictions.read_text().splitlines()]
        assert len(records) == 8 and not any(r["error"] for r in records)
    assert question_only.scores["overall"] == 1.0


def test_openai_backend_unreachable_endpoint_is_one_clear_error(tmp_path):
    from mmra.procs import free_port

    with pytest.raises(MMRAError, match="cannot reach LLM endpoint"):
        make_backend("openai", "m", base_url=f"http://127.0.0.1:{free_port()}/v1", cache=False)


@pytest.mark.llm
def test_openai_backend_with_the_real_local_llm_question_only(local_llm, tmp_path):  # noqa: F811
    base_url = local_llm("smollm2-135m")
    release = write_parquet_release(tmp_path / "rel", mmra_rows(6))
    backend = make_backend("openai", "smollm2-135m", base_url=base_url, cache=tmp_path / "cache.sqlite")
    result = evaluate(release, model="smollm2-135m", backend=backend, setting="QO", out=tmp_path / "qo",
                      max_new_tokens=8, show_progress=False)
    records = [json.loads(x) for x in result.predictions.read_text().splitlines()]
    assert len(records) == 6 and not any(r["error"] for r in records)
    assert all(isinstance(r["response"], str) for r in records)
    assert result.scores["runs"][0]["setting"] == "QO"


def test_vllm_adapter_builds_requests_without_vllm():
    kwargs = vllm_engine_kwargs("Qwen/Qwen2-VL-7B-Instruct", tensor_parallel_size=2, dtype="bfloat16",
                                max_model_len=4096)
    assert kwargs["limit_mm_per_prompt"] == {"image": 2}
    assert kwargs["tensor_parallel_size"] == 2 and kwargs["max_model_len"] == 4096
    (conversation,) = build_requests([_prompt_with_images()])
    assert [p["type"] for p in conversation[0]["content"]] == ["text", "image_url", "text", "image_url"]


def test_vllm_backend_says_clearly_that_vllm_is_missing():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(MMRAError, match="the vllm backend needs vLLM, which is not installed"):
            make_backend("vllm", "Qwen/Qwen2-VL-2B-Instruct")
    else:  # on a machine with vLLM this test has nothing to prove
        pytest.skip("vLLM is installed here")
