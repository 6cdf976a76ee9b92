"""Process reward models read at a step-separator token (Qwen2.5-Math-PRM-7B / -72B).

The response is split into steps at blank lines (``split_steps``); the steps are joined by
the separator token (``spec.step_separator``, ``<extra_0>``) with one more after the last
step, inside the chat template with the model card's system prompt. The model emits two
logits per token; a step's score is ``softmax(logits)[1]`` (P(correct)) at its separator.
Any literal separator text inside the prompt or response is removed first, so separator
positions are exactly the step ends. ``score`` is the minimum step score (the usual PRM
aggregate); ``min_score``/``max_score``/``avg_score`` come with every result.
"""
from __future__ import annotations

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, first_tensor, split_steps
from verifiers.scorers.custom_head import QWEN_MATH_SYSTEM


def step_result(step_scores: list[float]) -> ScoreResult:
    return ScoreResult(score=min(step_scores), step_scores=step_scores)


class PrmStepScorer(Scorer):
    family = "prm_step"
    readers = frozenset({"prm_step_softmax"})
    truncation = "refuse"
    default_system_prompt = QWEN_MATH_SYSTEM

    @property
    def separator(self) -> str:
        return self.spec.step_separator or "<extra_0>"

    def load_model(self):
        return self.load_auto(("AutoModel", "AutoModelForTokenClassification"))

    def after_load(self) -> None:
        ids = self.tokenizer.encode(self.separator, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"step separator {self.separator!r} is not one token for this tokenizer ({ids})")
        self.separator_id = ids[0]

    def encode(self, prompt: str, response: str) -> Encoded:
        steps = [s.replace(self.separator, "") for s in split_steps(response)]
        steps = [s for s in steps if s.strip()]
        if not steps:
            raise ValueError("response has no steps (it is empty)")
        body = self.separator.join(steps) + self.separator
        encoded = self.fit(self.tokenize(self.format_text(prompt.replace(self.separator, ""), body)))
        positions = [i for i, t in enumerate(encoded.ids) if t == self.separator_id]
        if len(positions) != len(steps):
            raise ValueError(f"found {len(positions)} step separators for {len(steps)} steps")
        encoded.meta["separators"] = positions
        return encoded

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        import torch

        logits = first_tensor(self.model(**batch.model_inputs()), "logits").float()
        probs = torch.softmax(logits[..., :2], dim=-1)[..., 1].cpu()
        return [step_result([float(probs[row, start + p]) for p in item.meta["separators"]])
                for row, (start, item) in enumerate(zip(batch.starts, items))]
