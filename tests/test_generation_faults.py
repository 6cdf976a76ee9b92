"""Fault injection through a loopback proxy in front of the real SmolLM2 server.

The proxy answers a share of calls with 429 + Retry-After, 500, a hang past the client's
timeout, a garbage 200 or a dropped connection, and forwards the rest. The run must end
with every sample present; with failures that outlast the retries, the run exits 1 with a
failures report, and the same command later fills them in.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from generation.config import GenerationConfig
from generation.generate import generate_samples
from toolkit.journal import read_journal

TOY = Path(__file__).resolve().parent.parent / "datasets" / "toy_math.jsonl"
SCHEDULE = ["ok", "429", "ok", "500", "garbage", "ok", "drop", "ok", "hang", "ok", "503"]


class FaultyProxy:
    def __init__(self, upstream: str, schedule: list[str], hang_s: float = 9.0):
        self.upstream = upstream.rstrip("/")
        self.counts: dict[str, int] = {}
        self._schedule = itertools.cycle(schedule)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                 **(headers or {})}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up first: nothing to tell it

            def _forward(self, method: str, body: bytes | None) -> None:
                r = httpx.request(method, proxy.upstream + self.path.removeprefix("/v1"), content=body,
                                  headers={"Content-Type": "application/json"}, timeout=120)
                self._reply(r.status_code, r.content)

            def do_GET(self):
                self._forward("GET", None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy._lock:
                    fault = next(proxy._schedule)
                    proxy.counts[fault] = proxy.counts.get(fault, 0) + 1
                if fault == "ok":
                    return self._forward("POST", body)
                if fault == "429":
                    return self._reply(429, b'{"error": "slow down"}', {"Retry-After": "1"})
                if fault in ("500", "503"):
                    return self._reply(int(fault), b'{"error": "upstream exploded"}')
                if fault == "garbage":
                    return self._reply(200, b"<html>this is not json")
                if fault == "hang":
                    time.sleep(proxy.hang_s)
                self.close_connection = True  # "drop" (and a hang that ends): no response at all

        self.hang_s = hang_s
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def proxy(smollm2_server):
    p = FaultyProxy(smollm2_server.base_url, SCHEDULE)
    yield p
    p.close()


def config(out: Path, base_url: str, **kw) -> GenerationConfig:
    settings = dict(model="smollm2", dataset=str(TOY), output_path=str(out), base_url=base_url, max_rows=6,
                    samples_per_instruction=2, temperature=0.0, max_new_tokens=8, concurrency=2,
                    # long enough for a real reply on a busy 2-core machine, shorter than a hang
                    request_timeout=8.0, max_retries=10)
    return GenerationConfig(**{**settings, **kw})


def test_faults_end_with_zero_lost_samples(proxy, tmp_path):
    report = generate_samples(config(tmp_path / "out.hf", proxy.base_url))
    assert report.failures == []
    samples = report.dataset["samples"]
    assert len(samples) == 6 and all(len(s) == 2 and all(isinstance(t, str) and t for t in s) for s in samples)
    assert all(proxy.counts.get(kind, 0) >= 1 for kind in set(SCHEDULE)), proxy.counts
    successes = [(r["id"], r["sample_index"]) for r in read_journal(tmp_path / "out.hf.progress" / "samples.jsonl")
                 if r["text"] is not None]
    assert sorted(successes) == sorted(set(successes)) and len(successes) == 12  # nothing twice, nothing lost
    assert not (tmp_path / "out.hf" / "failures.jsonl").exists()


def test_lasting_failures_exit_1_with_a_report_then_a_rerun_fills_them(smollm2_server, tmp_path, capsys):
    from generation.generate_reasoning_samples import main
    from toolkit.errors import run_cli

    always_down = FaultyProxy(smollm2_server.base_url, ["500"])
    out = tmp_path / "out.hf"
    args = ["--model", "smollm2", "--dataset", str(TOY), "--output_path", str(out), "--max_rows", "2",
            "--samples_per_instruction", "2", "--temperature", "0", "--max_new_tokens", "8",
            "--max_retries", "1", "--request_timeout", "5"]
    try:
        with pytest.raises(SystemExit) as exc:
            run_cli(main, args + ["--base_url", always_down.base_url])
    finally:
        always_down.close()
    assert exc.value.code == 1
    assert "4 of 4 samples FAILED" in capsys.readouterr().err
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert len(failures) == 4 and all("HTTP 500" in f["error"] and "gave up after 2" in f["error"] for f in failures)
    import datasets

    assert datasets.load_from_disk(str(out))["samples"] == [[None, None], [None, None]]

    with pytest.raises(SystemExit) as exc:
        run_cli(main, args + ["--base_url", smollm2_server.base_url])
    assert exc.value.code == 0 and not (out / "failures.jsonl").exists()
    assert all(t for row in datasets.load_from_disk(str(out))["samples"] for t in row)
