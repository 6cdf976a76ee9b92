"""Every verifier the toolkit ships, one ``VerifierSpec`` entry each, in one registry.

Names are the reference's (Weaver) names, so ``--reward_models GRM,ArmorRM`` and the
``GRM_scores`` columns mean the same thing for its users. Architecture numbers come from
each checkpoint's public config.json (text config for multimodal Gemma-3); the planner uses
them to estimate memory without downloading anything.

Reference bugs fixed here, in data:
- Gemma-2-27B reward models load their tokenizer from the checkpoint itself (``tokenizer_id``
  stays None), not from an unrelated path.
- GPM is flagged ``needs_group``: its score compares a sample with the problem's other samples
  (the reference took the norm of a unit vector, always 1.0).
- Qwen72BPRM is an ordinary ``prm_step`` entry, so it writes its four columns like QwenPRM.
- Multi-aspect models (ArmoRM, QRM, Decision-Tree) keep their aspect scores (``{name}_aspects``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from toolkit.errors import InputError
from toolkit.registry import Registry
from verifiers.specs import VerifierSpec

VERIFIERS: Registry[VerifierSpec] = Registry("verifier")

# Architecture numbers per base model: (num_layers, hidden_size, heads, kv_heads, vocab, head_dim).
_LLAMA3_8B = dict(num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8, vocab_size=128256)
_LLAMA32_3B = dict(num_layers=28, hidden_size=3072, num_attention_heads=24, num_kv_heads=8, vocab_size=128256)
_LLAMA3_70B = dict(num_layers=80, hidden_size=8192, num_attention_heads=64, num_kv_heads=8, vocab_size=128256)
_LLAMA31_405B = dict(num_layers=126, hidden_size=16384, num_attention_heads=128, num_kv_heads=8, vocab_size=128256)
_GEMMA2_2B = dict(num_layers=26, hidden_size=2304, num_attention_heads=8, num_kv_heads=4, vocab_size=256000,
                  head_dim=256)
_GEMMA2_27B = dict(num_layers=46, hidden_size=4608, num_attention_heads=32, num_kv_heads=16, vocab_size=256000,
                   head_dim=128)
_QWEN25_7B = dict(num_layers=28, hidden_size=3584, num_attention_heads=28, num_kv_heads=4, vocab_size=152064)
_QWEN25_32B = dict(num_layers=64, hidden_size=5120, num_attention_heads=40, num_kv_heads=8, vocab_size=152064)
_QWEN25_72B = dict(num_layers=80, hidden_size=8192, num_attention_heads=64, num_kv_heads=8, vocab_size=152064)
_INTERNLM2_7B = dict(num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8, vocab_size=92544)
_INTERNLM2_20B = dict(num_layers=48, hidden_size=6144, num_attention_heads=48, num_kv_heads=8, vocab_size=92544)
_GEMMA3_12B = dict(num_layers=48, hidden_size=3840, num_attention_heads=16, num_kv_heads=8, vocab_size=262208,
                   head_dim=256)
_GEMMA3_4B = dict(num_layers=34, hidden_size=2560, num_attention_heads=8, num_kv_heads=4, vocab_size=262208,
                  head_dim=256)
_PHI4_MINI = dict(num_layers=32, hidden_size=3072, num_attention_heads=24, num_kv_heads=8, vocab_size=200064)
_MISTRAL_7B = dict(num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8, vocab_size=32000)
_MIXTRAL_8X22B = dict(num_layers=56, hidden_size=6144, num_attention_heads=48, num_kv_heads=8, vocab_size=32768)
_SMOLLM2_135M = dict(num_layers=30, hidden_size=576, num_attention_heads=9, num_kv_heads=3, vocab_size=49152)

_HELPSTEER2_ASPECTS = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")


def _add(spec: VerifierSpec) -> VerifierSpec:
    return VERIFIERS.register(spec.name, spec)


def _rm(name: str, hub_id: str, params_b: float, arch: dict, description: str, **kw) -> VerifierSpec:
    kw.setdefault("family", "seq_cls")
    return _add(VerifierSpec(name=name, hub_id=hub_id, params_b=params_b, description=description, **arch, **kw))


def _judge(name: str, hub_id: str, params_b: float, arch: dict, description: str, **kw) -> VerifierSpec:
    kw.setdefault("max_length", 8192)
    return _add(VerifierSpec(
        name=name, hub_id=hub_id, family="judge_local", params_b=params_b,
        padding_side="left", score_reader="verdict_last_line", runtime="vllm",
        description=description, **arch, **kw))


def _api_judge(name: str, provider: str, model: str, params_b: float, description: str) -> VerifierSpec:
    return _add(VerifierSpec(
        name=name, hub_id=model, family="judge_api", params_b=params_b, max_length=8192,
        padding_side="left", score_reader="verdict_last_line", runtime="api",
        api_provider=provider, api_model=model, description=description))


# ---------------------------------------------------------------- outcome reward models
_rm("GRM", "Ray2333/GRM-Llama3-8B-rewardmodel-ft", 8.03, _LLAMA3_8B, "Generalizable RM, Llama-3-8B")
_rm("GRMLlama32", "Ray2333/GRM-Llama3.2-3B-rewardmodel-ft", 3.21, _LLAMA32_3B, "Generalizable RM, Llama-3.2-3B")
_rm("GRMGemma", "Ray2333/GRM-Gemma2-2B-rewardmodel-ft", 2.61, _GEMMA2_2B, "Generalizable RM, Gemma-2-2B")
_rm("Skyworks", "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2", 8.03, _LLAMA3_8B, "Skywork Reward v0.2, Llama-3.1-8B")
_rm("SkyworksGemma", "Skywork/Skywork-Reward-Gemma-2-27B-v0.2", 27.2, _GEMMA2_27B,
    "Skywork Reward v0.2, Gemma-2-27B (own tokenizer)")
_rm("URM", "LxzGordon/URM-LLaMa-3.1-8B", 8.03, _LLAMA3_8B, "Uncertainty-aware RM, Llama-3.1-8B",
    family="custom_head", trust_remote_code=True)
_rm("ArmorRM", "RLHFlow/ArmoRM-Llama3-8B-v0.1", 8.03, _LLAMA3_8B,
    "ArmoRM: 19 objectives mixed by a gating network", family="multi_aspect", trust_remote_code=True,
    score_reader="armo_score", extra={"num_aspects": 19})
_rm("QRM", "nicolinho/QRM-Llama3.1-8B-v2", 8.03, _LLAMA3_8B, "Quantile RM, Llama-3.1-8B",
    family="multi_aspect", trust_remote_code=True, score_reader="qrm_expected")
_rm("QRMGemma", "nicolinho/QRM-Gemma-2-27B", 27.2, _GEMMA2_27B, "Quantile RM, Gemma-2-27B (own tokenizer)",
    family="multi_aspect", trust_remote_code=True, score_reader="qrm_expected")
_rm("GPM", "general-preference/GPM-Llama-3.1-8B", 8.03, _LLAMA3_8B,
    "General preference model: preference embedding vs the problem's other samples",
    family="preference_gpm", trust_remote_code=True, score_reader="gpm_preference", needs_group=True,
    extra={"value_head_dim": 6, "add_prompt_head": True})
_rm("OffsetBias", "NCSOFT/Llama-3-OffsetBias-RM-8B", 8.03, _LLAMA3_8B, "OffsetBias RM, Llama-3-8B")
_rm("LDLRewardGemma", "ShikaiChen/LDL-Reward-Gemma-2-27B-v0.1", 27.2, _GEMMA2_27B,
    "Label-distribution RM, Gemma-2-27B (own tokenizer)")
_rm("InternLM2Reward7B", "internlm/internlm2-7b-reward", 7.74, _INTERNLM2_7B, "InternLM2 reward, 7B",
    family="custom_head", trust_remote_code=True, score_reader="internlm2_get_score")
_rm("InternLM2RewardModel", "internlm/internlm2-20b-reward", 19.9, _INTERNLM2_20B, "InternLM2 reward, 20B",
    family="custom_head", trust_remote_code=True, score_reader="internlm2_get_score")
_rm("DecisionTreeReward8B", "RLHFlow/Decision-Tree-Reward-Llama-3.1-8B", 8.03, _LLAMA3_8B,
    "Decision-tree RM over HelpSteer2 aspects, Llama-3.1-8B", family="multi_aspect", trust_remote_code=True,
    score_reader="decision_tree_aspect", extra={"aspects": _HELPSTEER2_ASPECTS, "primary_aspect": "correctness"})
_rm("DecisionTreeReward27B", "RLHFlow/Decision-Tree-Reward-Gemma-2-27B", 27.2, _GEMMA2_27B,
    "Decision-tree RM over HelpSteer2 aspects, Gemma-2-27B (own tokenizer)", family="multi_aspect",
    trust_remote_code=True, score_reader="decision_tree_aspect",
    extra={"aspects": _HELPSTEER2_ASPECTS, "primary_aspect": "correctness"})
_rm("INFORM", "infly/INF-ORM-Llama3.1-70B", 70.6, _LLAMA3_70B, "INF outcome RM, Llama-3.1-70B",
    family="custom_head", score_reader="inform_head", extra={"head": "mlp2"})
_rm("Qwen72B", "Qwen/Qwen2.5-Math-RM-72B", 72.7, _QWEN25_72B, "Qwen2.5-Math outcome RM, 72B",
    family="custom_head", trust_remote_code=True, score_reader="qwen_math_rm")

# ---------------------------------------------------------------- process reward models
_rm("QwenPRM", "Qwen/Qwen2.5-Math-PRM-7B", 7.62, _QWEN25_7B, "Qwen2.5-Math PRM, 7B",
    family="prm_step", trust_remote_code=True, score_reader="prm_step_softmax", step_separator="<extra_0>")
_rm("Qwen72BPRM", "Qwen/Qwen2.5-Math-PRM-72B", 72.7, _QWEN25_72B, "Qwen2.5-Math PRM, 72B (writes its scores)",
    family="prm_step", trust_remote_code=True, score_reader="prm_step_softmax", step_separator="<extra_0>")
for _stage in (1, 2):
    _rm(f"EurusPRMStage{_stage}", f"PRIME-RL/EurusPRM-Stage{_stage}", 7.62, _QWEN25_7B,
        f"Implicit PRM (PRIME), stage {_stage}, against Qwen2.5-Math-7B-Instruct",
        family="prm_implicit", score_reader="implicit_prm_logratio", step_separator="\n\n",
        reference_hub_id="Qwen/Qwen2.5-Math-7B-Instruct", reference_params_b=7.62, extra={"beta": 0.001})

# ---------------------------------------------------------------- local LM judges (vLLM)
_judge("DeepSeekLlama70B", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", 70.6, _LLAMA3_70B, "R1 distill, Llama-70B")
_judge("DeepSeekQwen32B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", 32.8, _QWEN25_32B, "R1 distill, Qwen-32B")
_judge("SkyT1", "NovaSky-AI/Sky-T1-32B-Preview", 32.8, _QWEN25_32B, "Sky-T1 32B preview")
_judge("Llama-3.3-70B-Instruct", "meta-llama/Llama-3.3-70B-Instruct", 70.6, _LLAMA3_70B, "Llama-3.3-70B-Instruct")
_judge("Meta-Llama-3.1-405B-Instruct-quantized.w8a16", "neuralmagic/Meta-Llama-3.1-405B-Instruct-quantized.w8a16",
       405.9, _LLAMA31_405B, "Llama-3.1-405B-Instruct, int8 weights", weight_dtype="int8")
_judge("Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B-Instruct", 72.7, _QWEN25_72B, "Qwen2.5-72B-Instruct")
_judge("QwQ-32B", "Qwen/QwQ-32B", 32.8, _QWEN25_32B, "QwQ-32B reasoning model")
_judge("WizardLM-2-8x22B", "alpindale/WizardLM-2-8x22B", 140.6, dict(_MIXTRAL_8X22B, vocab_size=32000),
       "WizardLM-2 8x22B (MoE)")
_judge("Mixtral-8x22B-Instruct-v0.1", "mistralai/Mixtral-8x22B-Instruct-v0.1", 140.6, _MIXTRAL_8X22B,
       "Mixtral 8x22B Instruct (MoE)")
_judge("DeepSeekLlama8B", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 8.03, _LLAMA3_8B, "R1 distill, Llama-8B")
_judge("DeepSeekQwen7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", 7.62, _QWEN25_7B, "R1 distill, Qwen-7B")
_judge("Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", 8.03, _LLAMA3_8B, "Llama-3.1-8B-Instruct")
_judge("Gemma-3-12B-Instruct", "google/gemma-3-12b-it", 12.2, _GEMMA3_12B, "Gemma-3-12B-it")
_judge("Gemma-3-4B-Instruct", "google/gemma-3-4b-it", 4.3, _GEMMA3_4B, "Gemma-3-4B-it")
_judge("Phi-4-4B-Instruct", "microsoft/Phi-4-mini-instruct", 3.84, _PHI4_MINI, "Phi-4-mini-instruct (3.8B)")
_judge("Qwen-2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", 7.62, _QWEN25_7B, "Qwen2.5-7B-Instruct")
_judge("Qwen-2.5-Math-7B-Instruct", "Qwen/Qwen2.5-Math-7B-Instruct", 7.62, _QWEN25_7B,
       "Qwen2.5-Math-7B-Instruct (4k context)", max_length=4096)
_judge("Mistral-7B-Instruct-v0.2", "mistralai/Mistral-7B-Instruct-v0.2", 7.24, _MISTRAL_7B,
       "Mistral-7B-Instruct-v0.2")

# The embedded judge: SmolLM2-135M served by llama.cpp on the CPU (works with no GPU, no hub).
_add(VerifierSpec(
    name="smollm2", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", family="judge_local", params_b=0.135,
    max_length=8192, padding_side="left", score_reader="verdict_logprob_true", runtime="llama_cpp",
    description="Embedded SmolLM2-135M-Instruct (GGUF via llama.cpp); P(True) from logprobs", **_SMOLLM2_135M))

# ---------------------------------------------------------------- API judges
_api_judge("GPT-4o", "openai", "gpt-4o", 0.0, "OpenAI GPT-4o")
_api_judge("GPT-4o-mini", "openai", "gpt-4o-mini", 0.0, "OpenAI GPT-4o-mini")
_api_judge("Claude-3-7-Sonnet", "anthropic", "claude-3-7-sonnet-latest", 0.0, "Anthropic Claude 3.7 Sonnet")
_api_judge("Claude-3-5-Sonnet", "anthropic", "claude-3-5-sonnet-latest", 0.0, "Anthropic Claude 3.5 Sonnet")
_api_judge("Claude-3-5-Haiku", "anthropic", "claude-3-5-haiku-latest", 0.0, "Anthropic Claude 3.5 Haiku")
_api_judge("Llama-3.1-8B-Instruct-Together", "together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 8.03,
           "Llama-3.1-8B-Instruct Turbo on Together")
_api_judge("Llama-3.1-70B-Instruct-Together", "together", "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", 70.6,
           "Llama-3.1-70B-Instruct Turbo on Together")


# ---------------------------------------------------------------- lookups
def reward_model_names() -> list[str]:
    """Registered outcome RMs and PRMs (the 22 of the reference), in registry order."""
    return [name for name, spec in VERIFIERS.items() if spec.kind in ("rm", "prm")]


def judge_names() -> list[str]:
    return [name for name, spec in VERIFIERS.items() if spec.kind == "judge"]


_SEQ_CLS_SUFFIX = "ForSequenceClassification"


def resolve_verifier(name_or_path: str) -> VerifierSpec:
    """A registered verifier by name, or an ad-hoc ``seq_cls`` spec for a local folder or hub id.

    A local folder must hold a config.json whose architecture ends in ``ForSequenceClassification``
    (or that names ``num_labels``); its arch numbers are read from it so the planner can place it.
    A hub id (``org/name``) that is not registered becomes a seq_cls spec with unknown arch numbers
    (the scorer checks the head when it loads); nothing is downloaded here.
    """
    if name_or_path in VERIFIERS:
        return VERIFIERS.get(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _spec_from_local_folder(path)
    if _looks_like_hub_id(name_or_path):
        return VerifierSpec(name=_column_name(name_or_path), hub_id=name_or_path, family="seq_cls", params_b=0.0,
                            description=f"ad-hoc sequence-classification RM {name_or_path}")
    raise InputError(VERIFIERS.unknown_message(name_or_path)
                     + ". A local folder or hub id (org/name) with a sequence-classification head also works.")


def _looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return (len(parts) == 2 and all(parts) and not text.startswith((".", "~"))
            and all(c.isalnum() or c in "-_." for part in parts for c in part))


def _column_name(name_or_path: str) -> str:
    """Column prefix for an ad-hoc verifier: the last path component (``my-rm`` -> ``my-rm_scores``)."""
    return Path(name_or_path.rstrip("/")).name


def _spec_from_local_folder(path: Path) -> VerifierSpec:
    config_path = path / "config.json"
    if not config_path.is_file():
        raise InputError(f"{path} is a folder without config.json; expected a Hugging Face model folder")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{config_path} is not valid JSON: {exc}") from exc
    architectures = config.get("architectures") or []
    if not any(a.endswith(_SEQ_CLS_SUFFIX) for a in architectures):
        raise InputError(f"{path}: architectures {architectures} have no sequence-classification head "
                         f"(*{_SEQ_CLS_SUFFIX}); only such local folders can be used as reward models")
    text = config.get("text_config") or config
    heads = int(text.get("num_attention_heads") or 0)
    hidden = int(text.get("hidden_size") or 0)
    arch = dict(
        num_layers=int(text.get("num_hidden_layers") or 0), hidden_size=hidden, num_attention_heads=heads,
        num_kv_heads=int(text.get("num_key_value_heads") or heads), vocab_size=int(text.get("vocab_size") or 0),
        head_dim=text.get("head_dim"))
    return VerifierSpec(
        name=_column_name(str(path)), hub_id=str(path.resolve()), family="seq_cls",
        params_b=_params_from_folder(path, arch), dtype=_dtype_from_config(config),
        max_length=min(int(text.get("max_position_embeddings") or 4096), 4096),
        description=f"local sequence-classification RM at {path}", **arch)


def _dtype_from_config(config: dict) -> str:
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    return dtype if dtype in ("bfloat16", "float16", "float32") else "bfloat16"


def _params_from_folder(path: Path, arch: dict) -> float:
    """Billions of parameters: from the safetensors index / files when present, else from the arch numbers."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        total = json.loads(index.read_text()).get("metadata", {}).get("total_size")
        if total:
            return float(total) / 2 / 1e9  # bytes at 2 bytes/param
    layers, hidden, vocab = arch["num_layers"], arch["hidden_size"], arch["vocab_size"]
    # ~12 h^2 per transformer layer (attention + 4h MLP) plus embeddings: a planning estimate.
    return (12 * layers * hidden * hidden + vocab * hidden) / 1e9


def with_overrides(spec: VerifierSpec, **changes) -> VerifierSpec:
    """A copy of ``spec`` with fields changed (e.g. ``max_length``); specs themselves are frozen."""
    return replace(spec, **changes)
