"""General Preference Model (GPM): a response's score is its mean preference over the problem's other responses.

GPM embeds each (prompt, response) as a unit vector ``v`` (``value_head`` at the last token,
L2-normalised) and prefers i over j by ``s(i, j) = v_i^T R^T v_j`` with ``R`` block-diagonal
and skew-symmetric (2x2 blocks ``[[0, -b_k], [b_k, 0]]``; ``b = softmax(prompt_head(h_prompt))``
where the checkpoint has a prompt head, else 1). So ``s(i, j) = -s(j, i)`` and ``s(i, i) = 0``.

Score of response i = mean over the problem's other scored responses j of
``sigmoid(s(i, j) / tau)`` (``tau = spec.extra["tau"]``, default 0.1 as in GPM's pipeline): the
probability that it beats a random sibling. The reference took the norm of ``v`` instead -
always 1.0. A problem with fewer than two scorable responses gets null + reason.

``score(prompts, responses)`` groups pairs by identical prompt; ``score_group`` takes one
problem. The prompt's hidden state comes from one prompt-only forward per problem (causal
attention makes it equal to the hidden state at the prompt's end inside every response).
"""
from __future__ import annotations

from typing import Sequence

from verifiers.scorers.base import Batch, Encoded, ScoreResult, Scorer, ScorerLoadError, describe, is_finite
from verifiers.scorers.custom_head import backbone_head_class

_EMBED = "_gpm_embedding"


def head_shapes(source: str) -> dict[str, list[int]]:
    """Shapes of ``value_head.weight`` / ``prompt_head.weight`` in a checkpoint (local folder or hub id)."""
    from pathlib import Path

    wanted = ("value_head.weight", "prompt_head.weight")
    folder = Path(source)
    if folder.is_dir():
        from safetensors import safe_open

        shapes = {}
        for file in sorted(folder.glob("*.safetensors")):
            with safe_open(str(file), framework="pt") as handle:
                for name in wanted:
                    if name in handle.keys():
                        shapes[name] = list(handle.get_slice(name).get_shape())
        return shapes
    from huggingface_hub import get_safetensors_metadata  # reads headers only

    meta = get_safetensors_metadata(source)
    return {name: list(info.shape) for file in meta.files_metadata.values()
            for name, info in file.tensors.items() if name in wanted}


