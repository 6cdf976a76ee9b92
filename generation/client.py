"""The one place where retries, concurrency, usage accounting and failure recording live.

Backends only say how to call a provider once; ``Client`` adds, for every provider alike:
- a concurrency limit (an asyncio semaphore held only while a call is in flight, not during backoff);
- retries with jittered exponential backoff (tenacity) on rate limits, 5xx, timeouts, dropped
  connections and malformed replies, waiting what ``Retry-After`` asks when the server says;
- fan-out of ``n>1`` into single requests (seed + j) for backends without ``n``, learned from the
  first reply for OpenAI-compatible servers (llama.cpp silently returns one choice);
- failures as data: a request that still fails yields Completions with ``text=None`` and the reason;
- usage (and cost, for priced API models).

Async work runs on one background event-loop thread, so the caller stays synchronous and
Ctrl-C lands in the main thread, between results, never in the middle of a journal write.
"""
from __future__ import annotations

import asyncio
import queue
import random
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

from generation.backends.base import Backend, Completion, Message, PermanentError, SamplingParams, TransientError
from generation.backends.http_errors import FatalBackendError
from toolkit.errors import InputError

PRICED_PROVIDERS = ("openai", "anthropic", "together")


@dataclass
class Request:
    messages: list[Message]
    params: SamplingParams = field(default_factory=SamplingParams)
    n: int = 1


def failed(reason: str, n: int) -> list[Completion]:
    from toolkit.secrets import redact_text

    reason = redact_text(reason)  # reasons are journaled and printed: no key or credentialed URL in them
    return [Completion(text=None, error=reason) for _ in range(n)]


