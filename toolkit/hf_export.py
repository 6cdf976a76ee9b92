"""Export the embedded GGUF model as a plain Hugging Face folder.

transformers can read the GGUF directly (dequantizing, ~17 s); a saved folder loads in ~1 s
and is what vLLM needs. Used by tests and by example runs; never committed.
"""
from __future__ import annotations

import fcntl
from pathlib import Path

from toolkit.smollm2 import gguf_path


def export_smollm2_hf(target: str | Path, task: str = "causal-lm") -> Path:
    """Write SmolLM2 as an HF folder at ``target`` (once; later calls return it)."""
    target = Path(target)
    done = target / ".complete"
    if done.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test workers may race to export
        if done.exists():
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = gguf_path()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                     torch_dtype=torch.float32)
        # The GGUF loader marks the model as quantized; a plain folder must not say so.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(target))
        tok.save_pretrained(str(target))
        done.touch()
    return target
