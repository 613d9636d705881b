#!/usr/bin/env bash
# Issue 21 (items 1 and 2): the same inputs through the old code (commit c0fd0ee, installed into $BASE_SITE and put
# first on PYTHONPATH) and the new code (this checkout), then sha256 of every compared file.
#
#   git worktree add /tmp/base21 c0fd0ee && .venv/bin/pip install --no-deps --target /tmp/base21-site /tmp/base21
#   benches/byte_identical_21.sh [WORK_DIR]
#
# Compared: `mmra curate` candidates.jsonl (ConceptNet-100K + both COCO-MINI splits, full val captions),
# `mmra publish` release files (parquet shards, card, VLMEvalKit TSV; balanced and --keep-option-order) of the
# release fixtures' samples, `mmra eval --model tiny:qwen2-vl --setting IQ` predictions.jsonl and scored.jsonl
# (plain, --circular, --swap-images, both) on that release, and `mmra leakage --vlm tiny:qwen2-vl` (the image
# probes' evidence in verdicts.jsonl and report.json, their predictions; the circular, choices-only and eval
# probes of a scripted model on loopback) on the samples. Prediction lines gained a `level` field (issue 21):
# their other fields are compared exactly, line by line, in field order (see the end of this script).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
BASE_SITE=${BASE_SITE:-/tmp/base21-site}
WORK=${1:-/tmp/bi21}
DATA=${DATA:-$ROOT/../shared/data}
COCO=$DATA/coco-mini
rm -rf "$WORK" && mkdir -p "$WORK"

# the release fixtures' samples (real PNG/JPEG images, all 11 subtasks, 3 and 4 options, yes/no)
(cd "$ROOT" && "$PY" - "$WORK/inputs" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "tests/release")
from conftest import make_sample_records
from mmra.benchmark.records import write_jsonl
folder = Path(sys.argv[1])
write_jsonl(folder / "samples.jsonl", make_sample_records(folder, 44))
EOF
)

# a scripted OpenAI-compatible model on loopback for the leakage filter's text probes (the tests' ScriptedServer):
# it knows every third sample (answers its gold option's text under every option order) and answers "A" otherwise
(cd "$ROOT" && exec "$PY" - "$WORK/inputs/samples.jsonl" "$WORK/server.url" <<'EOF'
import sys, time
from pathlib import Path
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import Sample
from tests.leakage.test_probe_modes import ScriptedServer
samples = read_jsonl(Path(sys.argv[1]), Sample)
knows = {s.question: (s.answer_text, {0}) for i, s in enumerate(samples) if i % 3 == 0}
with ScriptedServer(knows, models=("knower",)) as server:
    Path(sys.argv[2]).write_text(server.base_url)
    while True:
        time.sleep(3600)
EOF
) &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do [ -s "$WORK/server.url" ] && break; sleep 0.2; done
MODEL="knower@$(cat "$WORK/server.url")"

run() {  # run SIDE ARGS...: the mmra CLI of one side, from the work folder
  local side=$1; shift
  if [ "$side" = old ]; then
    (cd "$WORK" && PYTHONPATH=$BASE_SITE "$PY" -c "from mmra.cli import main; main()" "$@")
  elif [ -n "${NEW_SITE:-}" ]; then  # NEW_SITE=$BASE_SITE: old against old, a check that the outputs are deterministic
    (cd "$WORK" && PYTHONPATH=$NEW_SITE "$PY" -c "from mmra.cli import main; main()" "$@")
  else
    (cd "$WORK" && "$PY" -c "from mmra.cli import main; main()" "$@")
  fi
}

