"""The one base class every model scorer shares: loading, formatting, truncation, batching, errors.

A family subclass overrides only how a (prompt, response) pair becomes token ids
(``encode``) and how a padded batch's outputs become scores (``forward_batch``).
Everything else lives here, once:

- Loading (transformers imported lazily): tokenizer from ``spec.tokenizer_id`` or the
  checkpoint itself, ``trust_remote_code`` per spec, dtype (spec's on GPU, float32 on CPU
  unless asked: bfloat16 matmuls on CPUs without native support are slow and less exact).
- Formatting: the tokenizer's chat template over [user prompt, assistant response] when the
  spec says so, else ``prompt + "\\n\\n" + response`` with the tokenizer's special tokens.
- Truncation keeps the END of the sequence (plus a leading BOS): outcome RMs read their score
  at the last token and the final answer sits at the end of a response, so the end is what
  must survive; the middle of a long prompt is what we drop. Results say ``truncated=True``.
  PRMs refuse instead (null + reason): dropping tokens would drop steps.
- Batching: inputs sorted by length (longest first, so memory trouble shows at once) and
  cut into ``batch_size`` chunks, each padded to its own longest row on ``spec.padding_side``;
  with left padding explicit ``position_ids`` keep positions identical to the unpadded input.
- Pooling: the last real token of each row comes from the attention mask's lengths, never
  from searching for the pad id (which breaks when pad == eos and eos ends the text).
- Failures are data: a batch that raises is retried sample by sample; a sample that still
  fails, a non-finite score, or a model that cannot load gives ``score=None`` plus ``error``.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar, Sequence

from toolkit.errors import InputError
from verifiers.scorers.results import (  # noqa: F401  (re-exported: families import them from here)
    Batch, Encoded, ScoreResult, ScorerLoadError, describe, first_tensor, is_finite, per_row, split_steps)

log = logging.getLogger(__name__)

_DTYPES = ("bfloat16", "float16", "float32")


class Scorer:
    """Base class: a verifier spec turned into ``score(prompts, responses) -> list[ScoreResult]``."""

    family: ClassVar[str] = ""
    #: ``spec.score_reader`` values this class knows how to read.
    readers: ClassVar[frozenset[str]] = frozenset()
    #: "keep_end" (outcome RMs) or "refuse" (PRMs: every step must be seen).
    truncation: ClassVar[str] = "keep_end"
    #: System message put before the user turn when the spec's extra does not say otherwise.
    default_system_prompt: ClassVar[str | None] = None

    def __init__(self, spec, device: str = "cpu", batch_size: int = 4, dtype: str | None = None):
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        if spec.score_reader not in self.readers:
            raise InputError(f"{spec.name}: {type(self).__name__} cannot read score_reader {spec.score_reader!r} "
                             f"(it reads: {', '.join(sorted(self.readers))})")
        dtype = dtype or (spec.dtype if not str(device).startswith("cpu") else "float32")
        if dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self.dtype = dtype
        self.model = None
        self.tokenizer = None
        self.load_error: str | None = None
        self._warned_no_template = False

    # ------------------------------------------------------------------ loading
    def load(self) -> "Scorer":
        """Load tokenizer and model once; raises ScorerLoadError (and remembers why) on failure."""
        if self.model is not None:
            return self
        if self.load_error is not None:
            raise ScorerLoadError(self.load_error)
        try:
            self.tokenizer = self.load_tokenizer()
            self.model = self.load_model()
            self.after_load()
        except Exception as exc:  # any loader failure becomes a reason, not a crash of the run
            self.model = None
            self.load_error = describe(exc)
            raise ScorerLoadError(self.load_error) from exc
        return self

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    def load_tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.spec.tokenizer_source,
                                             trust_remote_code=self.spec.trust_remote_code)

    def pretrained_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dtype": self.torch_dtype, "trust_remote_code": self.spec.trust_remote_code}
        if self.device == "auto":  # several visible GPUs in this worker: let accelerate shard
            kwargs["device_map"] = "auto"
        elif str(self.device).startswith("cuda"):  # load straight onto the GPU, not via host RAM
            kwargs["device_map"] = str(self.device)
        return kwargs

    def load_model(self):
        """Default: a sequence-classification checkpoint. Families override."""
        from transformers import AutoModelForSequenceClassification

        return self.place(AutoModelForSequenceClassification.from_pretrained(
            self.spec.hub_id, **self.pretrained_kwargs()))

    def load_auto(self, preferred: Sequence[str]):
        """Load with the first Auto class of ``preferred`` the checkpoint's ``auto_map`` names.

        Remote-code checkpoints register their class under one Auto name (ArmoRM under
        AutoModelForSequenceClassification, Qwen PRMs and InternLM2 under AutoModel); without
        an auto_map, the preferred class matching ``config.architectures`` (``*ForTokenClassification``
        ...) is used, else the first preferred class.
        """
        import transformers
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(self.spec.hub_id, trust_remote_code=self.spec.trust_remote_code)
        auto_map = getattr(config, "auto_map", None) or {}
        architectures = getattr(config, "architectures", None) or []
        by_arch = [n for n in preferred if n.startswith("AutoModelFor")
                   and any(a.endswith(n[len("AutoModel"):]) for a in architectures)]
        name = next((n for n in preferred if n in auto_map), by_arch[0] if by_arch else preferred[0])
        auto_class = getattr(transformers, name)
        return self.place(auto_class.from_pretrained(self.spec.hub_id, config=config, **self.pretrained_kwargs()))

    def place(self, model):
        if self.device != "auto":
            model.to(self.device)
        model.eval()
        return model

    def after_load(self) -> None:
        """Hook for checks that need the tokenizer and model (e.g. a step token exists)."""

    @property
    def input_device(self):
        return self.model.get_input_embeddings().weight.device

    @property
    def pad_id(self) -> int:
        tok = self.tokenizer
        for candidate in (tok.pad_token_id, tok.eos_token_id, 0):
            if candidate is not None:
                return int(candidate)
        return 0

    def close(self) -> None:
        """Free the model (the runner calls this between waves)."""
        self.model = None
        import gc

        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def __enter__(self) -> "Scorer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ formatting
    @property
    def system_prompt(self) -> str | None:
        extra = self.spec.extra or {}
        return extra["system_prompt"] if "system_prompt" in extra else self.default_system_prompt

    def messages(self, prompt: str, response: str | None) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        msgs.append({"role": "user", "content": prompt})
        if response is not None:
            msgs.append({"role": "assistant", "content": response})
        return msgs

    @property
    def templated(self) -> bool:
        """Whether the chat template is used (spec asks and the tokenizer has one)."""
        has = bool(getattr(self.tokenizer, "chat_template", None))
        if self.spec.uses_chat_template and not has and not self._warned_no_template:
            log.warning("%s: spec asks for a chat template but the tokenizer has none; using plain text",
                        self.spec.name)
            self._warned_no_template = True
        return self.spec.uses_chat_template and has

    def format_text(self, prompt: str, response: str) -> str:
        if self.templated:
            return self.tokenizer.apply_chat_template(self.messages(prompt, response), tokenize=False)
        return f"{prompt}\n\n{response}"

    def tokenize(self, text: str) -> list[int]:
        # A chat template already writes BOS where the model expects it; plain text gets it here.
        return list(self.tokenizer(text, add_special_tokens=not self.templated)["input_ids"])

    def fit(self, ids: list[int], suffix: Sequence[int] = ()) -> Encoded:
        """Apply ``max_length`` (see module doc) and append ``suffix`` ids that must survive."""
        limit = self.spec.max_length - len(suffix)
        if len(ids) <= limit:
            return Encoded(ids=list(ids) + list(suffix))
        if self.truncation == "refuse":
            raise ValueError(f"input is {len(ids) + len(suffix)} tokens, over max_length "
                             f"{self.spec.max_length}; a PRM needs every step, so it is not truncated")
        bos = self.tokenizer.bos_token_id
        head = ids[:1] if bos is not None and ids and ids[0] == bos else []
        return Encoded(ids=head + ids[len(ids) - (limit - len(head)):] + list(suffix), truncated=True)

    def encode(self, prompt: str, response: str) -> Encoded:
        """(prompt, response) -> token ids; families override to add positions or suffixes."""
        return self.fit(self.tokenize(self.format_text(prompt, response)))

    # ------------------------------------------------------------------ scoring
    def score(self, prompts: Sequence[str], responses: Sequence[str | None]) -> list[ScoreResult]:
        """Score each (prompt, response) pair; input order kept; failures are null + reason."""
        if len(prompts) != len(responses):
            raise InputError(f"{len(prompts)} prompts but {len(responses)} responses")
        if not prompts:
            return []
        try:
            self.load()
        except ScorerLoadError as exc:
            return [ScoreResult.failed(f"model failed to load: {exc}") for _ in prompts]
        encoded = [self._encode_or_fail(p, r) for p, r in zip(prompts, responses)]
        return self.score_encoded(encoded)

    def score_group(self, prompt: str, responses: Sequence[str | None]) -> list[ScoreResult]:
        """All samples of one problem (GPM needs them together; others just score each)."""
        return self.score([prompt] * len(responses), responses)

    def _encode_or_fail(self, prompt: str, response: str | None) -> Encoded | ScoreResult:
        if response is None:
            return ScoreResult.failed("no response to score (the sample is null)")
        try:
            return self.encode(prompt, response)
        except Exception as exc:
            return ScoreResult.failed(f"could not encode: {describe(exc)}")

    def score_encoded(self, encoded: list[Encoded | ScoreResult]) -> list[ScoreResult]:
        results: list[ScoreResult | None] = [e if isinstance(e, ScoreResult) else None for e in encoded]
        order = sorted((i for i, e in enumerate(encoded) if isinstance(e, Encoded)),
                       key=lambda i: -len(encoded[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            for i, result in zip(chunk, self._run_with_retry([encoded[i] for i in chunk])):
                results[i] = dataclasses.replace(result, truncated=encoded[i].truncated)
        return results  # type: ignore[return-value]

    def _run_with_retry(self, items: list[Encoded]) -> list[ScoreResult]:
        try:
            return self.run_batch(items)
        except Exception as exc:
            self._free_cached_memory()
            if len(items) == 1:
                return [ScoreResult.failed(f"forward failed: {describe(exc)}")]
            log.warning("%s: batch of %d failed (%s); retrying one by one", self.spec.name, len(items),
                        describe(exc))
        return [self._run_with_retry([item])[0] for item in items]

    def _free_cached_memory(self) -> None:
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def run_batch(self, items: list[Encoded]) -> list[ScoreResult]:
        import torch

        batch = self.collate(items)
        with torch.inference_mode():
            results = self.forward_batch(batch, items)
        return [self.check_finite(r) for r in results]

    def collate(self, items: list[Encoded], pad_id: int | None = None) -> Batch:
        import torch

        pad_id = self.pad_id if pad_id is None else pad_id
        width = max(len(item.ids) for item in items)
        left = self.spec.padding_side == "left"
        ids = torch.full((len(items), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        starts, lengths = [], []
        for row, item in enumerate(items):
            n = len(item.ids)
            start = width - n if left else 0
            ids[row, start:start + n] = torch.tensor(item.ids, dtype=torch.long)
            mask[row, start:start + n] = 1
            starts.append(start)
            lengths.append(n)
        device = self.input_device
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0).to(device) if left else None
        return Batch(ids.to(device), mask.to(device), position_ids, starts, lengths, pad_id)

    def forward_batch(self, batch: Batch, items: list[Encoded]) -> list[ScoreResult]:
        raise NotImplementedError

    def check_finite(self, result: ScoreResult) -> ScoreResult:
        values = [result.score] if result.score is not None else []
        values += list(result.step_scores or []) + list((result.aspects or {}).values())
        if any(not is_finite(v) for v in values):
            return ScoreResult.failed("model produced a non-finite score (nan/inf)")
        return result

    # ------------------------------------------------------------------ shared pooling helpers
    def backbone_and_head(self, head_attr: str = "score"):
        """(base model, head module) when the checkpoint is a backbone plus a head we can pool for."""
        model = self.model
        backbone = getattr(model, getattr(model, "base_model_prefix", ""), None)
        head = getattr(model, head_attr, None)
        if backbone is None or backbone is model or head is None or not callable(head):
            return None
        return backbone, head

    def pooled_hidden(self, backbone, batch: Batch):
        """Backbone hidden state at each row's last real token: [batch, hidden]."""
        import torch

        out = backbone(**batch.model_inputs())
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), batch.last_index.to(hidden.device)]

    def forward_full(self, batch_items: list[Encoded]):
        """Run the model's own forward (remote code pools itself), padding with an id absent from the batch.

        Remote-code heads often locate the last token by searching for ``config.pad_token_id``;
        padding with an id that occurs in no row makes that search land on the right token
        even where the tokenizer's pad id equals eos.
        """
        pad_id = self.unused_pad_id(batch_items)
        batch = self.collate(batch_items, pad_id=pad_id)
        config = self.model.config
        previous = getattr(config, "pad_token_id", None)
        config.pad_token_id = pad_id
        try:
            return batch, self.model(**batch.model_inputs())
        finally:
            config.pad_token_id = previous

    def unused_pad_id(self, items: list[Encoded]) -> int:
        used = {t for item in items for t in item.ids}
        if self.pad_id not in used:
            return self.pad_id
        candidate = len(self.tokenizer) - 1
        while candidate in used:
            candidate -= 1
        return candidate
