"""Fixtures shared by every test module: the embedded SmolLM2 server and its HF-folder export."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("WEAVER_TEST_CACHE", Path.home() / ".cache" / "weaver-toolkit-tests"))


@pytest.fixture(scope="session")
def smollm2_server():
    """A llama.cpp OpenAI-compatible server for SmolLM2-135M-Instruct on a free loopback port."""
    from toolkit.smollm2 import LlamaServer

    with LlamaServer(n_threads=2) as server:
        yield server


@pytest.fixture(scope="session")
def smollm2_hf_dir() -> Path:
    """SmolLM2-135M-Instruct dequantized from the GGUF into an HF folder (cached across runs)."""
    from toolkit.hf_export import export_smollm2_hf

    return export_smollm2_hf(CACHE / "smollm2-hf")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine, 2 spinning OpenMP threads run ~8x slower."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
