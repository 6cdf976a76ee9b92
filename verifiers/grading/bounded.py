"""Run symbolic comparisons in plain subprocess workers, bounded in time and memory.

Why not SIGALRM: it only works in the main thread of the main interpreter, and sympy can
sit in C code or allocate gigabytes before any Python-level check runs. A separate process
can be killed from any thread and can carry an address-space limit (RLIMIT_AS), so one
pathological answer costs at most ``timeout`` seconds and ``memory_mb`` of memory.

Each worker is ``python -m verifiers.grading._worker`` speaking JSON lines over its pipes.
The pool is per process (a forked child builds its own) and safe to share between threads.
A worker that times out or dies is killed and replaced in the background.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

DEFAULT_MEMORY_MB = 2048
_STARTUP_TIMEOUT_S = 60.0
_REPO_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerTimeout(Exception):
    """The comparison did not finish in time; its worker was killed."""


class WorkerCrashed(Exception):
    """The worker died (e.g. memory limit) before answering; it was replaced."""


class _Worker:
    def __init__(self, memory_mb: int):
        env = dict(os.environ)
        env["PYTHONPATH"] = _REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "verifiers.grading._worker", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self.buf = b""
        self.fd = self.proc.stdout.fileno()
        ready = self._read_line(time.monotonic() + _STARTUP_TIMEOUT_S)
        if ready is None or json.loads(ready).get("ready") is not True:
            self.kill()
            raise WorkerCrashed("worker failed to start")

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([self.fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise WorkerCrashed("worker exited")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def call(self, payload: dict, timeout: float) -> dict:
        try:
            self.proc.stdin.write(json.dumps(payload).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed("worker pipe closed") from exc
        line = self._read_line(time.monotonic() + timeout)
        if line is None:
            raise WorkerTimeout(f"no answer within {timeout:g}s")
        return json.loads(line)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    @property
    def pid(self) -> int:
        return self.proc.pid


class WorkerPool:
    """Up to ``size`` warm workers; callers block until one is free."""

    def __init__(self, size: int | None = None, memory_mb: int = DEFAULT_MEMORY_MB):
        self.size = size or max(1, min(4, os.cpu_count() or 1))
        self.memory_mb = memory_mb
        self.owner_pid = os.getpid()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._count = 0
        self.kills = 0

    def _acquire(self) -> _Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                spawn = self._count < self.size
                if spawn:
                    self._count += 1
            if spawn:
                try:
                    return _Worker(self.memory_mb)
                except BaseException:
                    with self._lock:
                        self._count -= 1
                    raise
            try:
                return self._idle.get(timeout=1.0)
            except queue.Empty:
                continue

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._count -= 1
            self.kills += 1
        threading.Thread(target=self._prewarm, daemon=True).start()

    def _prewarm(self) -> None:
        """Replace a killed worker now so the next caller does not pay the start-up."""
        with self._lock:
            if self._count >= self.size:
                return
            self._count += 1
        try:
            self._idle.put(_Worker(self.memory_mb))
        except Exception:
            with self._lock:
                self._count -= 1

    def call(self, payload: dict, timeout: float) -> dict:
        worker = self._acquire()
        try:
            result = worker.call(payload, timeout)
        except (WorkerTimeout, WorkerCrashed):
            self._discard(worker)
            raise
        except BaseException:
            self._discard(worker)
            raise
        self._idle.put(worker)
        return result

    def worker_pids(self) -> list[int]:
        return [w.pid for w in list(self._idle.queue)]

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break
        with self._lock:
            self._count = 0


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> WorkerPool:
    """This process's pool (a forked child gets a fresh one, never its parent's pipes)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.owner_pid != os.getpid():
            _POOL = WorkerPool()
        return _POOL


@atexit.register
def _shutdown() -> None:
    if _POOL is not None and _POOL.owner_pid == os.getpid():
        _POOL.close()


def compare_bounded(gold: str, pred: str, timeout: float, gold_percent: bool = False,
                    pred_percent: bool = False, degrees: bool = False, places: int = 6,
                    parameters: tuple[str, ...] = ()) -> tuple[bool | None, str, str]:
    """(verdict, status, detail) of one symbolic comparison run in a worker."""
    payload = {"gold": gold, "pred": pred, "gold_percent": gold_percent, "pred_percent": pred_percent,
               "degrees": degrees, "places": places, "parameters": list(parameters)}
    try:
        reply = get_pool().call(payload, timeout)
    except WorkerTimeout as exc:
        return None, "timeout", str(exc)
    except WorkerCrashed as exc:
        return None, "parse_error", f"worker crashed: {exc}"
    if "error" in reply:
        return None, "parse_error", reply["error"]
    verdict = reply["verdict"]
    return verdict, "ok" if verdict is not None else "undecided", reply.get("detail", "")
