"""OpenAI's hosted API, including the reasoning models' parameter quirks.

Reasoning models (o1, o3, o4-*, gpt-5*) reject ``temperature``/``top_p``/``logprobs`` and
take ``max_completion_tokens`` (which also counts hidden reasoning tokens); o1-mini and
o1-preview also refuse a system message, so it is folded into the first user message.
"""
from __future__ import annotations

import os
import re
from typing import Any

from generation.backends.base import Message, SamplingParams
from generation.backends.openai_compatible import OpenAICompatibleBackend
from toolkit.errors import InputError

OPENAI_BASE_URL = "https://api.openai.com/v1"
_REASONING = re.compile(r"^(o\d+(-|$)|gpt-5)", re.IGNORECASE)
_NO_SYSTEM_ROLE = re.compile(r"^o1-(mini|preview)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING.match(model))


def require_key(env_var: str, provider: str, api_key: str | None) -> str:
    key = api_key or os.environ.get(env_var)
    if not key:
        raise InputError(f"{provider} needs an API key: export {env_var}=... (none is set)")
    return key


class OpenAIBackend(OpenAICompatibleBackend):
    name = "openai"
    default_concurrency = 32
    supports_n = True

    def __init__(self, model: str, api_key: str | None = None, base_url: str | None = None,
                 request_timeout: float = 120.0):
        super().__init__(model, base_url or os.environ.get("OPENAI_BASE_URL", OPENAI_BASE_URL),
                         require_key("OPENAI_API_KEY", "the OpenAI provider", api_key),
                         request_timeout, check_reachable=False)

    def build_payload(self, messages: list[Message], params: SamplingParams, n: int) -> dict[str, Any]:
        payload = super().build_payload(messages, params, n)
        max_tokens = payload.pop("max_tokens")
        payload["max_completion_tokens"] = max_tokens
        if is_reasoning_model(self.model):
            for key in ("temperature", "top_p", "logprobs", "top_logprobs"):
                payload.pop(key, None)
            if _NO_SYSTEM_ROLE.match(self.model):
                payload["messages"] = fold_system_into_user(messages)
        return payload


def fold_system_into_user(messages: list[Message]) -> list[Message]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    return rest


class TogetherBackend(OpenAICompatibleBackend):
    """Together's endpoint is OpenAI-compatible and honours ``n``."""

    name = "together"
    default_concurrency = 32
    supports_n = True

    def __init__(self, model: str, api_key: str | None = None, base_url: str | None = None,
                 request_timeout: float = 120.0):
        super().__init__(model, base_url or "https://api.together.xyz/v1",
                         require_key("TOGETHER_API_KEY", "the Together provider", api_key),
                         request_timeout, check_reachable=False)