class Client:
    def __init__(self, backend: Backend, concurrency: int | None = None, max_retries: int = 5,
                 request_timeout: float = 120.0, batch_size: int = 64, backoff_initial: float = 0.5,
                 backoff_max: float = 30.0, retry_after_max: float = 120.0):
        if concurrency is not None and concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        if max_retries < 0:
            raise InputError(f"max_retries must be 0 or more, got {max_retries}")
        self.backend = backend
        self.concurrency = concurrency or backend.default_concurrency
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        self.batch_size = max(1, batch_size)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._usage = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0, "retries": 0, "failures": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sem: asyncio.Semaphore | None = None
        self._probe_lock: asyncio.Lock | None = None

    # -- accounting ----------------------------------------------------------------
    @property
    def usage(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self._usage)
        if self.backend.name in PRICED_PROVIDERS:
            from generation.backends.pricing import cost_usd

            out["cost_usd"] = cost_usd(getattr(self.backend, "model", ""), out["prompt_tokens"],
                                       out["completion_tokens"])
        return out

    def _count(self, completions: list[Completion]) -> None:
        for c in completions:
            self._usage["prompt_tokens"] += c.prompt_tokens
            self._usage["completion_tokens"] += c.completion_tokens
            self._usage["failures"] += 0 if c.ok else 1

    # -- public API ----------------------------------------------------------------
    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        """Every request's completions, in input order; failures are Completions with text None."""
        results: list[list[Completion | None]] = [[None] * r.n for r in requests]
        for i, j, completion in self.stream(requests):
            results[i][j] = completion
        return results  # type: ignore[return-value]

    def stream(self, requests: Iterable[Request]) -> Iterator[tuple[int, int, Completion]]:
        """Yield ``(request index, choice index, completion)`` as each sample arrives."""
        if hasattr(self.backend, "generate_batch"):
            yield from self._stream_batched(iter(requests))
            return
        self._start_loop()
        assert self._loop is not None
        out: queue.Queue = queue.Queue()
        window = max(2 * self.concurrency, 8)  # bounded look-ahead: millions of rows never sit in memory
        inflight: dict[int, Any] = {}
        source = enumerate(requests)
        exhausted = False
        try:
            while True:
                while not exhausted and len(inflight) < window:
                    try:
                        index, request = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    future = asyncio.run_coroutine_threadsafe(self._run_request(index, request, out.put), self._loop)
                    future.add_done_callback(lambda f, i=index: out.put(("done", i, f)))
                    inflight[index] = future
                if not inflight:
                    return
                try:
                    item = out.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item[0] == "done":
                    future = inflight.pop(item[1])
                    if not future.cancelled() and future.exception() is not None:
                        exc = future.exception()
                        if isinstance(exc, FatalBackendError):
                            from toolkit.secrets import redact_text

                            raise InputError(redact_text(f"{self.backend.name} refused the request: {exc}")) from None
                        raise exc
                    continue
                yield item
        finally:
            for future in inflight.values():
                future.cancel()

    def close(self) -> None:
        if self._loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.backend.aclose(), self._loop).result(timeout=10)
            except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    # -- internals -----------------------------------------------------------------
    def _start_loop(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="generation-client", daemon=True)
        self._thread.start()

        async def make_primitives() -> None:
            self._sem = asyncio.Semaphore(self.concurrency)
            self._probe_lock = asyncio.Lock()

        asyncio.run_coroutine_threadsafe(make_primitives(), self._loop).result()

    async def _run_request(self, index: int, request: Request, emit: Callable) -> None:
        n, got = request.n, 0
        if n > 1 and self.backend.supports_n is not False:
            if self.backend.supports_n is None:
                assert self._probe_lock is not None
                async with self._probe_lock:  # the first multi-sample reply tells whether n works
                    completions = await self._call(request.messages, request.params, n)
                    if completions[0].ok and self.backend.supports_n is None:
                        self.backend.supports_n = len(completions) >= n
            else:
                completions = await self._call(request.messages, request.params, n)
            for j, completion in enumerate(completions[:n]):
                emit((index, j, completion))
            got = min(len(completions), n)
        if got < n:
            await asyncio.gather(*(self._single(index, j, request, emit) for j in range(got, n)))

    async def _single(self, index: int, j: int, request: Request, emit: Callable) -> None:
        # Sample j of a request with seed s gets seed s + j, exactly as if the server had honoured n.
        params = request.params if request.params.seed is None else replace(request.params,
                                                                            seed=request.params.seed + j)
        emit((index, j, (await self._call(request.messages, params, 1))[0]))

    async def _call(self, messages: list[Message], params: SamplingParams, n: int) -> list[Completion]:
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

        attempts = 0
        try:
            async for attempt in AsyncRetrying(stop=stop_after_attempt(self.max_retries + 1), wait=self._wait,
                                               retry=retry_if_exception_type(TransientError), reraise=True):
                with attempt:
                    attempts += 1
                    if attempts > 1:
                        self._usage["retries"] += 1
                    completions = await self._attempt(messages, params, n)
        except FatalBackendError:
            raise
        except TransientError as exc:
            completions = failed(f"{exc} (gave up after {attempts} attempts)", n)
        except PermanentError as exc:
            completions = failed(str(exc), n)
        except Exception as exc:  # noqa: BLE001 - one broken reply must not end the run
            completions = failed(f"{type(exc).__name__}: {exc}", n)
        else:
            self._usage["requests"] += 1
            if not completions:
                completions = failed("the backend returned no completions", n)
        self._count(completions)
        return completions

    async def _attempt(self, messages: list[Message], params: SamplingParams, n: int) -> list[Completion]:
        assert self._sem is not None
        async with self._sem:
            try:
                # Backstop for servers that trickle bytes forever (httpx times out per read).
                return await asyncio.wait_for(self.backend.agenerate(messages, params, n),
                                              self.request_timeout * 2 + 10)
            except asyncio.TimeoutError as exc:
                raise TransientError(f"no complete reply within {self.request_timeout * 2 + 10:.0f}s") from exc

    def _wait(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # the server said how long: wait that, plus a little spread
            return min(retry_after, self.retry_after_max) + random.uniform(0, self.backoff_initial)
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** (retry_state.attempt_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _stream_batched(self, requests: Iterator[Request]) -> Iterator[tuple[int, int, Completion]]:
        """In-process engines (vLLM) schedule a whole batch at once: hand them batch_size requests."""
        index = 0
        while True:
            chunk = [r for _, r in zip(range(self.batch_size), requests)]
            if not chunk:
                return
            try:
                results = self.backend.generate_batch([(r.messages, r.params, r.n) for r in chunk])
                self._usage["requests"] += len(chunk)
            except (KeyboardInterrupt, InputError):
                raise
            except Exception as exc:  # noqa: BLE001 - the batch fails as data; a rerun retries it
                results = [failed(f"{type(exc).__name__}: {exc}", r.n) for r in chunk]
            for r, completions in zip(chunk, results):
                completions = list(completions) + failed("the backend returned too few samples",
                                                         max(0, r.n - len(completions)))
                self._count(completions[:r.n])
                for j, completion in enumerate(completions[:r.n]):
                    yield index, j, completion
                index += 1


@contextmanager
def open_client(model: str, provider: str | None = None, base_url: str | None = None,
                concurrency: int | None = None, max_retries: int = 5, request_timeout: float = 120.0,
                api_key: str | None = None, batch_size: int = 64, **backend_options: Any) -> Iterator[Client]:
    """Open a backend (starting the embedded server or vLLM if needed) and yield a Client."""
    from generation.backends import open_backend

    backend = open_backend(model, provider, base_url, api_key, request_timeout, **backend_options)
    client = Client(backend, concurrency, max_retries, request_timeout, batch_size=batch_size)
    opener = getattr(backend, "open", None)
    try:
        if opener is not None:
            opener()
        yield client
    finally:
        client.close()
