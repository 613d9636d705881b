"""Entry point of the `xllamacpp` runtime (llama.cpp's own C++ server, from a prebuilt PyPI wheel; no compile):
`python xllamacpp_main.py --model GGUF --port N --alias NAME [...]` serves the OpenAI API on 127.0.0.1 until
SIGTERM/SIGINT. It imports only xllamacpp and the standard library, so any interpreter with xllamacpp runs it.

Settings that matter here (see benches/bench_llm_runtime.py for the figures):
- `--parallel N` slots with continuous batching: N requests are decoded together; each slot has `--ctx` tokens.
- prompt caching is on (llama.cpp's default): a request reuses the KV cache of the longest common prefix, so
  the option rotations of one question pay only for their differing tail.
- no warm-up pass, no web UI, no model downloads, and no cross-origin access for browsers (CORS "*" would let
  any web page the user opens talk to the loopback server).
- `--no-extra-bufts`: load without ggml's extra CPU buffer types (weight repacking, AMX tiles); some VMs
  advertise AMX whose tile state is not usable (see llama_server_main.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="llama.cpp server (xllamacpp) for one GGUF model")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True, help="the model name the API serves")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048, help="context tokens per slot")
    parser.add_argument("--parallel", type=int, default=1, help="parallel slots (continuous batching)")
    parser.add_argument("--chat-template", default=None, help="a built-in llama.cpp template name (no Jinja)")
    parser.add_argument("--no-extra-bufts", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _args(argv)
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = args.ctx * args.parallel  # split evenly over the slots
    params.cont_batching = True
    params.cache_prompt = True
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.warmup = False  # a warm-up decode costs seconds at start and buys nothing here
    params.ui = False
    params.offline = True
    params.endpoint_slots = False
    params.cors_origins = f"http://{args.host}:{args.port}"  # only the server's own origin
    params.cors_origins_explicit = True
    params.no_extra_bufts = args.no_extra_bufts
    if args.chat_template:
        params.use_jinja = False  # a template *name* under Jinja is read as a literal template
        params.chat_template = args.chat_template

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xlc.Server(params)  # loads the model and starts serving on background threads
    print(f"serving {args.alias} at {server.listening_address}", flush=True)
    while not stop.wait(3600):
        pass
    del server  # stops the main loop and frees the model
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
