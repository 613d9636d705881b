"""Local LLM runtimes side by side on the demo's leakage probes: llama-cpp-python (compiled) vs xllamacpp (wheel).

The same pinned GGUF, the same probe requests the demo's leakage step sends (`plan_probes` with the demo's
probe kinds), one configuration after another in ONE invocation (the machine is shared: compare rows of one run):
- runtime: llama-cpp-python (one request at a time) or xllamacpp (llama.cpp's C++ server, N parallel slots);
- order: as built (the rotations of one question consecutive) or striped (each of N in-flight requests on its
  own question, the next rotation of a question sent when the previous one has just finished, so it lands on the
  slot whose KV cache holds the shared prefix); chains (what `run_leakage` does with --every-rotation: each
  question's rotations one after another on one of N connections, `ChatClient.run_chains`) or decided (the
  leakage default: the same chains, each stopped once its hit is decided, so fewer requests are sent);
- answers: free (up to 16 tokens, read by the answer parser) or one token constrained to the shown letters;
- instruction: the filter's own messages (the answer instruction as the user message's last line) or moved into
  the system message (the rotations of a question then differ only in their options); `eval-messages`: the
  circular probes sent without the filter's system message, so a question's first rotation is eval's QO request
  itself; `qo-system`: the other way round, the eval probes (eval's QO request) given the filter's system
  message. Each measured and not adopted: see the README's timing notes;
- decided-bykind: every question chain of one kind before the next kind; s1 c1: one slot, one request at a time.
Per configuration: probes/s (the demo's whole probe set, asked or decided without asking, per wall second),
requests/s (requests actually sent per second), server CPU-seconds per probe (less sensitive to other load than wall time),
prompt/completion tokens (with the prompt tokens the server computed, and the floor: the distinct token
prefixes of the prompts sent, which no order or slot assignment can go below), and whether every probe's
parsed answer and every sample's verdict (circular hit,
the LLM's part of the demo's flag) equal those of the first configuration. Plus raw prefill and decode speed
of each runtime (unique prompts, no prefix reuse). No response cache anywhere.

    .venv/bin/python benches/bench_llm_runtime.py --samples WS/annotation/samples.described.jsonl \
        [--model qwen2.5-1.5b] [--lcp-venv .venv-llm] [--limit 40] [--configs all|NAME,...] [--out DIR]
    .venv/bin/python benches/bench_llm_runtime.py --benchmark testmini.json --task-column metadata.source \
        --kinds circular --limit 150 ...   # a benchmark in its own file, read as `mmra audit` reads it
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Config:
    name: str
    runtime: str  # xllamacpp | llama-cpp-python
    slots: int  # server slots (llama-cpp-python: always one request at a time)
    concurrency: int  # client requests in flight
    order: str  # built | striped
    answers: str  # free | one-token
    spin: bool = False  # OpenMP's default wait policy (idle threads spin), as before the server set PASSIVE
    instruction: str = "trailing"  # trailing (the filter's messages) | system (the instruction moved there) | eval
    # (eval: the circular probes sent as eval's QO request of the rotated item, no filter system message)


CONFIGS = [
    Config("lcp c4 built free spin (before)", "llama-cpp-python", 1, 4, "built", "free", spin=True),
    Config("lcp c4 built free", "llama-cpp-python", 1, 4, "built", "free"),
    Config("lcp c4 built one-token", "llama-cpp-python", 1, 4, "built", "one-token"),
    Config("xl s1 c1 built free", "xllamacpp", 1, 1, "built", "free"),
    Config("xl s4 c4 built free", "xllamacpp", 4, 4, "built", "free"),
    Config("xl s4 c4 built free spin", "xllamacpp", 4, 4, "built", "free", spin=True),
    Config("xl s2 c2 built free", "xllamacpp", 2, 2, "built", "free"),
    Config("xl s4 c4 striped free", "xllamacpp", 4, 4, "striped", "free"),
    Config("xl s4 c4 built one-token", "xllamacpp", 4, 4, "built", "one-token"),
    Config("xl s4 c4 striped one-token", "xllamacpp", 4, 4, "striped", "one-token"),
    Config("xl s4 c4 chains free", "xllamacpp", 4, 4, "chains", "free"),
    Config("xl s4 c4 decided free (now)", "xllamacpp", 4, 4, "decided", "free"),
    Config("xl s4 c4 decided free system-instruction", "xllamacpp", 4, 4, "decided", "free", instruction="system"),
    Config("xl s8 c8 decided free", "xllamacpp", 8, 8, "decided", "free"),
    Config("xl s4 c4 decided free eval-messages", "xllamacpp", 4, 4, "decided", "free", instruction="eval"),
    Config("xl s4 c4 decided-bykind free", "xllamacpp", 4, 4, "decided-bykind", "free"),
    Config("xl s1 c1 decided free", "xllamacpp", 1, 1, "decided", "free"),
    Config("xl s4 c4 decided free qo-system", "xllamacpp", 4, 4, "decided", "free", instruction="qo-system"),
    Config("xl s4 c4 decided one-token qo-system", "xllamacpp", 4, 4, "decided", "one-token", instruction="qo-system"),
]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def evaluated_prompt_tokens(log: Path, start: int) -> int | None:
    """Prompt tokens the server actually computed (not reused from its prefix cache), from llama.cpp's
    per-request timing lines in the server log (xllamacpp only; None for llama-cpp-python, which logs none)."""
    import re

    with open(log, "rb") as fh:
        fh.seek(start)
        text = fh.read().decode("utf-8", "replace")
    counts = [int(n) for n in re.findall(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens", text)]
    return sum(counts) if counts else None


def prompt_token_floor(base_url: str, requests) -> int:
    """The fewest prompt tokens any order or slot assignment can compute for these requests: the number of
    distinct token prefixes among their templated prompts (every prefix computed once and cached forever).
    Tokenised by the server itself (llama.cpp's /apply-template and /tokenize)."""
    import httpx

    root = base_url.removesuffix("/v1")
    prefixes: set[tuple[int, ...]] = set()
    with httpx.Client(timeout=60) as http:
        for messages in {json.dumps(r.messages, sort_keys=True) for r in requests}:
            text = http.post(f"{root}/apply-template", json={"messages": json.loads(messages)}).json()["prompt"]
            tokens = http.post(f"{root}/tokenize", json={"content": text, "add_special": False}).json()["tokens"]
            prefixes.update(tuple(tokens[:k]) for k in range(1, len(tokens) + 1))
    return len(prefixes)


def striped(groups: list[list[int]], width: int) -> list[int]:
    """Request indices so that `width` questions are in flight, each its rotations one after another."""
    order: list[int] = []
    for start in range(0, len(groups), width):
        chunk = [list(g) for g in groups[start:start + width]]
        while any(chunk):
            for g in chunk:
                if g:
                    order.append(g.pop(0))
    return order


def reworded(instruction: str, request, probe) -> list[dict] | None:
    """The messages a configuration's `instruction` sends for this probe instead (None: the filter's own)."""
    from mmra.benchmark.leakage.method import SYSTEM_PROMPT

    filter_kind = probe.kind in ("circular", "choices-only")
    if instruction == "system" and filter_kind:  # the answer instruction moved into the system message
        head, _, last_line = probe.prompt.rpartition("\n")
        return [{"role": "system", "content": f"{SYSTEM_PROMPT}\n{last_line}"}, {"role": "user", "content": head}]
    if instruction == "eval" and filter_kind:  # no filter system message: rotation 0 is eval's own QO request
        return [{"role": "user", "content": probe.prompt}]
    if instruction == "qo-system" and probe.kind.startswith("eval-"):  # eval's QO request given the filter's
        return [{"role": "system", "content": SYSTEM_PROMPT}, *request.messages]
    return None


def one_token(request, probe):
    from mmra.benchmark.vocabulary import CHOICE_LETTERS

    if probe.kind not in ("circular", "choices-only"):  # eval probes stay eval's exact request
        return request
    letters = CHOICE_LETTERS[:len(probe.shown)]
    grammar = "root ::= " + " | ".join(f'"{x}"' for x in letters)
    return replace(request, max_tokens=1, extra={**request.extra, "grammar": grammar})


def run_config(cfg: Config, samples, model: str, lcp_venv: Path, cache_dir: Path,
               kinds: tuple[str, ...] | None = None) -> dict:
    from mmra.benchmark.leakage.method import is_hit, score
    from mmra.benchmark.leakage.run import LeakageSettings, plan_probes
    from mmra.demo.run import DEMO_PROBES
    from mmra.llm.client import ChatClient
    from mmra.llm.server import LocalServers, ensure_server, running, stop_server_for

    # the demo's probe kinds by default; `--kinds` e.g. every kind `mmra leakage` asks by default
    settings = LeakageSettings(probes=kinds or DEMO_PROBES, choices_only="choices-only" in (kinds or ()))
    plan = plan_probes(samples, settings)
    probes, flat, chains = plan.probes, plan.flat, plan.indexes
    requests = [None] * len(flat)  # K = 1: one request per probe, in flat order (the plan's chains are in asking order)
    for chain, chain_requests in zip(chains, plan.chains, strict=True):
        for i, request in zip(chain, chain_requests, strict=True):
            requests[i] = request
    requests = [replace(r, messages=m) if (m := reworded(cfg.instruction, r, p)) else r
                for r, p in zip(requests, flat, strict=True)]
    if cfg.instruction == "eval":
        first = {p.sample_id: r.messages for r, p in zip(requests, flat, strict=True)
                 if p.kind == "circular" and p.variant == 0}
        same = sum(first.get(p.sample_id) == r.messages for r, p in zip(requests, flat, strict=True)
                   if p.kind == "eval-default")
        print(f"  circular rotation 0 identical to the eval request of {same} samples")
    if cfg.answers == "one-token":
        requests = [one_token(r, p) for r, p in zip(requests, flat, strict=True)]
    groups, pos = [], 0
    for s in samples:
        groups.append(list(range(pos, pos + len(probes[s.id]))))
        pos += len(probes[s.id])
    order = striped(groups, cfg.concurrency) if cfg.order == "striped" else list(range(len(requests)))

    servers = LocalServers(cache_dir=cache_dir, venv=lcp_venv, runtime=cfg.runtime, slots=cfg.slots,
                           port=0, default_model="")
    t0 = time.monotonic()
    if cfg.spin:  # an unset policy cannot be passed through ensure_server; libgomp reads "" as unset (and says so)
        os.environ["OMP_WAIT_POLICY"] = ""
    try:
        url = ensure_server(model, servers=servers)
    finally:
        if cfg.spin:
            del os.environ["OMP_WAIT_POLICY"]
    start_s = time.monotonic() - t0
    state = running(model, servers)
    pid, log = state.pid, Path(state.log)
    try:
        log_start = log.stat().st_size
        client = ChatClient(url, model, api_key="none", concurrency=cfg.concurrency, progress=False,
                            timeout_s=600)
        load_before, cpu0, t0 = load(), cpu_seconds(pid), time.monotonic()
        results = [None] * len(requests)
        if cfg.order in ("chains", "decided", "decided-bykind"):
            # decided-bykind: every chain of one probe kind before the next kind (a slot keeps its system prompt)
            sequence = sorted(range(len(chains)), key=lambda c: flat[chains[c][0]].kind) \
                if cfg.order == "decided-bykind" else list(range(len(chains)))
            decided = plan.decided if cfg.order != "chains" else None
            got_seq = client.run_chains([[requests[i] for i in chains[c]] for c in sequence],
                                        decided=(lambda c, res: decided(sequence[c], res)) if decided else None)
            answered = [None] * len(chains)
            for c, got in zip(sequence, got_seq, strict=True):
                answered[c] = got
            for chain, got in zip(chains, answered, strict=True):
                for i, r in zip(chain, got, strict=False):
                    results[i] = r
        else:
            # one request per chain: in flight in exactly this order, as `ChatClient.run` sent them before
            answered = client.run_chains([[requests[i]] for i in order])
            for i, (r,) in zip(order, answered, strict=True):
                results[i] = r
        wall = time.monotonic() - t0
        cpu = cpu_seconds(pid) - cpu0
        evaluated = evaluated_prompt_tokens(log, log_start)
        sent = [requests[i] for i, r in enumerate(results) if r is not None]
        floor = prompt_token_floor(url, sent) if cfg.runtime == "xllamacpp" else None
    finally:
        stop_server_for(model, servers)
    answers = [score(p, r.text, r.error) if r is not None else None for p, r in zip(flat, results, strict=True)]
    hits, pos = {}, 0
    for s in samples:
        mine = [(p, a) for p, a in zip(probes[s.id], answers[pos:pos + len(probes[s.id])], strict=True)
                if p.kind == "circular"]
        pos += len(probes[s.id])
        hits[s.id] = is_hit([a.correct for p, a in mine if a is not None], "all", len(mine))
    asked = [r for r in results if r is not None]
    errors = sum(r.error is not None for r in asked)
    return {
        "config": cfg.__dict__, "probes": len(requests), "sent": len(asked), "start_s": round(start_s, 1),
        "wall_s": round(wall, 1), "probes_per_s": round(len(requests) / wall, 3),
        "requests_per_s": round(len(asked) / wall, 3), "server_cpu_s": round(cpu, 1),
        "cpu_s_per_probe": round(cpu / len(requests), 3), "cpu_s_per_request": round(cpu / len(asked), 3),
        "prompt_tokens": sum(int(r.usage.get("prompt_tokens") or 0) for r in asked),
        "evaluated_prompt_tokens": evaluated, "prompt_token_floor": floor,
        "completion_tokens": sum(int(r.usage.get("completion_tokens") or 0) for r in asked),
        "errors": errors, "load_before": load_before, "load_after": load(),
        "answers": [a.answer if a else None for a in answers], "raw": [r.text if r else None for r in results],
        "hits": hits,
    }


def raw_speed(runtime: str, model: str, lcp_venv: Path, cache_dir: Path, n: int = 6) -> dict:
    """Prefill (unique prompts, 1 output token) and decode (40 tokens) speed, one request at a time: tokens per
    wall second and server CPU-milliseconds per token (the latter is steadier on a shared machine)."""
    from mmra.llm.client import ChatClient, ChatRequest
    from mmra.llm.server import LocalServers, ensure_server, running, stop_server_for

    servers = LocalServers(cache_dir=cache_dir, venv=lcp_venv, runtime=runtime, slots=1, port=0, default_model="")
    url = ensure_server(model, servers=servers)
    pid = running(model, servers).pid
    try:
        client = ChatClient(url, model, api_key="none", concurrency=1, progress=False, timeout_s=600)
        text = ("Here is a list of everyday objects and what people use them for: a spoon is used for eating soup, "
                "a hammer is used for driving nails, a kettle is used for boiling water, and a broom is used for "
                "sweeping floors. Which of these objects would you use in a kitchen? Answer briefly.")

        def timed(requests):
            c0, t0 = cpu_seconds(pid), time.monotonic()
            res = client.run(requests)
            return res, time.monotonic() - t0, cpu_seconds(pid) - c0

        la = load()
        res, pre_s, pre_cpu = timed([ChatRequest(messages=[{"role": "user", "content": f"[{uuid.uuid4().hex}] {text}"}],
                                                 max_tokens=1) for _ in range(n)])
        tokens = sum(r.usage.get("prompt_tokens", 0) for r in res)
        res_d, dec_s, dec_cpu = timed([ChatRequest(messages=[{"role": "user", "content": f"[{uuid.uuid4().hex}] Count "
                                                              "from 1 to 60, separated by commas."}], max_tokens=40)
                                       for _ in range(2)])
        gen = sum(r.usage.get("completion_tokens", 0) for r in res_d)
        prompt_d = sum(r.usage.get("prompt_tokens", 0) for r in res_d)
        # minus the decode requests' own (short) prefill, at the prefill rate just measured
        dec_s -= prompt_d * pre_s / tokens
        dec_cpu -= prompt_d * pre_cpu / tokens
        return {"runtime": runtime, "prefill_tokens_per_s": round(tokens / pre_s, 1),
                "prefill_cpu_ms_per_token": round(1000 * pre_cpu / tokens, 1),
                "decode_tokens_per_s": round(gen / max(dec_s, 1e-6), 1),
                "decode_cpu_ms_per_token": round(1000 * dec_cpu / max(gen, 1), 1), "load": f"{la} -> {load()}"}
    finally:
        stop_server_for(model, servers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT / "mmra-workspace/demo/annotation/samples.described.jsonl",
                        help="the samples the demo's leakage step probes (a demo workspace's annotation/)")
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--lcp-venv", type=Path, default=ROOT / ".venv-llm",
                        help="a venv with llama-cpp-python[server] (`make setup-llama-cpp-python`)")
    parser.add_argument("--benchmark", default=None,
                        help="probe a benchmark in its own file instead (read as `mmra audit` reads it; use --kinds)")
    parser.add_argument("--task-column", default=None, help="with --benchmark: as `mmra audit --task-column`")
    parser.add_argument("--limit", type=int, default=None, help="only the first N samples")
    parser.add_argument("--kinds", default=None,
                        help="probe kinds, comma-separated (default: the demo's circular,eval-default; `mmra leakage` "
                             "asks circular,eval-default,eval-paper,choices-only)")
    parser.add_argument("--configs", default="all", help="comma-separated config names (see CONFIGS) or 'all'")
    parser.add_argument("--repeat", type=int, default=1, help="run the chosen configurations N times, alternated")
    parser.add_argument("--no-raw", action="store_true", help="skip the prefill/decode micro-figures")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "llm-runtime")
    args = parser.parse_args()

    from mmra.benchmark.records import read_jsonl
    from mmra.benchmark.schema import Sample
    from mmra.llm.models import model_path

    if args.benchmark:
        from mmra.benchmark.audit.columns import ColumnFlags
        from mmra.benchmark.audit.run import AuditOptions, read_benchmark

        opts = AuditOptions(source=args.benchmark, out=args.out, columns=ColumnFlags(task=args.task_column))
        samples = read_benchmark(opts, print)[2][: args.limit]
    elif not args.samples.is_file():
        raise SystemExit(f"{args.samples}: no samples; run `mmra demo` first or pass --samples")
    else:
        samples = read_jsonl(args.samples, Sample)[: args.limit]
    chosen = CONFIGS if args.configs == "all" else [c for c in CONFIGS if c.name in args.configs.split(",")]
    have_lcp = (args.lcp_venv / "bin" / "python").exists()
    if not have_lcp:
        print(f"no llama-cpp-python venv at {args.lcp_venv}: its configurations are skipped")
        chosen = [c for c in chosen if c.runtime != "llama-cpp-python"]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        (cache_dir / "models").symlink_to(model_path(args.model).parent.resolve())  # the assembled, verified GGUFs
        figures = {"model": args.model, "samples": len(samples), "cpus": os.cpu_count(), "raw": [], "configs": []}
        if not args.no_raw:
            for _ in range(2):  # alternated, twice: the load of a shared machine drifts
                for runtime in (["llama-cpp-python"] if have_lcp else []) + ["xllamacpp"]:
                    row = raw_speed(runtime, args.model, args.lcp_venv, cache_dir)
                    figures["raw"].append(row)
                    print(f"{runtime:17s} prefill {row['prefill_tokens_per_s']:6.1f} tok/s "
                          f"{row['prefill_cpu_ms_per_token']:5.1f} CPU-ms/tok  decode {row['decode_tokens_per_s']:5.1f} "
                          f"tok/s {row['decode_cpu_ms_per_token']:6.1f} CPU-ms/tok  (load {row['load']})", flush=True)
        ref = None
        for cfg in chosen * args.repeat:
            row = run_config(cfg, samples, args.model, args.lcp_venv, cache_dir,
                             tuple(args.kinds.split(",")) if args.kinds else None)
            ref = ref or row
            # probes both configurations asked (a decided run leaves some unasked)
            same_answers = sum(a == b for a, b in zip(row["answers"], ref["answers"], strict=True)
                               if a is not None and b is not None)
            changed = sorted(k for k in row["hits"] if row["hits"][k] != ref["hits"][k])
            row.update(same_answers=same_answers, verdicts_changed=changed, hits_n=sum(row["hits"].values()))
            figures["configs"].append(row)
            print(f"{cfg.name:30s} {row['probes']} probes ({row['sent']} sent) {row['wall_s']:6.1f} s  "
                  f"{row['probes_per_s']:5.2f} probes/s  {row['requests_per_s']:5.2f} requests/s  "
                  f"server CPU {row['cpu_s_per_probe']:.3f} s/probe  prompt {row['prompt_tokens']} tok "
                  f"(computed {row['evaluated_prompt_tokens'] or '?'}, floor {row['prompt_token_floor'] or '?'}), completion "
                  f"{row['completion_tokens']} tok  answers same as first {same_answers}/{row['probes']}  circular "
                  f"hits {row['hits_n']} (changed {len(changed)})  errors {row['errors']}  load {row['load_before']} -> "
                  f"{row['load_after']}", flush=True)
    (args.out / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"figures: {args.out / 'figures.json'}")


if __name__ == "__main__":
    main()
