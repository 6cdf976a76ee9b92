"""Keep credentials out of everything the toolkit writes or prints.

``redact(value)`` walks dicts, lists and tuples and masks, in every string it finds:
- credentials in URLs: ``http://user:key@host/v1`` -> ``http://***@host/v1``, and query
  parameters named like a key (``?api_key=...``, ``&token=...``, ``key=``, ``secret=``, ...);
- the values of secret environment variables that are set now (``OPENAI_API_KEY``,
  ``ANTHROPIC_API_KEY``, ``TOGETHER_API_KEY``, ``HF_TOKEN``, ``HUGGING_FACE_HUB_TOKEN`` and any
  variable whose name ends in ``_API_KEY``, ``_TOKEN`` or ``_SECRET``; values of 8+ characters);
- strings shaped like provider keys (``sk-...``, ``sk-ant-...``, ``hf_...``) and ``Bearer`` tokens;
- the whole value of a dict entry whose key names a secret (``api_key``, ``password``, ...).

Manifests, ``identity.json`` and error messages from servers pass through it; it is cheap
enough for that (a few regular expressions per string) and never raises.
"""
from __future__ import annotations

import os
import re
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 8
SECRET_ENV_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHER_API_KEY", "HF_TOKEN",
                    "HUGGING_FACE_HUB_TOKEN", "OPENAI_COMPATIBLE_API_KEY")
SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")

# scheme://userinfo@host : userinfo is everything up to the first @ before any / ? # or space.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]+)@")
# ?api_key=... &token=... ;key=... (names ending in key/token/secret/password/signature)
_QUERY_SECRET = re.compile(
    r"(?P<lead>[?&;](?:[A-Za-z0-9_.-]*?)(?:key|token|secret|password|passwd|signature|sig))=(?P<value>[^&#;\s\"'<>]+)",
    re.IGNORECASE)
_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-ant-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,})")
_BEARER = re.compile(r"(?P<lead>\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_SECRET_KEY_NAME = re.compile(
    r"^(?:.*[_-])?(?:api[_-]?key|apikey|secret|client[_-]?secret|password|passwd|access[_-]?token|auth[_-]?token|"
    r"api[_-]?token|hf[_-]?token|bearer[_-]?token)$|^(?:token|authorization)$", re.IGNORECASE)


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_ENV_NAMES or upper.endswith(SECRET_ENV_SUFFIXES)


def secret_env_values(environ: Any = None) -> list[str]:
    """Values of the secret environment variables set now, longest first (8+ characters only)."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if v and len(v) >= MIN_SECRET_LENGTH and is_secret_env_name(k)}
    return sorted(values, key=len, reverse=True)


def redact_text(text: str, env_values: list[str] | None = None) -> str:
    """``text`` with every credential this module recognises replaced by ``***``."""
    if not text:
        return text
    for value in secret_env_values() if env_values is None else env_values:
        if value in text:
            text = text.replace(value, MASK)
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: f"{m.group('lead')}={MASK}", text)
    text = _KEY_SHAPES.sub(MASK, text)
    return _BEARER.sub(lambda m: f"{m.group('lead')}{MASK}", text)


def redact(value: Any, _env: list[str] | None = None) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, strings; anything else as is) without secrets."""
    env = secret_env_values() if _env is None else _env
    if isinstance(value, str):
        return redact_text(value, env)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and isinstance(v, str) and v and _SECRET_KEY_NAME.match(k):
                out[k] = MASK
            else:
                out[k] = redact(v, env)
        return out
    if isinstance(value, list):
        return [redact(v, env) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v, env) for v in value)
    return value
