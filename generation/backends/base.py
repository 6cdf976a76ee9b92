"""The one small interface every generation backend implements.

A backend turns one chat request into ``n`` completions. It only declares policy (how to
build the payload, how to parse the reply, which errors are worth retrying); retries,
concurrency limits, usage accounting and failure recording live once in ``Client``
(generation/client.py), so each provider stays a screen of code.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = None
    # Number of top alternatives to return per generated token (None: no logprobs).
    top_logprobs: int | None = None
    stop: tuple[str, ...] = ()


@dataclass
class Completion:
    """One generated sample. ``text`` is None exactly when ``error`` says why."""

    text: str | None
    error: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Per generated token: {token_string: logprob} of the top alternatives (None if not asked).
    top_logprobs: list[dict[str, float]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.text is not None


class TransientError(RuntimeError):
    """Worth retrying: rate limit, 5xx, timeout, dropped connection, malformed reply."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(RuntimeError):
    """Not worth retrying: bad request, auth failure, prompt too long."""


class Backend(ABC):
    """One provider. ``agenerate`` returns exactly ``n`` completions or raises."""

    name: str = "backend"
    #: Whether a single request can return n>1 choices (else the Client sends n requests).
    supports_n: bool = True
    #: Concurrency the Client uses when the user does not set --concurrency.
    default_concurrency: int = 8

    @abstractmethod
    async def agenerate(self, messages: list[Message], params: SamplingParams, n: int = 1) -> list[Completion]:
        ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        return None

    def describe(self) -> dict[str, Any]:
        """What goes into the manifest: provider, model, endpoint (never a key)."""
        return {"backend": self.name}
