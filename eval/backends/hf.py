"""transformers backend: AutoProcessor + the model's chat template, two images per prompt, batched greedy
`generate` with left padding.

Why batching changes no answer: prompts are left-padded and the attention mask covers the padding, so every
row sees exactly the tokens it would see alone (tests/eval check batch 8 == batch 1 on real forward passes).
The processor work (image resize, tokenising) for the next batch runs in a background thread while the model
generates the current one.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmra.errors import MMRAError

from ..data import ImageBudget
from ..tiny import build_synthetic, is_synthetic_model_id
from .base import Backend, Output


def _torch():
    try:
        import torch
    except ImportError:
        raise MMRAError("the hf backend needs torch and transformers: pip install 'mmra-toolkit[eval]'") from None
    return torch


class HFBackend(Backend):
    name = "hf"
    cli_options = {"device": "device", "dtype": "dtype", "device_map": "device_map",
                   "trust_remote_code": "trust_remote_code"}

    def __init__(self, model: str, *, device: str | None = None, dtype: str | None = None,
                 device_map: str | None = None, min_new_tokens: int | None = None,
                 attn_implementation: str | None = None, trust_remote_code: bool = False,
                 prefetch: bool = True, threads: int | None = None) -> None:
        torch = _torch()
        self.model_id = model
        self.min_new_tokens = min_new_tokens
        self.prefetch = prefetch
        if device in (None, "auto"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if dtype in (None, "auto"):
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        self.dtype = getattr(torch, dtype, None)
        if not isinstance(self.dtype, torch.dtype):
            raise MMRAError(f"unknown dtype {dtype!r}; use bfloat16, float16 or float32")
        if threads is None and model.startswith("tiny:") and device == "cpu":
            # a tiny model is all per-op overhead: a second intra-op thread only adds synchronisation, and on a
            # busy 2-core machine it made every generate() call ~7x slower
            threads = 1
        if threads:
            torch.set_num_threads(threads)
        if is_synthetic_model_id(model):
            built = build_synthetic(model)
            self.model, self.processor = built.model, built.processor
            if self.model.dtype != self.dtype:
                self.model = self.model.to(self.dtype)
            if device_map is None and str(self.model.device) != device:
                self.model = self.model.to(device)
        else:
            self.model, self.processor = _load_pretrained(model, self.dtype, device, device_map,
                                                          attn_implementation, trust_remote_code)
        if threads is None and device == "cpu" and sum(p.numel() for p in self.model.parameters()) < 5_000_000:
            torch.set_num_threads(1)  # a tiny model from a folder: the same per-op overhead as tiny: ids
        tokenizer = getattr(self.processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"  # right padding would put pad tokens between prompt and answer
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
        if not getattr(self.processor, "chat_template", None):
            raise MMRAError(f"model {model!r}: its processor has no chat template; the hf backend needs one")
        self.image_budget = image_budget(self.processor)
        gen = self.model.generation_config
        gen.do_sample = False  # greedy, whatever the checkpoint's defaults say
        for key in ("temperature", "top_p", "top_k"):
            if hasattr(gen, key):
                setattr(gen, key, None)
        if gen.pad_token_id is None and tokenizer is not None:
            gen.pad_token_id = tokenizer.pad_token_id

    # ------------------------------------------------------------------------------------------ batches

    def _inputs(self, prompts: list[Any]):
        texts = [
            self.processor.apply_chat_template([{"role": "user", "content": p.parts}], add_generation_prompt=True,
                                               tokenize=False)
            for p in prompts
        ]
        images = [p.images for p in prompts]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True, "padding_side": "left"}
        if any(images):
            if not all(images):
                raise ValueError("a batch mixes prompts with and without images")
            kwargs["images"] = images
        return self.processor(**kwargs)

    def _run(self, inputs, max_new_tokens: int) -> list[str]:
        torch = _torch()
        target = self.model.device
        inputs = inputs.to(target)
        for key, value in inputs.items():  # pixel values in the model's dtype (bf16 on GPU)
            if hasattr(value, "is_floating_point") and value.is_floating_point():
                inputs[key] = value.to(self.model.dtype)
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False}
        if self.min_new_tokens:
            kwargs["min_new_tokens"] = min(self.min_new_tokens, max_new_tokens)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]
        if self.model_id.startswith("random:"):
            # a random full-size model samples ids far beyond the byte-level test tokenizer's vocabulary, which
            # decode to nothing: keep the ids themselves, so batched-vs-single comparisons stay meaningful
            pad = self.model.generation_config.pad_token_id
            return [" ".join(str(int(t)) for t in row if int(t) != pad) for row in new_tokens]
        return [t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]

    def generate(self, prompts: list[Any], *, max_new_tokens: int) -> list[Output]:
        if not prompts:
            return []
        try:
            return [Output(t) for t in self._run(self._inputs(prompts), max_new_tokens)]
        except Exception as exc:
            return self._isolate(prompts, max_new_tokens, exc)

    def _isolate(self, prompts: list[Any], max_new_tokens: int, exc: Exception) -> list[Output]:
        """A failed batch is retried one prompt at a time, so one bad row costs only its own answer."""
        if len(prompts) == 1:
            return [Output(None, f"{type(exc).__name__}: {exc}")]
        outputs = []
        for p in prompts:
            try:
                outputs.append(Output(self._run(self._inputs([p]), max_new_tokens)[0]))
            except Exception as single_exc:  # recorded on the row, the run goes on
                outputs.append(Output(None, f"{type(single_exc).__name__}: {single_exc}"))
        return outputs

    def stream(self, batches: Iterable[tuple[Any, list[Any]]], *, max_new_tokens: int) -> Iterator[tuple[Any, list[Output]]]:
        if not self.prefetch:
            yield from super().stream(batches, max_new_tokens=max_new_tokens)
            return
        iterator = iter(batches)

        def prepare():
            # pulls the next batch (image decoding happens in the runner's generator) and runs the processor
            try:
                tag, prompts = next(iterator)
            except StopIteration:
                return None
            try:
                return tag, prompts, (self._inputs(prompts) if prompts else None), None
            except Exception as exc:
                return tag, prompts, None, exc

        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmra-prefetch") as pool:
            future = pool.submit(prepare)
            while True:
                ready = future.result()
                if ready is None:
                    return
                future = pool.submit(prepare)
                tag, prompts, inputs, error = ready
                if not prompts:
                    yield tag, []
                elif error is not None:
                    yield tag, self._isolate(prompts, max_new_tokens, error)
                else:
                    try:
                        yield tag, [Output(t) for t in self._run(inputs, max_new_tokens)]
                    except Exception as exc:
                        yield tag, self._isolate(prompts, max_new_tokens, exc)

    def describe(self) -> dict[str, Any]:
        n_params = sum(p.numel() for p in self.model.parameters())
        return {"backend": self.name, "model": self.model_id, "dtype": str(self.dtype).removeprefix("torch."),
                "device": str(self.model.device), "parameters": n_params,
                "model_class": type(self.model).__name__, "image_budget": vars(self.image_budget) if self.image_budget else None}


def _load_pretrained(model_id: str, dtype, device: str, device_map: str | None,
                     attn_implementation: str | None, trust_remote_code: bool):
    import transformers

    path = Path(model_id).expanduser()
    if model_id.startswith((".", "/", "~")) and not path.exists():
        raise MMRAError(f"model {model_id!r}: no such folder")
    if path.exists() and not path.is_dir():
        raise MMRAError(f"model {model_id!r}: is a file; give the model folder (config.json, weights, processor)")
    source = str(path) if path.exists() else model_id
    processor = load_processor(source, model_id, trust_remote_code=trust_remote_code)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if device_map:
        kwargs["device_map"] = device_map  # e.g. "auto": shard a model too big for one GPU across all visible
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    errors = []
    for cls_name in ("AutoModelForImageTextToText", "AutoModelForVision2Seq", "AutoModelForCausalLM"):
        cls = getattr(transformers, cls_name, None)
        if cls is None:
            continue
        try:
            model = cls.from_pretrained(source, **kwargs)
            break
        except ValueError as exc:  # "Unrecognized configuration class ... for this kind of AutoModel"
            errors.append(f"{cls_name}: {_one_line(exc)}")
        except Exception as exc:
            raise MMRAError(f"model {model_id!r}: cannot load weights: {_one_line(exc)}") from None
    else:
        raise MMRAError(f"model {model_id!r}: no auto class fits it ({'; '.join(errors)})")
    if not device_map:
        model = model.to(device)
    return model.eval(), processor


def _processor_class(source: str, trust_remote_code: bool):
    """The processor class the checkpoint's config names (model_type -> transformers' processor mapping)."""
    import transformers
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    config = transformers.AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
    name = PROCESSOR_MAPPING_NAMES.get(getattr(config, "model_type", None))
    return getattr(transformers, name, None) if isinstance(name, str) else None


def load_processor(source: str, model_id: str, *, trust_remote_code: bool = False):
    """AutoProcessor, except that without torchvision (the CPU wheels) a processor with a video slot is built
    without its video part, as for the tiny models: the eval never sends video, and transformers would
    otherwise refuse the whole processor ("... requires the Torchvision library")."""
    import transformers
    from transformers.utils import is_torchvision_available

    from ..tiny import no_video

    try:
        cls = None if is_torchvision_available() else _processor_class(source, trust_remote_code)
        if cls is not None and "video_processor" in cls.get_attributes():
            return no_video(cls).from_pretrained(source, trust_remote_code=trust_remote_code)
        return transformers.AutoProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
    except Exception as exc:
        hint = ""
        if isinstance(exc, OSError) and not Path(source).is_dir():
            hint = " (not a local model folder, or a Hub repo that is unknown or unreachable)"
        raise MMRAError(f"model {model_id!r}: cannot load its processor: {type(exc).__name__}: "
                        f"{_one_line(exc)}{hint}") from None


def image_budget(processor: Any) -> ImageBudget | None:
    """How large the processor makes images, when it has a fixed budget (a Qwen2-VL-style pixel count,
    Idefics3/SmolVLM's longest edge without splitting); None when large images may stay large."""
    ip = getattr(processor, "image_processor", None)
    size = getattr(ip, "size", None)
    longest = size.get("longest_edge") if isinstance(size, dict) else getattr(size, "longest_edge", None)
    if not isinstance(longest, int) or longest <= 0:
        return None
    if hasattr(ip, "temporal_patch_size"):  # Qwen2-VL family: "longest_edge" is the max pixel count
        return ImageBudget(max_pixels=longest)
    if getattr(ip, "do_image_splitting", None) is False:
        return ImageBudget(max_side=longest)
    return None


def _one_line(exc: Exception) -> str:
    """The whole message on one line (transformers' messages span lines; the first alone stops mid-sentence)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__
