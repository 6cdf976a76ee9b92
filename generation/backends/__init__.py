"""Generation backends, one registry entry per provider, imported only when asked for.

``infer_provider`` picks the provider from the model name where that is unambiguous
(``gpt-4o`` is OpenAI, ``claude-*`` is Anthropic, ``...-Turbo`` is Together, a local folder
or an ``org/name`` hub id runs in vLLM); ``--provider`` overrides it.
"""
from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import InputError
from toolkit.registry import Registry


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    target: str  # "module:Class", imported lazily
    env_key: str | None  # API key variable, for messages and dry runs
    description: str

    def load(self):
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)


PROVIDERS: Registry[ProviderSpec] = Registry("provider")
for _spec in (
    ProviderSpec("openai", "generation.backends.openai_api:OpenAIBackend", "OPENAI_API_KEY",
                 "OpenAI API (gpt-4o, o1/o3/o4 reasoning models, gpt-5)"),
    ProviderSpec("anthropic", "generation.backends.anthropic_api:AnthropicBackend", "ANTHROPIC_API_KEY",
                 "Anthropic Messages API (claude-*)"),
    ProviderSpec("together", "generation.backends.openai_api:TogetherBackend", "TOGETHER_API_KEY",
                 "Together AI (OpenAI-compatible)"),
    ProviderSpec("openai_compatible", "generation.backends.openai_compatible:OpenAICompatibleBackend", None,
                 "any OpenAI-compatible server at --base_url (vLLM serve, SGLang, llama.cpp)"),
    ProviderSpec("vllm", "generation.backends.vllm_inprocess:VLLMBackend", None,
                 "vLLM in this process (local folder or hub id)"),
    ProviderSpec("smollm2", "generation.backends.embedded:EmbeddedSmolLM2Backend", None,
                 "the embedded SmolLM2-135M-Instruct on a local llama.cpp server"),
):
    PROVIDERS.register(_spec.name, _spec)

_OPENAI = re.compile(r"^(gpt-|chatgpt-|o\d+(-|$)|text-davinci)", re.IGNORECASE)
_TOGETHER_SUFFIX = re.compile(r"-Turbo(-128K)?$|-Lite$", re.IGNORECASE)
_TOGETHER_NAMES = {"deepseek-ai/deepseek-r1", "deepseek-ai/deepseek-v3"}


def infer_provider(model: str, base_url: str | None = None) -> str:
    if base_url:
        return "openai_compatible"
    if model.lower() == "smollm2":
        return "smollm2"
    if _OPENAI.match(model):
        return "openai"
    if model.lower().startswith("claude"):
        return "anthropic"
    if "/" in model and (_TOGETHER_SUFFIX.search(model) or model.lower() in _TOGETHER_NAMES):
        return "together"
    if Path(model).expanduser().is_dir() or re.fullmatch(r"[\w.-]+/[\w.-]+", model):
        return "vllm"
    raise InputError(f"cannot tell which provider serves model {model!r}: pass --provider "
                     f"({', '.join(PROVIDERS.names())}) or --base_url for an OpenAI-compatible server")


def resolve_provider(model: str, provider: str | None, base_url: str | None) -> str:
    if provider:
        name = PROVIDERS.get(provider).name  # unknown names raise with suggestions
        if base_url and name in ("vllm", "smollm2", "anthropic"):
            raise InputError(f"--base_url does not apply to provider {name!r}")
        return name
    return infer_provider(model, base_url)


def check_credentials(provider: str, api_key: str | None = None) -> None:
    """Fail before any work when the provider's API key is missing."""
    env_key = PROVIDERS.get(provider).env_key
    if env_key and not (api_key or os.environ.get(env_key)):
        raise InputError(f"provider {provider} needs an API key: export {env_key}=... (none is set)")


def open_backend(model: str, provider: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, request_timeout: float = 120.0, **options):
    """Build the backend (cheap, checks keys); the caller calls ``open()`` to start it."""
    name = resolve_provider(model, provider, base_url)
    cls = PROVIDERS.get(name).load()
    if name == "vllm":
        if not model:
            raise InputError("--model must name a model folder or hub id for the vllm provider")
        return cls(model, **{k: v for k, v in options.items() if v is not None and k != "log_dir"})
    if name == "smollm2":
        return cls(model, request_timeout=request_timeout, log_dir=options.get("log_dir"))
    if name == "openai_compatible":
        if not base_url:
            raise InputError("provider openai_compatible needs --base_url (e.g. http://127.0.0.1:8000/v1)")
        key = api_key or os.environ.get("OPENAI_COMPATIBLE_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return cls(model, base_url, key, request_timeout)
    return cls(model, api_key=api_key, base_url=base_url, request_timeout=request_timeout)
