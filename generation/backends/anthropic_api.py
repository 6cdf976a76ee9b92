"""Anthropic's Messages API over plain HTTP (no SDK).

Differences from OpenAI: the system prompt is a top-level ``system`` field, there is no
``n`` (the Client sends k requests), no seed, ``max_tokens`` is required, and newer models
refuse ``temperature`` and ``top_p`` together: temperature wins, and ``top_p`` is sent (alone)
only when temperature is left at Anthropic's default of 1.0.
"""
from __future__ import annotations

from typing import Any

from generation.backends.base import Completion, Message, SamplingParams, TransientError
from generation.backends.http_errors import post_json
from generation.backends.openai_api import require_key
from generation.backends.openai_compatible import OpenAICompatibleBackend

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicBackend(OpenAICompatibleBackend):
    name = "anthropic"
    default_concurrency = 16
    supports_n = False

    def __init__(self, model: str, api_key: str | None = None, base_url: str | None = None,
                 request_timeout: float = 120.0):
        super().__init__(model, base_url or "https://api.anthropic.com/v1",
                         require_key("ANTHROPIC_API_KEY", "the Anthropic provider", api_key),
                         request_timeout, check_reachable=False)

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key or "", "anthropic-version": ANTHROPIC_VERSION}

    def endpoint(self) -> str:
        return f"{self.base_url}/messages"

    def build_payload(self, messages: list[Message], params: SamplingParams, n: int) -> dict[str, Any]:
        if n != 1:
            raise ValueError("Anthropic has no n: the Client must send single requests")
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        payload: dict[str, Any] = {
            "model": self.model, "max_tokens": params.max_tokens, "temperature": params.temperature,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"],
        }
        if system:
            payload["system"] = system
        if params.top_p < 1.0 and params.temperature == 1.0:
            payload["top_p"] = params.top_p
            payload.pop("temperature")
        if params.stop:
            payload["stop_sequences"] = list(params.stop)
        return payload

    def parse_reply(self, data: dict[str, Any], n: int) -> list[Completion]:
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise TransientError("malformed reply: no content blocks")
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = data.get("usage") or {}
        return [Completion(text=text, finish_reason=data.get("stop_reason"),
                           prompt_tokens=int(usage.get("input_tokens") or 0),
                           completion_tokens=int(usage.get("output_tokens") or 0))]

    async def agenerate(self, messages: list[Message], params: SamplingParams, n: int = 1) -> list[Completion]:
        data = await post_json(self._client(), self.endpoint(), self.build_payload(messages, params, 1),
                               self.headers())
        return self.parse_reply(data, 1)
