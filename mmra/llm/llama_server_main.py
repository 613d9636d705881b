"""Entry point run by the `.venv-llm` interpreter (it cannot import mmra): `python llama_server_main.py ARGS`
behaves like `python -m llama_cpp.server ARGS`, except that with MMRA_LLAMA_EXTRA_BUFTS=0 the model loads
without ggml's extra CPU buffer types (weight repacking, AMX tiles).

Why: in some VMs (Firecracker here) the CPU advertises AMX but the tile state is not usable, and ggml's AMX
matmul dies with a general-protection fault (`ldtilecfg`) on the first multi-token prompt.
"""

import os
import runpy

if os.environ.get("MMRA_LLAMA_EXTRA_BUFTS", "1") == "0":
    import llama_cpp
    import llama_cpp.llama as _llama

    _default_params = llama_cpp.llama_model_default_params

    def _params_without_extra_bufts():
        params = _default_params()
        params.use_extra_bufts = False
        return params

    _llama.llama_cpp.llama_model_default_params = _params_without_extra_bufts

runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
