"""Reward models with a custom head: remote code, InternLM2 ``get_score``, INF-ORM's MLP head, Qwen2.5-Math-RM.

One class; ``spec.score_reader`` picks the small hook that reads the score:

- ``logit`` / ``output_score`` (URM, remote code returning ``.logits`` / ``.score``): the
  model's own forward, padded with an id that occurs in no row (see ``Scorer.forward_full``).
- ``internlm2_get_score``: batched equivalent of InternLM2's ``get_score`` - chat template,
  then the model's reward token appended (kept through truncation); the remote forward reads
  the reward at the last attended token.
- ``inform_head``: INF-ORM ships its class only in its model card, so it is defined here (a
  backbone plus ``score = Linear-ReLU-Linear``) and pooled at the mask-derived last token.
- ``qwen_math_rm``: Qwen2.5-Math-RM remote code (backbone + ``score`` MLP), pooled by us,
  with the system prompt of its model card.
"""
from __future__ import annotations

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, first_tensor, per_row

QWEN_MATH_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def backbone_head_class(config, heads):
    """A PreTrainedModel subclass for ``config``'s architecture: its base model plus named heads.

    ``heads`` maps attribute name -> factory(config) (e.g. ``{"score": mlp2_head}``). Built at
    load time so one definition serves Llama, Qwen2, Gemma2...; the checkpoint's ``model.*``
    and head weights load by name, an unused ``lm_head`` is ignored.
    """
    from transformers import AutoModel, PreTrainedModel

    base_cls = AutoModel._model_mapping[type(config)]
    parent = next(c for c in base_cls.__mro__[1:] if issubclass(c, PreTrainedModel) and c is not PreTrainedModel)

    class BackboneWithHeads(parent):
        def __init__(self, config):
            super().__init__(config)
            setattr(self, self.base_model_prefix, base_cls(config))
            for name, make in heads.items():
                setattr(self, name, make(config))
            self.post_init()

    BackboneWithHeads.__name__ = f"{base_cls.__name__}WithHeads"
    return BackboneWithHeads


def mlp2_head(config):
    """INF-ORM's head: Linear(h, h) -> ReLU -> Linear(h, num_labels)."""
    from torch import nn

    hidden = config.hidden_size
    return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, config.num_labels))


class CustomHeadScorer(Scorer):
    family = "custom_head"
    readers = frozenset({"logit", "output_score", "internlm2_get_score", "inform_head", "qwen_math_rm"})

    @property
    def reader(self) -> str:
        return self.spec.score_reader

    @property
    def system_prompt(self) -> str | None:
        extra = self.spec.extra or {}
        if "system_prompt" in extra:
            return extra["system_prompt"]
        return QWEN_MATH_SYSTEM if self.reader == "qwen_math_rm" else None

    def load_model(self):
        if self.reader == "inform_head":
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(self.spec.hub_id, trust_remote_code=self.spec.trust_remote_code)
            model_cls = backbone_head_class(config, {"score": mlp2_head})
            return self.place(model_cls.from_pretrained(self.spec.hub_id, config=config, **self.pretrained_kwargs()))
        if self.reader == "internlm2_get_score":
            return self.load_auto(("AutoModel", "AutoModelForSequenceClassification"))
        return self.load_auto(("AutoModelForSequenceClassification", "AutoModel"))

    def after_load(self) -> None:
        if self.reader == "internlm2_get_score" and self.reward_token_id is None:
            raise ValueError("model has no reward_token_id (needed by internlm2_get_score)")

    @property
    def reward_token_id(self) -> int | None:
        value = getattr(self.model, "reward_token_id", None)
        if value is None:
            value = getattr(self.model.config, "reward_token_id", None)
        return None if value is None else int(value)

    def encode(self, prompt: str, response: str) -> Encoded:
        ids = self.tokenize(self.format_text(prompt, response))
        if self.reader == "internlm2_get_score":
            return self.fit(ids, suffix=[self.reward_token_id])
        return self.fit(ids)

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        if self.reader in ("inform_head", "qwen_math_rm"):
            parts = self.backbone_and_head("score")
            if parts is not None:
                backbone, head = parts
                values = head(self.pooled_hidden(backbone, batch))
                return [ScoreResult(score=float(v)) for v in per_row(values, batch).tolist()]
        batch, output = self.forward_full(items)
        names = ("score", "logits") if self.reader == "output_score" else ("logits", "score")
        values = first_tensor(output, *names)
        return [ScoreResult(score=float(v)) for v in per_row(values, batch).tolist()]
