"""Turning HTTP outcomes into the two error kinds the Client understands.

Shared by every HTTP backend so that "what is worth retrying" is decided in one place:
rate limits (429), overload (408/409/5xx/529), timeouts, dropped connections and replies
that are not the JSON we expect are transient; everything else is permanent.
"""
from __future__ import annotations

import email.utils
import time
from typing import Any

from generation.backends.base import PermanentError, TransientError
from toolkit.secrets import redact_text

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
#: Statuses that will fail every request of the run the same way (bad key, unknown model).
FATAL_STATUS = {401, 403, 404}


class FatalBackendError(PermanentError):
    """A permanent error that every later request would hit too: the run stops up front."""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _short_body(response: Any) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - the body is only context for the message
        return ""
    return " ".join(text.split())[:300]


def raise_for_status(response: Any, endpoint: str) -> None:
    code = response.status_code
    if code < 400:
        return
    detail = redact_text(f"HTTP {code} from {endpoint}: {_short_body(response)}".rstrip(": "))
    if code in RETRYABLE_STATUS or code >= 500:
        raise TransientError(detail, retry_after=parse_retry_after(response.headers))
    if code in FATAL_STATUS:
        raise FatalBackendError(detail)
    raise PermanentError(detail)


def decode_json(response: Any, endpoint: str) -> dict:
    """A 200 whose body is not a JSON object is a broken proxy or a cut stream: retry it."""
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientError(redact_text(f"malformed reply from {endpoint}: {_short_body(response)[:120]!r}")) from exc
    if not isinstance(data, dict):
        raise TransientError(redact_text(f"malformed reply from {endpoint}: expected a JSON object"))
    return data


async def post_json(http: Any, url: str, payload: dict, headers: dict[str, str]) -> dict:
    """POST and decode, mapping transport failures (timeouts, resets) to TransientError."""
    import httpx

    try:
        response = await http.post(url, json=payload, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientError(redact_text(f"timeout talking to {url} ({type(exc).__name__})")) from exc
    except httpx.TransportError as exc:  # connect errors, dropped connections, protocol errors
        raise TransientError(redact_text(f"connection problem with {url}: {type(exc).__name__}: {exc}")) from exc
    raise_for_status(response, url)
    return decode_json(response, url)