for side in old new; do
  out=$WORK/run  # both sides write under the same path (scores.json and run.json name it), then it is renamed
  rm -rf "$out" && mkdir -p "$out"
  run $side curate --conceptnet "$DATA/conceptnet/ckbc-train100k.tsv.gz" \
    --coco-instances "$COCO/annotations/instances_val2017.json" --coco-instances "$COCO/annotations/instances_train2017.json" \
    --coco-captions "$COCO/annotations/captions_val2017_full.json" --coco-captions "$COCO/annotations/captions_train2017.json" \
    --images "$COCO" --per-subtask 30 --out "$out/curate" --no-progress > "$out/curate.log" 2>&1
  for order in balanced kept; do
    flag=(); [ $order = kept ] && flag=(--keep-option-order)
    run $side publish --samples inputs/samples.jsonl --version 1.0.0 --to "$out/store-$order" \
      --cards-dir "$out/cards-$order" --name bench --probe-embedder none --allow-blind-gap "${flag[@]}" \
      > "$out/publish-$order.log" 2>&1
  done
  for variant in plain circular swap both; do
    flag=()
    case $variant in circular) flag=(--circular);; swap) flag=(--swap-images);; both) flag=(--circular --swap-images);; esac
    run $side eval --dataset "$out/store-balanced/bench/1.0.0" --model tiny:qwen2-vl --setting IQ --batch-size 8 \
      --device cpu --out "$out/eval-$variant" "${flag[@]}" > "$out/eval-$variant.log" 2>&1
  done
  # the leakage filter's image probes (a VLM under IQ, IQ-image1, IQ-image2, IQ-blank) and the model-free probes
  run $side leakage --samples inputs/samples.jsonl --vlm tiny:qwen2-vl --embedder none --no-cache \
    --model "$MODEL" --probe circular,eval-default,eval-paper --out "$out/leakage" > "$out/leakage.log" 2>&1
  mv "$out" "$WORK/$side"
done

# sha256 of every compared file, old vs new (all but the logs and the plot image; predictions.jsonl below)
(cd "$WORK" && "$PY" - <<'EOF'
import hashlib, json
from pathlib import Path

# wall-clock fields: of the curation reports, and when the leakage run started and how long its panel took
CLOCK = {"created", "seconds", "mb_per_s", "timings_s", "started", "elapsed_s"}
UNCLOCKED = ("curation_report.json", "report.json")  # compared less their clock fields

def unclocked(value):
    if isinstance(value, dict):
        return {k: unclocked(v) for k, v in value.items() if k not in CLOCK}
    return [unclocked(v) for v in value] if isinstance(value, list) else value

def sha(p):
    if p.name in UNCLOCKED or p.name.endswith(".stats.json"):
        return "unclocked:" + hashlib.sha256(json.dumps(unclocked(json.loads(p.read_bytes()))).encode()).hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()

def files(side):
    root = Path(side)
    picked = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix not in (".log", ".png")
              and p.name != "predictions.jsonl"]
    return {str(p.relative_to(root)): p for p in picked}

old, new = files("old"), files("new")
rows, same = [], True
for name in sorted(set(old) | set(new)):
    a, b = old.get(name), new.get(name)
    if a is None:  # an output the old code did not write at all: listed, not compared
        rows.append(f"| `{name}` | (not written by the old code) | new file `{sha(b)}` |")
        continue
    ha, hb = sha(a), sha(b) if b else "(missing)"
    same &= ha == hb
    rows.append(f"| `{name}` | `{ha}` | {'same' if ha == hb else '**DIFFERENT** `' + hb + '`'} |")
# predictions: the new lines carry `level`; every other field must be the same, value and order
for run in sorted(str(p.parent.relative_to("old")) for p in Path("old").rglob("predictions.jsonl")):
    a = [json.loads(l) for l in Path("old", run, "predictions.jsonl").read_text("utf-8").splitlines()]
    b = [json.loads(l) for l in Path("new", run, "predictions.jsonl").read_text("utf-8").splitlines()]
    levels = {r.get("level") for r in b}
    stripped = [{k: v for k, v in r.items() if k != "level"} for r in b]
    ok = len(a) == len(b) and all(list(x.items()) == list(y.items()) for x, y in zip(a, stripped))
    same &= ok
    ha = sha(Path("old", run, "predictions.jsonl"))
    hb = hashlib.sha256("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in stripped).encode()).hexdigest()
    rows.append(f"| `{run}/predictions.jsonl` ({len(a)} lines; new lines less `level`, levels {sorted(map(str, levels))}) "
                f"| `{ha}` | {'same' if ha == hb and ok else '**DIFFERENT** `' + hb + '`'} |")
    rows.append(f"| `{run}/predictions.jsonl` as written by the new code | | `{sha(Path('new', run, 'predictions.jsonl'))}` |")
print("| file | sha256 (old = c0fd0ee) | new |\n|---|---|---|")
print("\n".join(rows))
print(f"\nall files both sides wrote identical: {same}")
EOF
) | tee "$WORK/compare.md"
