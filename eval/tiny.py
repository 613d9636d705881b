"""Randomly initialised multi-image VLMs built from a config, offline (no Hub): `tiny:<arch>` model ids.

They produce gibberish, but they run the real transformers code paths (processor, chat template, image
tokens, mrope / pixel masks, left-padded batched `generate`), so they test the eval runner end to end and let
users smoke-test an install. Weights are seeded, so the same id gives the same model on any machine.

`random:qwen2-vl-7b` builds the full Qwen2-VL-7B architecture with random weights and `random:llava-1.5-7b`
LLaVA-1.5-7B's (CLIP ViT-L/14 at 336 px + a 7B Llama), for GPU throughput benchmarks (7-8B parameters in bf16,
built straight on the GPU).

The tokenizer is built in code: a byte-level BPE whose vocabulary is the 256 byte symbols (no merges), so any
text round-trips, plus the family's special tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmra.errors import MMRAError

TINY_ARCHS = ("qwen2-vl", "smolvlm", "idefics3", "llava")
RANDOM_ARCHS = ("qwen2-vl-7b", "llava-1.5-7b")

# Chat templates in each family's published format (images first, then the text of the user turn).
QWEN2_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
IDEFICS3_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'] is string %}: {{ message['content'] }}"
    "{% else %}{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% elif part['type'] == 'image' %}<image>{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)
# LLaVA-1.5's conversation format (llava-hf): "USER: <image>... ASSISTANT:"
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %} {% else %}</s>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


@dataclass
class BuiltModel:
    model: Any
    processor: Any
    name: str


def _byte_vocab(specials: list[str]) -> dict[str, int]:
    from tokenizers import pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for tok in specials:
        vocab[tok] = len(vocab)
    return vocab


def _byte_tokenizer(specials: list[str], *, eos: str, pad: str, extra_attrs: dict[str, str] | None = None):
    from tokenizers import Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from transformers import TokenizersBackend

    vocab = _byte_vocab(specials)
    backend = Tokenizer(BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    tok = TokenizersBackend(
        tokenizer_object=backend, eos_token=eos, pad_token=pad, unk_token=pad, padding_side="left",
        additional_special_tokens=[s for s in specials if s not in (eos, pad)],
    )
    tok.padding_side = "left"
    for key, value in (extra_attrs or {}).items():
        setattr(tok, key, value)
    return tok


def no_video(proc_cls):
    """Processors with a video slot reject `video_processor=None` when torchvision is missing (the CPU
    wheels here); the eval runner never sends video, so accept None."""

    class Processor(proc_cls):
        @classmethod
        def get_attributes(cls):
            # no video slot at all: `save_pretrained` then does not read `_auto_class` off None, and
            # `from_pretrained` does not try to build the torchvision-only video processor
            return [a for a in super().get_attributes() if a != "video_processor"]

        @classmethod
        def from_args_and_dict(cls, args, processor_dict, **kwargs):
            # some processors (SmolVLM) take the video processor as a required argument
            return super().from_args_and_dict(args, processor_dict, video_processor=None, **kwargs)

        def check_argument_for_proper_class(self, argument_name, argument):
            if argument is None and argument_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

        def apply_chat_template(self, conversation, chat_template=None, **kwargs):
            # SmolVLM's override reads video settings from the (absent) video processor; the base one does not
            from transformers.processing_utils import ProcessorMixin

            return ProcessorMixin.apply_chat_template(self, conversation, chat_template, **kwargs)

    Processor.__name__ = proc_cls.__name__
    Processor.__qualname__ = proc_cls.__qualname__
    return Processor


def _seeded(seed: int):
    import torch

    torch.manual_seed(seed)


def _qwen2_vl(size: str, meta: bool = False) -> BuiltModel:
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil
    from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
    tok = _byte_tokenizer(specials, eos="<|im_end|>", pad="<|endoftext|>")
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    common = dict(
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    if size == "tiny":
        config = Qwen2VLConfig(
            text_config=dict(
                vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                initializer_range=0.5, eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                bos_token_id=None, rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3],
                                                    "rope_theta": 10000.0},
            ),
            vision_config=dict(depth=2, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2,
                               initializer_range=0.5),
            **common,
        )
        image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112)
        dtype = torch.float32
    else:  # the Qwen2-VL-7B-Instruct architecture (config defaults are the 7B vision tower)
        config = Qwen2VLConfig(
            text_config=dict(
                vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=None,
                rope_parameters={"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0},
            ),
            vision_config=dict(depth=32, embed_dim=1280, hidden_size=3584, num_heads=16),
            **common,
        )
        # the 7B's default pixel budget would be up to 16k tokens per image; MMRA-size images at 448x448
        image_processor = Qwen2VLImageProcessorPil(min_pixels=448 * 448, max_pixels=448 * 448)
        dtype = torch.bfloat16
    processor = no_video(Qwen2VLProcessor)(
        image_processor=image_processor, tokenizer=tok, video_processor=None, chat_template=QWEN2_VL_CHAT_TEMPLATE
    )
    model = _instantiate(Qwen2VLForConditionalGeneration, config, dtype, seed=1234, meta=meta)
    return BuiltModel(model, processor, f"{'tiny' if size == 'tiny' else 'random'}:qwen2-vl{'' if size == 'tiny' else '-7b'}")


def _idefics3_family(kind: str) -> BuiltModel:
    import torch

    specials = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
                "<global-img>", "<video>"]
    tok = _byte_tokenizer(
        specials, eos="<end_of_utterance>", pad="<|endoftext|>",
        extra_attrs={"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
                     "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>"},
    )
    eos_id, pad_id = tok.convert_tokens_to_ids("<end_of_utterance>"), tok.convert_tokens_to_ids("<|endoftext|>")
    text_config = dict(
        model_type="llama", vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, initializer_range=0.5,
        eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=None,
    )
    # 64 px images in 16 px patches -> 16 patches, pixel-shuffled by 2 -> 4 image tokens per image
    vision_config = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                         image_size=64, patch_size=16, initializer_range=0.5)
    image_kwargs = dict(do_image_splitting=False, size={"longest_edge": 64}, max_image_size={"longest_edge": 64})
    if kind == "smolvlm":
        from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil
        from transformers.models.smolvlm.processing_smolvlm import SmolVLMProcessor

        config = SmolVLMConfig(text_config=text_config, vision_config=vision_config, scale_factor=2,
                               image_token_id=tok.convert_tokens_to_ids("<image>"), pad_token_id=pad_id)
        processor = no_video(SmolVLMProcessor)(
            image_processor=SmolVLMImageProcessorPil(**image_kwargs), tokenizer=tok, video_processor=None,
            image_seq_len=4, chat_template=IDEFICS3_CHAT_TEMPLATE,
        )
        model_cls = SmolVLMForConditionalGeneration
    else:
        from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil
        from transformers.models.idefics3.processing_idefics3 import Idefics3Processor

        config = Idefics3Config(text_config=text_config, vision_config=vision_config, scale_factor=2,
                                image_token_id=tok.convert_tokens_to_ids("<image>"), pad_token_id=pad_id)
        processor = Idefics3Processor(
            image_processor=Idefics3ImageProcessorPil(**image_kwargs), tokenizer=tok, image_seq_len=4,
            chat_template=IDEFICS3_CHAT_TEMPLATE,
        )
        model_cls = Idefics3ForConditionalGeneration
    model = _instantiate(model_cls, config, torch.float32, seed=4321)
    return BuiltModel(model, processor, f"tiny:{kind}")


def _llava(size: str = "tiny", meta: bool = False) -> BuiltModel:
    """LLaVA. tiny: a SigLIP tower (no CLS token), 32 px images in 8 px patches -> 16 image tokens each; its
    processor has no video slot, so transformers' AutoProcessor builds it without torchvision. 7b: the
    LLaVA-1.5-7B architecture (CLIP ViT-L/14-336 -> 576 tokens per image, Vicuna/Llama-7B)."""
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        SiglipImageProcessorPil,
    )

    specials = ["<pad>", "</s>", "<image>"]
    tok = _byte_tokenizer(specials, eos="</s>", pad="<pad>")
    eos_id, pad_id = tok.convert_tokens_to_ids("</s>"), tok.convert_tokens_to_ids("<pad>")
    image_token = tok.convert_tokens_to_ids("<image>")
    if size == "tiny":
        config = LlavaConfig(
            text_config=dict(model_type="llama", vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=4096, initializer_range=0.5, eos_token_id=eos_id,
                             pad_token_id=pad_id, bos_token_id=None),
            vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                               num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8),
            image_token_index=image_token, image_seq_length=16,
            vision_feature_select_strategy="full", vision_feature_layer=-1,
        )
        processor = LlavaProcessor(
            image_processor=SiglipImageProcessorPil(size={"height": 32, "width": 32}), tokenizer=tok,
            patch_size=8, vision_feature_select_strategy="full", chat_template=LLAVA_CHAT_TEMPLATE,
            image_token="<image>", num_additional_image_tokens=0,
        )
        dtype, seed = torch.float32, 2468
    else:  # llava-hf/llava-1.5-7b-hf's architecture; the vocabulary size is the checkpoint's (ids beyond the
        # byte tokenizer only ever appear in the generated tokens, which `random:` runs report as ids)
        config = LlavaConfig(
            text_config=dict(model_type="llama", vocab_size=32064, hidden_size=4096, intermediate_size=11008,
                             num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                             max_position_embeddings=4096, rms_norm_eps=1e-5, eos_token_id=eos_id,
                             pad_token_id=pad_id, bos_token_id=None),
            vision_config=dict(model_type="clip_vision_model", hidden_size=1024, intermediate_size=4096,
                               num_hidden_layers=24, num_attention_heads=16, image_size=336, patch_size=14,
                               projection_dim=768),
            image_token_index=image_token, image_seq_length=576,
            vision_feature_select_strategy="default", vision_feature_layer=-2,
        )
        processor = LlavaProcessor(
            image_processor=CLIPImageProcessorPil(size={"shortest_edge": 336},
                                                  crop_size={"height": 336, "width": 336}),
            tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
            chat_template=LLAVA_CHAT_TEMPLATE, image_token="<image>", num_additional_image_tokens=1,
        )
        dtype, seed = torch.bfloat16, 1357
    model = _instantiate(LlavaForConditionalGeneration, config, dtype, seed=seed, meta=meta)
    return BuiltModel(model, processor, "tiny:llava" if size == "tiny" else "random:llava-1.5-7b")


def _instantiate(model_cls, config, dtype, *, seed: int, meta: bool = False):
    import torch

    _seeded(seed)
    if meta:  # shapes only, no memory: to check an architecture's size on a machine that cannot hold it
        with torch.device("meta"):
            model = model_cls._from_config(config, dtype=dtype)
    elif dtype == torch.bfloat16 and torch.cuda.is_available():
        # build straight on the GPU in bf16: an 8B model in fp32 on the host would need 32 GB and minutes
        with torch.device("cuda"):
            model = model_cls._from_config(config, dtype=dtype)
    else:
        model = model_cls._from_config(config, dtype=dtype)
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.bos_token_id = None
    return model.eval()


def is_synthetic_model_id(model_id: str) -> bool:
    return model_id.startswith(("tiny:", "random:"))


def build_synthetic(model_id: str, *, meta: bool = False) -> BuiltModel:
    """`tiny:qwen2-vl`, `tiny:smolvlm`, `tiny:idefics3`, `tiny:llava` or `random:qwen2-vl-7b` -> model +
    processor.
    `meta=True` (random: ids only) builds the module tree without allocating weights."""
    kind, _, arch = model_id.partition(":")
    if kind == "tiny" and arch == "qwen2-vl":
        return _qwen2_vl("tiny")
    if kind == "tiny" and arch in ("smolvlm", "idefics3"):
        return _idefics3_family(arch)
    if kind == "tiny" and arch == "llava":
        return _llava()
    if kind == "random" and arch == "qwen2-vl-7b":
        return _qwen2_vl("7b", meta=meta)
    if kind == "random" and arch == "llava-1.5-7b":
        return _llava("7b", meta=meta)
    known = ", ".join([f"tiny:{a}" for a in TINY_ARCHS] + [f"random:{a}" for a in RANDOM_ARCHS])
    raise MMRAError(f"unknown synthetic model {model_id!r}; known: {known}")


# The video processor a machine with torchvision builds for each family (the eval never sends video; the
# entry only lets AutoProcessor build the whole processor there).
_VIDEO_PROCESSORS = {"qwen2-vl": "Qwen2VLVideoProcessor", "smolvlm": "SmolVLMVideoProcessor"}


def save_tiny(arch: str, out) -> list[str]:
    """Write `tiny:<arch>` as an ordinary model folder (config, safetensors, generation config, tokenizer,
    processor config, chat template) that `from_pretrained` loads, for wiring tests of any harness.
    Returns the files written."""
    import json
    from pathlib import Path

    if arch not in TINY_ARCHS:
        raise MMRAError(f"unknown tiny architecture {arch!r}; known: {', '.join(TINY_ARCHS)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MMRAError(f"{out}: is a file; give a folder to write the model into")
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise MMRAError(f"{out}: folder is not empty and holds no model; give an empty or new folder")
    built = build_synthetic(f"tiny:{arch}")
    out.mkdir(parents=True, exist_ok=True)
    built.model.save_pretrained(out)
    built.processor.save_pretrained(out)
    config_path = out / "processor_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if arch in _VIDEO_PROCESSORS:
        config["video_processor"] = {"video_processor_type": _VIDEO_PROCESSORS[arch]}
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        f"# tiny:{arch} (random weights)\n\nWritten by `mmra tiny-model {arch}`: a randomly initialised "
        f"{type(built.model).__name__} with a byte-level tokenizer, for wiring tests only; its answers are "
        "chance-level by design. Load it with `AutoProcessor.from_pretrained` / "
        "`AutoModelForImageTextToText.from_pretrained`, or `mmra eval --model <this folder>`.\n",
        encoding="utf-8")
    return sorted(p.name for p in out.iterdir())
