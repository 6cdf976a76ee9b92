"""List prices (USD per million tokens: input, output) for cost reports.

Prices change; these are the public list prices at the time of writing and only feed an
estimate printed in the summary and stored in the manifest. Unknown models report no cost.
"""
from __future__ import annotations

# Longest matching prefix wins, so "gpt-4o-mini" is not priced as "gpt-4o".
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4-turbo": (10.00, 30.00),
    "gpt-4.1-nano": (0.10, 0.40), "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40), "gpt-5-mini": (0.25, 2.00), "gpt-5": (1.25, 10.00),
    "o1-mini": (1.10, 4.40), "o1": (15.00, 60.00), "o3-mini": (1.10, 4.40), "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-haiku": (0.80, 4.00), "claude-3-5-sonnet": (3.00, 15.00), "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00), "claude-opus-4": (15.00, 75.00), "claude-haiku-4": (1.00, 5.00),
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": (0.18, 0.18),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo": (0.88, 0.88),
    "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo": (3.50, 3.50),
    "deepseek-ai/DeepSeek-R1": (3.00, 7.00),
}


def price_for(model: str) -> tuple[float, float] | None:
    matches = [p for p in PRICES_PER_MTOK if model.lower().startswith(p.lower())]
    return PRICES_PER_MTOK[max(matches, key=len)] if matches else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6, 6)