def skew_matrix(blocks):
    """Block-diagonal skew-symmetric R with ``R[2k, 2k+1] = -b_k`` and ``R[2k+1, 2k] = b_k``."""
    import torch

    dim = 2 * blocks.shape[-1]
    r = torch.zeros((dim, dim), dtype=blocks.dtype, device=blocks.device)
    for k in range(dim // 2):
        r[2 * k, 2 * k + 1] = -blocks[k]
        r[2 * k + 1, 2 * k] = blocks[k]
    return r


class GPMScorer(Scorer):
    family = "preference_gpm"
    readers = frozenset({"gpm_preference"})

    def load_model(self):
        from torch import nn
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(self.spec.hub_id, trust_remote_code=self.spec.trust_remote_code)
        extra = self.spec.extra or {}
        try:
            shapes = head_shapes(self.spec.hub_id)
        except Exception:  # no safetensors headers reachable: trust the spec
            shapes = {}
        value_dim = shapes.get("value_head.weight", [extra.get("value_head_dim", 2)])[0]
        prompt_head = "prompt_head.weight" in shapes if shapes else bool(extra.get("add_prompt_head", False))
        if value_dim % 2:
            raise ValueError(f"GPM value head dimension must be even, got {value_dim}")
        heads = {"value_head": lambda c: nn.Linear(c.hidden_size, value_dim, bias=False)}
        if prompt_head:
            heads["prompt_head"] = lambda c: nn.Linear(c.hidden_size, value_dim // 2, bias=False)
        model_cls = backbone_head_class(config, heads)
        return self.place(model_cls.from_pretrained(self.spec.hub_id, config=config, **self.pretrained_kwargs()))

    @property
    def tau(self) -> float:
        return float((self.spec.extra or {}).get("tau", 0.1))

    def encode(self, prompt: str, response: str) -> Encoded:
        ids = self.tokenize(self.format_text(prompt, response))
        eos = self.tokenizer.eos_token_id
        # GPM reads its embedding at an end-of-sequence token, as in training.
        return self.fit(ids, suffix=[eos] if eos is not None and (not ids or ids[-1] != eos) else [])

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        import torch.nn.functional as F

        vectors = F.normalize(self.model.value_head(self.pooled_hidden(self.model_backbone, batch)).float(), dim=-1)
        return [ScoreResult(aspects={_EMBED: row}) if all(map(is_finite, row))
                else ScoreResult.failed("model produced a non-finite embedding (nan/inf)") for row in vectors.tolist()]

    def check_finite(self, result: ScoreResult) -> ScoreResult:
        return result  # embeddings are checked once the preference scores exist

    @property
    def model_backbone(self):
        return getattr(self.model, self.model.base_model_prefix)

    def prompt_blocks(self, prompt: str):
        """``b`` of R for this prompt (softmax of the prompt head), or ones without a prompt head."""
        import torch

        dim = self.model.value_head.out_features // 2
        if not hasattr(self.model, "prompt_head"):
            return torch.ones(dim)
        if self.templated:
            text = self.tokenizer.apply_chat_template(self.messages(prompt, None), tokenize=False)
        else:
            text = prompt
        batch = self.collate([self.fit(self.tokenize(text))])
        with torch.inference_mode():
            hidden = self.pooled_hidden(self.model_backbone, batch)
            return torch.softmax(self.model.prompt_head(hidden).float()[0], dim=-1).cpu()

    # ------------------------------------------------------------------ scoring
    def score(self, prompts: Sequence[str], responses: Sequence[str | None]) -> list[ScoreResult]:
        """Pairs sharing a prompt form one problem; each problem is scored with ``score_group``."""
        if len(prompts) != len(responses):
            from toolkit.errors import InputError

            raise InputError(f"{len(prompts)} prompts but {len(responses)} responses")
        groups: dict[str, list[int]] = {}
        for i, prompt in enumerate(prompts):
            groups.setdefault(prompt, []).append(i)
        results: list[ScoreResult | None] = [None] * len(prompts)
        for prompt, members in groups.items():
            for i, result in zip(members, self.score_group(prompt, [responses[i] for i in members])):
                results[i] = result
        return results  # type: ignore[return-value]

    def score_group(self, prompt: str, responses: Sequence[str | None]) -> list[ScoreResult]:
        matrix, embedded = self.preference_matrix(prompt, responses)
        if matrix is None:
            return embedded
        import torch

        valid = [i for i, r in enumerate(embedded) if r.ok]
        if len(valid) < 2:
            reason = "GPM compares a response with the problem's other responses; fewer than two could be scored"
            return [r if not r.ok else ScoreResult.failed(reason) for r in embedded]
        probs = torch.sigmoid(matrix / self.tau)
        results = list(embedded)
        for i in valid:
            others = [j for j in valid if j != i]
            value = float(probs[i, others].mean())
            results[i] = self.check_finite_score(ScoreResult(score=value, truncated=embedded[i].truncated))
        return results

    def check_finite_score(self, result: ScoreResult) -> ScoreResult:
        return super().check_finite(result)

    def preference_matrix(self, prompt: str, responses: Sequence[str | None]):
        """(S, per-response results): ``S[i][j] = s(i, j)`` (skew-symmetric tensor; rows of failed responses are 0)."""
        import torch

        try:
            self.load()
        except ScorerLoadError as exc:
            return None, [ScoreResult.failed(f"model failed to load: {exc}") for _ in responses]
        embedded = super().score([prompt] * len(responses), responses)
        try:
            blocks = self.prompt_blocks(prompt)
        except Exception as exc:
            reason = f"prompt forward failed: {describe(exc)}"
            return None, [ScoreResult.failed(reason) for _ in responses]
        dim = 2 * blocks.shape[0]
        vectors = torch.zeros((len(responses), dim))
        for i, result in enumerate(embedded):
            if result.ok:
                vectors[i] = torch.tensor(result.aspects[_EMBED])
        matrix = vectors @ skew_matrix(blocks).T @ vectors.T
        return matrix, [r if not r.ok else ScoreResult(truncated=r.truncated) for r in embedded]
