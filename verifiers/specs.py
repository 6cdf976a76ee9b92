"""What a verifier is, declared once: the frozen ``VerifierSpec``.

A spec says where a verifier's weights live, what kind of model it is (its ``family``,
which picks the scorer class that loads it), how its score is read (``score_reader``,
which picks the small hook inside that class), and the architecture numbers the GPU
planner needs to estimate its memory without downloading it. Adding a verifier is one
spec entry in ``verifiers/catalog.py``; variants (8B vs 27B, Llama vs Gemma) are entries,
not classes. Nothing heavy is imported here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: family -> what kind of model it is (the scorer / judge class is chosen by family).
FAMILIES: dict[str, str] = {
    "seq_cls": "sequence-classification reward model (AutoModelForSequenceClassification, one logit)",
    "custom_head": "reward model with a custom head or remote code, one scalar per response",
    "multi_aspect": "reward model with several aspect scores plus one overall score",
    "preference_gpm": "general preference model: scores a response against the problem's other samples",
    "prm_step": "process reward model: P(good step) read at a step-separator token",
    "prm_implicit": "implicit PRM: scaled log-ratio against a reference model, read at each step end",
    "judge_local": "generative LM judge served locally (vLLM, or llama.cpp for the embedded model)",
    "judge_api": "generative LM judge behind an API (OpenAI, Anthropic, Together)",
}

REWARD_FAMILIES = frozenset({"seq_cls", "custom_head", "multi_aspect", "preference_gpm"})
PRM_FAMILIES = frozenset({"prm_step", "prm_implicit"})
JUDGE_FAMILIES = frozenset({"judge_local", "judge_api"})

#: score_reader -> how the score is read from the model's output (shown in VERIFIERS.md).
SCORE_READERS: dict[str, str] = {
    "logit": "`logits[0]` of the sequence-classification head at the last non-pad token",
    "output_score": "`.score` of the remote-code output (custom head)",
    "armo_score": "`.score` (gated mix of 19 objectives); aspects = `.rewards`",
    "qrm_expected": "`.score` = mean of the reward quantiles; aspects = the quantiles",
    "decision_tree_aspect": "the `correctness` aspect of the multi-objective head; all aspects kept",
    "internlm2_get_score": "`model.get_score(tokenizer, chat)` (remote code, reward at the last token)",
    "inform_head": "custom 2-layer MLP head at the last non-pad token",
    "qwen_math_rm": "`outputs[0]` of the remote-code ORM at the end of the chat",
    "gpm_preference": "mean over the problem's other samples of sigmoid(s(i,j)/tau), s skew-symmetric",
    "prm_step_softmax": "softmax P(positive) at each `<extra_0>` step separator; min/max/avg over steps",
    "implicit_prm_logratio": "beta * cumulative log(pi/pi_ref) at each step end; min/max/avg over steps",
    "verdict_last_line": "strict True/False on the judge's last line (1.0 / 0.0; otherwise null)",
    "verdict_logprob_true": "P(True) from the verdict token's logprobs; falls back to the last line",
}

#: runtime -> what serves the model. Placement only puts "transformers" and "vllm" on GPUs.
RUNTIMES = ("transformers", "vllm", "llama_cpp", "api")

_DTYPE_BYTES = {"bfloat16": 2.0, "float16": 2.0, "float32": 4.0, "int8": 1.0, "int4": 0.5}


@dataclass(frozen=True)
class VerifierSpec:
    """One verifier: checkpoint, family, score reading rules and architecture numbers."""

    name: str
    """Registry name and column prefix (``{name}_scores`` / ``{name}_verdicts``); the reference's names."""
    hub_id: str
    """Hugging Face repo id of the checkpoint (or the API model name for ``judge_api``)."""
    family: str
    """One of ``FAMILIES``; picks the class that loads and runs the verifier."""
    params_b: float
    """Parameter count in billions (total, MoE included)."""
    dtype: str = "bfloat16"
    """Compute dtype the model is loaded in."""
    max_length: int = 4096
    """Tokens per input (RMs: prompt + response, truncated; judges: context incl. generation)."""
    padding_side: str = "right"
    """Padding side for batches: right for pooling RMs/PRMs (last non-pad token), left for generation."""
    trust_remote_code: bool = False
    """Whether loading needs the checkpoint's own Python code."""
    uses_chat_template: bool = True
    """Whether inputs are formatted with the tokenizer's chat template (user=problem, assistant=sample)."""
    score_reader: str = "logit"
    """Key of ``SCORE_READERS``: how the score is read from the model output."""
    step_separator: str | None = None
    """PRMs: text placed between steps (``<extra_0>`` for Qwen PRMs); None for non-PRMs."""
    reference_hub_id: str | None = None
    """Implicit PRMs: the reference model the log-ratio is taken against."""
    tokenizer_id: str | None = None
    """Tokenizer repo when it differs from ``hub_id``; None means the checkpoint's own tokenizer."""
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    """Family-specific knobs (aspects, beta, head sizes...). Read-only by convention."""
    num_layers: int = 0
    """config.json ``num_hidden_layers`` (0 for API judges)."""
    hidden_size: int = 0
    """config.json ``hidden_size``."""
    num_attention_heads: int = 0
    """config.json ``num_attention_heads``; tensor-parallel degrees must divide it."""
    num_kv_heads: int = 0
    """config.json ``num_key_value_heads`` (GQA); tensor-parallel degrees must divide it too."""
    vocab_size: int = 0
    """config.json ``vocab_size``."""
    head_dim: int | None = None
    """config.json ``head_dim`` where it is not hidden_size / heads (Gemma)."""
    weight_dtype: str | None = None
    """Storage dtype of the weights when quantized (``int8`` for w8a16); None means ``dtype``."""
    reference_params_b: float = 0.0
    """Implicit PRMs: parameters of the reference model, loaded beside the policy model."""
    needs_group: bool = False
    """True when a score needs the problem's other samples (GPM): call ``Scorer.score_group``."""
    runtime: str = "transformers"
    """Key of ``RUNTIMES``: transformers (RMs/PRMs), vllm (local judges), llama_cpp, api."""
    api_provider: str | None = None
    """API judges: ``openai``, ``anthropic`` or ``together``."""
    api_model: str | None = None
    """API judges: the provider's model name."""
    description: str = ""
    """One line for VERIFIERS.md."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.score_reader not in SCORE_READERS:
            raise ValueError(f"{self.name}: unknown score_reader {self.score_reader!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"{self.name}: unknown runtime {self.runtime!r}")

    # -- what kind of verifier ------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``rm``, ``prm`` or ``judge``: decides the output columns."""
        if self.family in PRM_FAMILIES:
            return "prm"
        if self.family in JUDGE_FAMILIES:
            return "judge"
        return "rm"

    @property
    def is_small(self) -> bool:
        """Under ~1B parameters: cheap enough to run on a CPU."""
        return self.params_b < 1.0

    @property
    def needs_gpu(self) -> bool:
        """Whether the planner has to find it GPU memory (API and llama.cpp judges do not)."""
        return self.runtime in ("transformers", "vllm")

    @property
    def tokenizer_source(self) -> str:
        """Where the tokenizer is loaded from: the checkpoint itself unless a spec says otherwise."""
        return self.tokenizer_id or self.hub_id

    @property
    def effective_head_dim(self) -> int:
        if self.head_dim:
            return self.head_dim
        return self.hidden_size // self.num_attention_heads if self.num_attention_heads else 0

    @property
    def weight_bytes_per_param(self) -> float:
        return _DTYPE_BYTES[self.weight_dtype or self.dtype]

    @property
    def act_bytes(self) -> float:
        return _DTYPE_BYTES[self.dtype]

    # -- what it writes -------------------------------------------------------------------
    def output_columns(self) -> list[str]:
        """Dataset columns this verifier adds (the reference's names, plus aspects where kept)."""
        if self.kind == "prm":
            return [f"{self.name}_{part}" for part in ("min_scores", "max_scores", "avg_scores", "step_scores")]
        if self.kind == "judge":
            return [f"{self.name}_verdicts"]
        if self.family == "multi_aspect":
            return [f"{self.name}_scores", f"{self.name}_aspects"]
        return [f"{self.name}_scores"]

    @property
    def error_column(self) -> str:
        """Per-sample failure reasons (list[str|None]); a failed sample's scores are null, never 0.0."""
        return f"{self.name}_errors"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests (recorded with every column this verifier writes)."""
        from dataclasses import asdict

        return asdict(self)
