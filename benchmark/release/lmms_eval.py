"""lmms-eval export: a task YAML and a self-contained `utils.py` shipped inside every release.

`utils.py` is the template `lmms_utils_template.py` with the toolkit's own code pasted in (`mmra.parsing`,
`answers.py`, `prompts.py` and the pixel convention `images.to_rgb`; their toolkit imports replaced by the
few constants they use) and the release's subtasks and levels, so prompts, images and answer extraction are
the toolkit's own, frozen with the release.

The YAML (lmms-eval 0.7 task API) names `doc_to_messages`, which lmms-eval's chat models call, so they get the
same interleaved content as `mmra eval`; `doc_to_visual` / `doc_to_text` remain for simple models. Every
per-level and per-subtask accuracy is its own metric with its own aggregation function, so lmms-eval prints it
in its results table."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from mmra import parsing, plugins

from .. import answers, images, prompts
from ..registry import all_subtasks
from ..vocabulary import CHOICE_LETTERS, LETTERS, YES_NO, QAType
from . import lmms_utils_template
from .semver import hub_tag

_START, _END = "# --- mmra-inline-start ---", "# --- mmra-inline-end ---"
_RELEASE_START, _RELEASE_END = "# --- mmra-release-start ---", "# --- mmra-release-end ---"
_SHIM_NAMES = {"CHOICE_LETTERS", "LETTERS", "YES_NO", "QAType"}
# modules pasted in, in dependency order; an import of one of them from a later one is dropped
_INLINED = (parsing, plugins, answers, prompts)
_INLINED_NAMES = {m.__name__ for m in _INLINED}
LEVELS = ("entity", "image")


class ExportError(RuntimeError):
    pass


def _shim() -> str:
    members = "\n".join(f"    {m.name} = {m.value!r}" for m in QAType)
    return (
        "from enum import Enum\n\n"
        f"LETTERS = {LETTERS!r}\nCHOICE_LETTERS = {CHOICE_LETTERS!r}\nYES_NO = {YES_NO!r}\n\n\n"
        f"class QAType(str, Enum):\n{members}\n"
    )


def _droppable(node: ast.ImportFrom, module) -> bool:
    """True for imports the inlined block provides (the shim's names, earlier inlined modules)."""
    names = {a.name for a in node.names}
    if node.module == "__future__":
        return True
    if node.level and node.module in ("schema", "vocabulary") and names <= _SHIM_NAMES:
        return True
    if not node.level and node.module in _INLINED_NAMES:
        return True
    if node.level or (node.module or "").startswith("mmra"):
        raise ExportError(
            f"{module.__name__} imports {names} from {'.' * node.level}{node.module}; the lmms-eval export can only "
            f"inline {sorted(_SHIM_NAMES)} from .schema and the modules {sorted(_INLINED_NAMES)}; extend "
            "lmms_eval._INLINED or lmms_eval._shim"
        )
    return False


def inline_module(module) -> str:
    """A module's source without `from __future__` imports and without the imports the block provides."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    lines = source.splitlines()
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and _droppable(node, module):
            drop.update(range(node.lineno - 1, node.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return f"# ---- from {module.__name__} ----\n" + "\n".join(kept).strip() + "\n"


def _to_rgb() -> str:
    return "# ---- from mmra.benchmark.images ----\n" + inspect.getsource(images.to_rgb)


def release_groups(subtasks: list[str]) -> list[str]:
    """The release's subtasks in registry order (unregistered names after, sorted)."""
    order = {spec.name: i for i, spec in enumerate(all_subtasks())}
    return sorted(set(subtasks), key=lambda name: (order.get(name, len(order)), name))


def render_utils(subtasks: list[str] = (), levels: tuple[str, ...] = LEVELS) -> str:
    template = inspect.getsource(lmms_utils_template)
    for start, end in ((_START, _END), (_RELEASE_START, _RELEASE_END)):
        if start not in template or end not in template:
            raise ExportError("lmms_utils_template.py lost its inline markers")
    head, rest = template.split(_START, 1)
    _, tail = rest.split(_END, 1)
    inlined = "\n\n".join([_shim(), *(inline_module(m) for m in _INLINED), _to_rgb()])
    text = f"{head}{_START}\n{inlined}\n{_END}{tail}"
    head, rest = text.split(_RELEASE_START, 1)
    _, tail = rest.split(_RELEASE_END, 1)
    release = f"MMRA_SUBTASKS = {tuple(subtasks)!r}\nMMRA_LEVELS = {tuple(levels)!r}\n"
    return f"{head}{_RELEASE_START}\n{release}{_RELEASE_END}{tail}"


def _metric(name: str, aggregation: str, higher_is_better: bool = True) -> str:
    return (f"  - metric: {name}\n    aggregation: !function utils.{aggregation}\n"
            f"    higher_is_better: {'true' if higher_is_better else 'false'}\n")


def metric_list(subtasks: list[str], levels: tuple[str, ...] = LEVELS) -> str:
    t = lmms_utils_template
    lines = [_metric("mmra_accuracy", "mmra_aggregate_accuracy"),
             _metric("mmra_unparsed", "mmra_aggregate_unparsed", higher_is_better=False)]
    for kind, values in (("level", levels), ("task", subtasks)):
        lines += [_metric(t.mmra_metric_name(kind, v), t.mmra_aggregation_name(kind, v)) for v in values]
    return "metric_list:\n" + "".join(lines)


def render_yaml(task: str, version: str, fingerprint: str, *, repo_id: str | None, data_files: list[str],
                subtasks: list[str] = ()) -> str:
    """Hub releases load `repo_id` at tag vX.Y.Z; local ones load the parquet shards by paths relative to
    this YAML (lmms-eval resolves those against the YAML's folder), so the release folder can move."""
    if repo_id:
        source = (f"dataset_path: {repo_id}\ndataset_kwargs:\n  revision: {hub_tag(version)}\n"
                  "  data_files:\n    test: data/*.parquet\n")
    else:
        files = "".join(f"      - ../{f}\n" for f in data_files)
        source = f"dataset_path: parquet\ndataset_kwargs:\n  data_files:\n    test:\n{files}"
    return f"""# lmms-eval task for {task} {version} (fingerprint {fingerprint}); generated by the MMRA toolkit.
# Only the `test` split is loaded (the `train` alias of the default config would be prepared twice).
# Chat models get doc_to_messages (the content `mmra eval` sends); simple models doc_to_visual + doc_to_text.
{source}task: {task}
test_split: test
output_type: generate_until
doc_to_messages: !function utils.mmra_doc_to_messages
doc_to_visual: !function utils.mmra_doc_to_visual
doc_to_text: !function utils.mmra_doc_to_text
doc_to_target: !function utils.mmra_doc_to_target
generation_kwargs:
  max_new_tokens: 16
  temperature: 0
  top_p: 1.0
  num_beams: 1
  do_sample: false
process_results: !function utils.mmra_process_results
{metric_list(subtasks)}lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: ""
    profile: default
metadata:
  version: 0.0
  release: "{version}"
"""


def _subtasks_in(out_dir: Path, data_files: list[str]) -> list[str]:
    import pyarrow.parquet as pq

    names: list[str] = []
    for f in data_files:
        names += pq.read_table(out_dir / f, columns=["Task"]).column("Task").to_pylist()
    return release_groups(names)


def write_lmms_eval(out_dir: Path, task: str, version: str, fingerprint: str, *, repo_id: str | None,
                    data_files: list[str]) -> list[str]:
    folder = out_dir / "lmms_eval"
    folder.mkdir(parents=True, exist_ok=True)
    subtasks = _subtasks_in(out_dir, data_files)
    (folder / f"{task}.yaml").write_text(
        render_yaml(task, version, fingerprint, repo_id=repo_id, data_files=data_files, subtasks=subtasks),
        encoding="utf-8")
    (folder / "utils.py").write_text(render_utils(subtasks), encoding="utf-8")
    return [f"lmms_eval/{task}.yaml", "lmms_eval/utils.py"]


# The difference from `mmra eval` that remains with lmms-eval's chat models, said on the card.
CARD_NOTE = (
    "With lmms-eval's chat models (`models/chat/`, e.g. `--model llava_hf`) the task sends the same content as "
    "`mmra eval` (\"Image 1:\" / \"Image 2:\" labels, image order, prompt profile, the decoded images themselves, "
    "not re-encoded) and prints accuracy overall, per level (`mmra_level_*`) and per subtask (`mmra_task_*`) in "
    "its results table; on a tiny LLaVA folder (`mmra tiny-model llava`) lmms-eval 0.7.3 gave the same raw "
    "responses as `mmra eval` for every sample. What can still differ: `mmra eval` strips leading/trailing "
    "whitespace from a response (answer extraction ignores it); `mmra eval` decodes a JPEG at least 4x larger "
    "than the model's input at a reduced DCT scale, lmms-eval decodes it in full (only such large JPEGs can "
    "reach the processor with other pixels); the model wrapper decides the dtype (lmms-eval's generic "
    "`huggingface` wrapper loads bfloat16: compare with `mmra eval --dtype bfloat16`; in 0.7.3 it also loads "
    "vision-language checkpoints with `AutoModel`, which has no language-model head under transformers 5, so "
    "prefer a model-specific chat wrapper). Simple (legacy) models get `doc_to_visual` + `doc_to_text`: both "
    "images first, no labels, and some of them re-encode the images as JPEG."
)
