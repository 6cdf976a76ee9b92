"""Resume: kill -9 and Ctrl-C mid-run, then the same command, give the uninterrupted result;
raising k adds only the missing samples; changed settings are refused.

Temperature 0, fixed seeds and concurrency 1 make SmolLM2's outputs deterministic, so
"same dataset" can be checked sample by sample. One more thing is needed for that: llama.cpp
reuses the previous request's prompt prefix and evaluates the rest in one batch, so logits
depend on what ran before (a resume changes that). A server with ``--n_batch 1`` evaluates
every token alone, making each reply independent of history.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from toolkit.journal import read_journal

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "generation" / "generate_reasoning_samples.py"
TOY = ROOT / "datasets" / "toy_math.jsonl"


@pytest.fixture(scope="module")
def history_free_server():
    from toolkit.smollm2 import free_port, gguf_path

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--host",
                             "127.0.0.1", "--port", str(port), "--n_threads", "2", "--model_alias", "smollm2",
                             "--n_batch", "1", "--n_ubatch", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    import httpx

    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "llama.cpp server did not start"
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield SimpleNamespace(base_url=base_url)
    proc.terminate()
    proc.wait(timeout=30)


def args_for(out: Path, base_url: str, k: int = 3, *extra: str, rows: int = 4) -> list[str]:
    return [sys.executable, str(CLI), "--model", "smollm2", "--base_url", base_url, "--dataset", str(TOY),
            "--output_path", str(out), "--max_rows", str(rows), "--samples_per_instruction", str(k),
            "--temperature", "0", "--seed", "1", "--max_new_tokens", "20", "--concurrency", "1", *extra]


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


def samples(out: Path) -> list[list[str | None]]:
    import datasets

    return datasets.load_from_disk(str(out))["samples"]


def journal_keys(out: Path) -> list[tuple[int, int]]:
    return [(r["id"], r["sample_index"]) for r in read_journal(Path(f"{out}.progress") / "samples.jsonl")
            if r["text"] is not None]


@pytest.fixture(scope="module")
def reference(history_free_server, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "ref.hf"
    done = run(args_for(out, history_free_server.base_url))
    assert done.returncode == 0, done.stderr
    return samples(out)


def interrupt_then_resume(out: Path, base_url: str, sig: int) -> subprocess.CompletedProcess:
    journal = Path(f"{out}.progress") / "samples.jsonl"
    proc = subprocess.Popen(args_for(out, base_url), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert not out.exists()  # nothing half-written at the output path
    made = len(journal_keys(out))
    assert 4 <= made < 12
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


def test_kill_9_then_resume_equals_an_uninterrupted_run(history_free_server, reference, tmp_path):
    out = tmp_path / "out.hf"
    killed = interrupt_then_resume(out, history_free_server.base_url, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    done = run(args_for(out, history_free_server.base_url))
    assert done.returncode == 0, done.stderr
    assert "from earlier runs" in done.stderr
    assert samples(out) == reference
    keys = journal_keys(out)
    assert len(keys) == len(set(keys)) == 12  # no duplicates, nothing lost


def test_ctrl_c_then_resume(history_free_server, reference, tmp_path):
    out = tmp_path / "out.hf"
    stopped = interrupt_then_resume(out, history_free_server.base_url, signal.SIGINT)
    assert stopped.returncode == 130 and "run the same command again" in stopped.stderr
    assert stopped.stderr.count("Traceback") == 0
    done = run(args_for(out, history_free_server.base_url))
    assert done.returncode == 0, done.stderr
    assert samples(out) == reference
    assert len(set(journal_keys(out))) == len(journal_keys(out)) == 12


def test_raising_k_keeps_samples_and_adds_only_missing(history_free_server, reference, tmp_path):
    out = tmp_path / "out.hf"
    assert run(args_for(out, history_free_server.base_url, 1)).returncode == 0
    first = samples(out)
    assert [len(s) for s in first] == [1] * 4
    done = run(args_for(out, history_free_server.base_url, 3))
    assert done.returncode == 0, done.stderr
    assert "4 from earlier runs, 8 attempted now" in done.stderr
    assert [s[:1] for s in samples(out)] == first and samples(out) == reference
    assert len(journal_keys(out)) == 12


def test_changed_settings_are_refused(history_free_server, tmp_path):
    out = tmp_path / "out.hf"
    assert run(args_for(out, history_free_server.base_url, 1, rows=1)).returncode == 0
    changed = run(args_for(out, history_free_server.base_url, 1, "--temperature", "0.5", rows=1))  # the last value wins
    assert changed.returncode == 2
    assert "temperature: was 0.0, now 0.5" in changed.stderr and changed.stderr.strip().count("\n") == 0
