"""``--model smollm2``: the embedded default, SmolLM2-135M-Instruct served by llama.cpp.

The toolkit starts llama-cpp-python's OpenAI-compatible server on a free loopback port
when the client opens and stops it when the client closes; nothing to install or run by hand.
llama.cpp ignores ``n``, so the Client sends one request per sample, back to back, and the
server's prefix cache serves the repeated prompt.
"""
from __future__ import annotations

import os

from generation.backends.openai_compatible import OpenAICompatibleBackend


class EmbeddedSmolLM2Backend(OpenAICompatibleBackend):
    name = "smollm2"
    supports_n = False
    # The server decodes one request at a time; a small queue keeps it busy without piling up.
    default_concurrency = 4

    def __init__(self, model: str = "smollm2", request_timeout: float = 120.0, n_threads: int | None = None,
                 log_dir: str | os.PathLike | None = None):
        super().__init__("smollm2", "http://127.0.0.1:0/v1", None, request_timeout, check_reachable=False)
        self.n_threads = n_threads or int(os.environ.get("WEAVER_SMOLLM2_THREADS", 0)) or None
        self.log_dir = log_dir  # the run's progress folder keeps the server log; None: a temporary one
        self._server = None

    def open(self) -> None:
        from toolkit.smollm2 import LlamaServer

        self._server = LlamaServer(n_threads=self.n_threads, log_dir=self.log_dir).start()
        self.base_url = self._server.base_url

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def describe(self) -> dict:
        from toolkit.smollm2 import GGUF_FILENAME

        return {"backend": self.name, "model": "SmolLM2-135M-Instruct", "weights": GGUF_FILENAME,
                "server": "llama-cpp-python"}
