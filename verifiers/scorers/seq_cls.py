"""Sequence-classification reward models (GRM, Skywork, OffsetBias, LDL, any local ``*ForSequenceClassification``).

The score is ``logits[0]`` of the classification head at the last real token. Where the
checkpoint is a backbone plus a ``score`` head (Llama, Qwen2, Gemma2, Mistral... in
transformers), we run the backbone and apply the head at the index computed from the
attention mask ourselves, so the answer is the same whatever the padding side and even when
pad == eos; other heads (encoders with a pooler) run the model's own forward.
"""
from __future__ import annotations

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, first_tensor, per_row


class SeqClsScorer(Scorer):
    family = "seq_cls"
    readers = frozenset({"logit"})

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        parts = self.backbone_and_head("score")
        if parts is not None:
            backbone, head = parts
            logits = head(self.pooled_hidden(backbone, batch))
        else:
            batch, output = self.forward_full(items)
            logits = first_tensor(output, "logits")
        return [ScoreResult(score=float(v)) for v in per_row(logits, batch).tolist()]
