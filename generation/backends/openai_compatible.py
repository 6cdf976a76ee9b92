"""Any server speaking OpenAI's ``/v1/chat/completions``: vLLM serve, SGLang, llama.cpp, TGI.

Subclasses (OpenAI, Together, the embedded SmolLM2 server) only change the payload and
the endpoint. Whether the server honours ``n>1`` is not assumed: the Client sends the
first multi-sample request as is and, if fewer choices come back (llama.cpp ignores ``n``),
marks the backend ``supports_n = False`` and sends single requests from then on.
"""
from __future__ import annotations

from typing import Any

from generation.backends.base import Backend, Completion, Message, SamplingParams, TransientError
from generation.backends.http_errors import post_json
from toolkit.errors import InputError


class OpenAICompatibleBackend(Backend):
    name = "openai_compatible"
    default_concurrency = 16
    supports_n: bool | None = None  # unknown until the first n>1 reply says

    def __init__(self, model: str, base_url: str, api_key: str | None = None,
                 request_timeout: float = 120.0, check_reachable: bool = True):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.request_timeout = request_timeout
        self.check_reachable = check_reachable
        self._http = None

    # -- lifecycle -----------------------------------------------------------------
    def open(self) -> None:
        """Fail up front, in one line, when the server cannot be reached at all."""
        if not self.check_reachable:
            return
        import httpx

        try:
            httpx.get(f"{self.base_url}/models", headers=self.headers(), timeout=10.0)
        except httpx.HTTPError as exc:
            from toolkit.secrets import redact_text

            raise InputError(redact_text(f"cannot reach the server at {self.base_url} ({type(exc).__name__}: "
                                         f"{exc}); is it running, and does --base_url end in /v1?")) from None

    def _client(self):
        if self._http is None:
            import httpx

            limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(self.request_timeout, connect=10.0),
                                           limits=limits)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- policy --------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def build_payload(self, messages: list[Message], params: SamplingParams, n: int) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "messages": messages,
                                   "temperature": params.temperature, "top_p": params.top_p,
                                   "max_tokens": params.max_tokens}
        if n != 1:
            payload["n"] = n
        if params.seed is not None:
            payload["seed"] = params.seed
        if params.stop:
            payload["stop"] = list(params.stop)
        if params.top_logprobs is not None:
            payload["logprobs"] = True
            payload["top_logprobs"] = params.top_logprobs
        return payload

    def parse_reply(self, data: dict[str, Any], n: int) -> list[Completion]:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise TransientError("malformed reply: no choices")
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_total = int(usage.get("completion_tokens") or 0)
        out = []
        for i, choice in enumerate(sorted(choices, key=lambda c: c.get("index", 0))[:n]):
            message = choice.get("message") or {}
            text = message.get("content")
            if not isinstance(text, str):
                raise TransientError("malformed reply: a choice has no text content")
            out.append(Completion(
                text=text, finish_reason=choice.get("finish_reason"),
                # The prompt is billed once per request; completion tokens are shared evenly
                # when the server only reports a total for several choices.
                prompt_tokens=prompt_tokens if i == 0 else 0,
                completion_tokens=completion_total // len(choices) + (i < completion_total % len(choices)),
                top_logprobs=_top_logprobs(choice.get("logprobs")),
            ))
        return out

    async def agenerate(self, messages: list[Message], params: SamplingParams, n: int = 1) -> list[Completion]:
        data = await post_json(self._client(), self.endpoint(), self.build_payload(messages, params, n),
                               self.headers())
        return self.parse_reply(data, n)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url,
                "supports_n": self.supports_n}


def _top_logprobs(logprobs: Any) -> list[dict[str, float]] | None:
    """OpenAI shape: {"content": [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None
    steps = []
    for entry in logprobs["content"]:
        alternatives = entry.get("top_logprobs") or [entry]
        steps.append({alt["token"]: float(alt["logprob"]) for alt in alternatives
                      if "token" in alt and alt.get("logprob") is not None})
    return steps
