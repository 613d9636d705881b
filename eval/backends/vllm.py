"""vLLM backend (optional: `pip install 'mmra-toolkit[vllm]'` on a CUDA machine; vLLM has no CPU wheel on PyPI).

A thin adapter: requests are built here (testable without vLLM) and handed to `LLM.chat` in one call per
chunk, so vLLM's continuous batching schedules them. Two images per prompt need
`limit_mm_per_prompt={"image": 2}`. With `choice_decoding`, the answer is constrained to the valid letters or
Yes/No through structured outputs (`StructuredOutputsParams`, or `GuidedDecodingParams` on older vLLM).
Tensor parallelism is passed through; data parallelism is the runner's (`--data-parallel`, one replica per
GPU group).
"""

from __future__ import annotations

from typing import Any

from mmra.errors import MMRAError

from .base import Backend, Output
from .openai import to_openai_messages


def vllm_engine_kwargs(model: str, *, tensor_parallel_size: int = 1, dtype: str | None = None,
                       max_model_len: int | None = None, trust_remote_code: bool = False,
                       seed: int = 0, **extra: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": model, "tensor_parallel_size": tensor_parallel_size, "limit_mm_per_prompt": {"image": 2},
        "trust_remote_code": trust_remote_code, "seed": seed,
    }
    if dtype:
        kwargs["dtype"] = dtype
    if max_model_len:
        kwargs["max_model_len"] = max_model_len
    kwargs.update(extra)
    return kwargs


def choice_constraint(vllm_module: Any, choices: list[str]) -> dict[str, Any]:
    """SamplingParams kwargs that force the output to one of `choices`, for the installed vLLM version."""
    sampling = getattr(vllm_module, "sampling_params", None)
    structured = getattr(sampling, "StructuredOutputsParams", None)
    if structured is not None:
        return {"structured_outputs": structured(choice=list(choices))}
    guided = getattr(sampling, "GuidedDecodingParams", None)
    if guided is not None:
        return {"guided_decoding": guided(choice=list(choices))}
    return {}


def build_requests(prompts: list[Any]) -> list[list[dict[str, Any]]]:
    """One conversation per prompt, OpenAI chat format with base64 PNG images (accepted by every vLLM
    version that has `LLM.chat`)."""
    return [to_openai_messages(p) for p in prompts]


class VLLMBackend(Backend):
    name = "vllm"
    cli_options = {"tensor_parallel": "tensor_parallel_size", "dtype": "dtype", "choice_decoding": "choice_decoding",
                   "max_model_len": "max_model_len", "trust_remote_code": "trust_remote_code"}

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, dtype: str | None = None,
                 max_model_len: int | None = None, choice_decoding: bool = False,
                 trust_remote_code: bool = False, **extra: Any) -> None:
        try:
            import vllm
        except ImportError:
            raise MMRAError(
                "the vllm backend needs vLLM, which is not installed (it needs a CUDA machine: "
                "pip install 'mmra-toolkit[vllm]'); use --backend hf instead"
            ) from None
        self.vllm = vllm
        self.model_id = model
        self.choice_decoding = choice_decoding
        if choice_decoding and not choice_constraint(vllm, ["A"]):
            raise MMRAError(f"vLLM {getattr(vllm, '__version__', '?')} has no structured choice decoding; "
                            "drop --choice-decoding")
        try:
            self.llm = vllm.LLM(**vllm_engine_kwargs(model, tensor_parallel_size=tensor_parallel_size, dtype=dtype,
                                                     max_model_len=max_model_len,
                                                     trust_remote_code=trust_remote_code, **extra))
        except Exception as exc:
            raise MMRAError(f"vLLM cannot load model {model!r}: {exc}") from None
        self.preferred_chunk = 256  # vLLM batches internally; chunks only bound what a kill can lose

    def sampling_params(self, prompts: list[Any], max_new_tokens: int) -> list[Any]:
        params = []
        for p in prompts:
            extra = choice_constraint(self.vllm, p.choices) if self.choice_decoding and p.choices else {}
            params.append(self.vllm.SamplingParams(temperature=0.0, max_tokens=max_new_tokens, **extra))
        return params

    def generate(self, prompts: list[Any], *, max_new_tokens: int) -> list[Output]:
        try:
            outs = self.llm.chat(build_requests(prompts), sampling_params=self.sampling_params(prompts, max_new_tokens),
                                 use_tqdm=False)
        except Exception as exc:
            if len(prompts) == 1:
                return [Output(None, f"{type(exc).__name__}: {exc}")]
            # isolate the bad request; the rest of the chunk still gets answers
            return [o for p in prompts for o in self.generate([p], max_new_tokens=max_new_tokens)]
        return [Output(o.outputs[0].text.strip() if o.outputs else None,
                       None if o.outputs else "vLLM returned no output") for o in outs]

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "vllm": getattr(self.vllm, "__version__", None),
                "choice_decoding": self.choice_decoding}
