"""Multi-aspect reward models: one main score plus named aspect scores, all kept.

- ``armo_score`` (ArmoRM): remote code; main = ``.score`` (the gating network's mix of
  the objectives), aspects = ``.rewards`` named by ArmoRM's 19 objectives.
- ``qrm_expected`` (QRM): remote code; main = ``.score`` (expected reward), aspects = the
  reward quantiles (``.reward_quantiles``), named ``q0.05`` ... ``q0.95`` when there are 19.
- ``decision_tree_aspect`` (Decision-Tree RMs): a backbone plus a multi-output ``score``
  head pooled at the mask-derived last token; aspects named by ``spec.extra["aspects"]``
  (or the config's ``id2label``), main = ``spec.extra["primary_aspect"]`` (correctness).
"""
from __future__ import annotations

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, first_tensor, per_row

ARMO_OBJECTIVES = (
    "helpsteer-helpfulness", "helpsteer-correctness", "helpsteer-coherence", "helpsteer-complexity",
    "helpsteer-verbosity", "ultrafeedback-overall_score", "ultrafeedback-instruction_following",
    "ultrafeedback-truthfulness", "ultrafeedback-honesty", "ultrafeedback-helpfulness", "beavertails-is_safe",
    "prometheus-score", "argilla-overall_quality", "argilla-judge_lm", "code-complexity", "code-style",
    "code-explanation", "code-instruction-following", "code-readability",
)
QRM_QUANTILES = tuple(f"q{level / 100:.2f}" for level in range(5, 100, 5))


def aspect_names(count: int, declared, fallback) -> list[str]:
    """Names for ``count`` aspect values: declared ones, else a fallback of the right size, else aspect_i."""
    for names in (declared, fallback):
        if names and len(names) == count:
            return [str(n) for n in names]
    return [f"aspect_{i}" for i in range(count)]


class MultiAspectScorer(Scorer):
    family = "multi_aspect"
    readers = frozenset({"armo_score", "qrm_expected", "decision_tree_aspect"})

    @property
    def reader(self) -> str:
        return self.spec.score_reader

    def load_model(self):
        return self.load_auto(("AutoModelForSequenceClassification", "AutoModel"))

    def after_load(self) -> None:
        if self.reader == "decision_tree_aspect":
            count = getattr(self.model.config, "num_labels", 0)
            names = self.head_aspect_names(count)
            if self.primary_aspect not in names:
                raise ValueError(f"primary aspect {self.primary_aspect!r} is not among the head's aspects {names}")

    @property
    def primary_aspect(self) -> str:
        return str((self.spec.extra or {}).get("primary_aspect", "correctness"))

    def head_aspect_names(self, count: int) -> list[str]:
        id2label = getattr(self.model.config, "id2label", None) or {}
        from_config = [id2label[i] for i in sorted(id2label)] if id2label else None
        if from_config and all(str(n).startswith("LABEL_") for n in from_config):
            from_config = None  # transformers' placeholder names say nothing
        return aspect_names(count, (self.spec.extra or {}).get("aspects"), from_config)

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        if self.reader == "decision_tree_aspect":
            return self._read_head_aspects(batch, items)
        batch, output = self.forward_full(items)
        main = per_row(first_tensor(output, "score", "logits"), batch).tolist()
        if self.reader == "qrm_expected":
            vectors, fallback = getattr(output, "reward_quantiles", None), QRM_QUANTILES
        else:
            vectors, fallback = getattr(output, "rewards", None), ARMO_OBJECTIVES
        if vectors is None:
            return [ScoreResult(score=float(m)) for m in main]
        vectors = vectors.float().reshape(len(items), -1).tolist()
        names = aspect_names(len(vectors[0]), (self.spec.extra or {}).get("aspects"), fallback)
        return [ScoreResult(score=float(m), aspects=dict(zip(names, map(float, v)))) for m, v in zip(main, vectors)]

    def _read_head_aspects(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        parts = self.backbone_and_head("score")
        if parts is not None:
            backbone, head = parts
            logits = head(self.pooled_hidden(backbone, batch)).float()
        else:
            batch, output = self.forward_full(items)
            logits = first_tensor(output, "logits").float()
        rows = logits.reshape(len(items), -1).tolist()
        names = self.head_aspect_names(len(rows[0]))
        results = []
        for row in rows:
            aspects = dict(zip(names, map(float, row)))
            results.append(ScoreResult(score=aspects[self.primary_aspect], aspects=aspects))
        return results
