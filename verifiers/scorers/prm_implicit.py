"""Implicit process reward models (EurusPRM / PRIME): log-ratio against a reference model.

For each response token t: ``r_t = beta * (log pi(x_t | x_<t) - log pi_ref(x_t | x_<t))``
(``beta = spec.extra["beta"]``, 0.001 for EurusPRM). A step's score is the cumulative sum of
``r_t`` from the first response token through the step's last token, as in PRIME's
implicit PRM. Steps are split at blank lines (``split_steps``) and re-joined with
``spec.step_separator`` (``\\n\\n``) inside the chat template; step ends are found through the
tokenizer's character offsets, so tokens that straddle a step boundary are handled.
Log-probabilities are computed chunk by chunk from the last hidden states, so the full
[batch, tokens, vocab] tensor never exists at once. Too-long inputs are refused, not cut.
"""
from __future__ import annotations

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, split_steps
from verifiers.scorers.prm_step import step_result

_LOGIT_BUDGET = 64 * 2**20  # float32 logits per chunk (elements), bounds memory with big vocabularies


def token_logprobs(model, batch: Batch):
    """[B, T] with ``out[:, t] = log p(x_t | x_<t)`` for t >= 1 (0 at t = 0)."""
    import torch

    backbone = getattr(model, getattr(model, "base_model_prefix", ""), None)
    lm_head = model.get_output_embeddings()
    if backbone is None or backbone is model or lm_head is None:
        logits_all = model(**batch.model_inputs()).logits
        hidden, project = logits_all, (lambda h: h)
    else:
        out = backbone(**batch.model_inputs())
        hidden, project = out.last_hidden_state, lm_head
    softcap = getattr(model.config, "final_logit_softcapping", None)
    ids = batch.input_ids
    rows, width = ids.shape
    result = torch.zeros((rows, width), dtype=torch.float32, device=ids.device)
    vocab = getattr(model.config, "vocab_size", None) or 32000
    step = max(1, _LOGIT_BUDGET // max(1, rows * vocab))
    for begin in range(0, width - 1, step):
        end = min(width - 1, begin + step)
        logits = project(hidden[:, begin:end]).float()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        targets = ids[:, begin + 1:end + 1].to(logits.device)
        picked = torch.gather(logits, -1, targets.unsqueeze(-1)).squeeze(-1)
        result[:, begin + 1:end + 1] = (picked - torch.logsumexp(logits, dim=-1)).to(result.device)
    return result


class PrmImplicitScorer(Scorer):
    family = "prm_implicit"
    readers = frozenset({"implicit_prm_logratio"})
    truncation = "refuse"

    @property
    def separator(self) -> str:
        return self.spec.step_separator or "\n\n"

    @property
    def beta(self) -> float:
        return float((self.spec.extra or {}).get("beta", 0.001))

    def load_model(self):
        from transformers import AutoModelForCausalLM

        if not self.spec.reference_hub_id:
            raise ValueError(f"{self.spec.name}: an implicit PRM needs reference_hub_id")
        kwargs = self.pretrained_kwargs()
        self.reference = self.place(AutoModelForCausalLM.from_pretrained(self.spec.reference_hub_id, **kwargs))
        return self.place(AutoModelForCausalLM.from_pretrained(self.spec.hub_id, **kwargs))

    def close(self) -> None:
        self.reference = None
        super().close()

    def encode(self, prompt: str, response: str) -> Encoded:
        steps = split_steps(response)
        if not steps:
            raise ValueError("response has no steps (it is empty)")
        content = self.separator.join(steps)
        text = self.format_text(prompt, content)
        content_start = text.rfind(content)
        if content_start < 0:
            raise ValueError("the chat template altered the response text; step ends cannot be located")
        enc = self.tokenizer(text, add_special_tokens=not self.templated, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        # (start, end) character span per token; added special tokens have empty spans.
        spans = [(start, end) for start, end in enc["offset_mapping"]]
        first = next(i for i, (s, e) in enumerate(spans) if e > s and e > content_start)
        step_ends, cursor, token = [], content_start, first
        for k, step in enumerate(steps):
            cursor += len(step)
            # advance to the last (non-empty) token starting before the step's end character
            while token + 1 < len(spans) and spans[token + 1][1] > spans[token + 1][0] > -1 \
                    and spans[token + 1][0] < cursor:
                token += 1
            step_ends.append(token)
            cursor += len(self.separator) if k < len(steps) - 1 else 0
        encoded = self.fit(ids)
        encoded.meta.update(response_start=first, step_ends=step_ends)
        return encoded

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        import torch

        ratio = token_logprobs(self.model, batch) - token_logprobs(self.reference, batch).to(self.input_device)
        ratio = (self.beta * ratio).cpu()
        results = []
        for row, (start, item) in enumerate(zip(batch.starts, items)):
            first = start + item.meta["response_start"]
            cumulative = torch.cumsum(ratio[row, first:start + item.meta["step_ends"][-1] + 1], dim=0)
            results.append(step_result([float(cumulative[start + end - first]) for end in item.meta["step_ends"]]))
        return results
