"""Model scorers: a verifier spec -> ``Scorer.score(prompts, responses) -> list[ScoreResult]``.

One class per family (judges live elsewhere), picked by ``spec.family``; classes are
registered as ``"module:Class"`` strings so importing this package imports no torch.

    scorer = load_scorer(spec, device="cuda", batch_size=8)
    results = scorer.score(prompts, responses)         # one result per pair, input order
    results = scorer.score_group(problem, samples)     # GPM needs a problem's samples together
    scorer.close()

``load_scorer`` does not load weights: the first ``score`` (or ``scorer.load()``, which
raises ``ScorerLoadError``) does. A model that cannot load makes ``score`` return results
with ``score=None`` and ``error="model failed to load: ..."``, so a run records the reason
and goes on with its other verifiers.
"""
from __future__ import annotations

import importlib

from toolkit.errors import InputError
from toolkit.registry import Registry
from verifiers.scorers.base import ScoreResult, Scorer, ScorerLoadError, split_steps

__all__ = ["SCORERS", "ScoreResult", "Scorer", "ScorerLoadError", "load_scorer", "scorer_class", "split_steps"]

SCORERS: Registry[str] = Registry("scorer family", case_insensitive=False)
SCORERS.register("seq_cls", "verifiers.scorers.seq_cls:SeqClsScorer")
SCORERS.register("custom_head", "verifiers.scorers.custom_head:CustomHeadScorer")
SCORERS.register("multi_aspect", "verifiers.scorers.multi_aspect:MultiAspectScorer")
SCORERS.register("preference_gpm", "verifiers.scorers.gpm:GPMScorer")
SCORERS.register("prm_step", "verifiers.scorers.prm_step:PrmStepScorer")
SCORERS.register("prm_implicit", "verifiers.scorers.prm_implicit:PrmImplicitScorer")


def scorer_class(family: str) -> type[Scorer]:
    if family not in SCORERS:
        raise InputError(f"no model scorer for family {family!r} (judges are run by verifiers.judges); "
                         f"scorer families: {', '.join(SCORERS.names())}")
    module, _, attr = SCORERS.get(family).partition(":")
    return getattr(importlib.import_module(module), attr)


def load_scorer(spec, device: str = "cpu", batch_size: int = 4, dtype: str | None = None) -> Scorer:
    """The scorer for ``spec`` (weights load lazily). ``device``: "cpu", "cuda", "cuda:N" or "auto"
    (shard over this worker's visible GPUs); ``dtype`` defaults to the spec's on GPU, float32 on CPU."""
    return scorer_class(spec.family)(spec, device=device, batch_size=batch_size, dtype=dtype)
