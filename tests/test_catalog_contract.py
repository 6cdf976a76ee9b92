"""Contract test over every registered verifier, plus name lookup and ad-hoc resolution."""
from __future__ import annotations

import json
import pickle
import re

import pytest

from toolkit.errors import InputError
from verifiers.catalog import VERIFIERS, judge_names, resolve_verifier, reward_model_names
from verifiers.placement import estimate_memory, valid_tp_degrees
from verifiers.specs import FAMILIES, SCORE_READERS, VerifierSpec

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
REFERENCE_RMS = [
    "GRM", "GRMLlama32", "GRMGemma", "Skyworks", "SkyworksGemma", "URM", "ArmorRM", "QRM", "QRMGemma", "GPM",
    "OffsetBias", "LDLRewardGemma", "InternLM2Reward7B", "InternLM2RewardModel", "DecisionTreeReward8B",
    "DecisionTreeReward27B", "INFORM", "Qwen72B", "QwenPRM", "Qwen72BPRM", "EurusPRMStage1", "EurusPRMStage2",
]
REFERENCE_JUDGES = [
    "DeepSeekLlama70B", "DeepSeekQwen32B", "SkyT1", "Llama-3.3-70B-Instruct",
    "Meta-Llama-3.1-405B-Instruct-quantized.w8a16", "Qwen/Qwen2.5-72B-Instruct", "QwQ-32B", "WizardLM-2-8x22B",
    "Mixtral-8x22B-Instruct-v0.1", "DeepSeekLlama8B", "DeepSeekQwen7B", "Llama-3.1-8B-Instruct",
    "Gemma-3-12B-Instruct", "Gemma-3-4B-Instruct", "Phi-4-4B-Instruct", "Qwen-2.5-7B-Instruct",
    "Qwen-2.5-Math-7B-Instruct", "Mistral-7B-Instruct-v0.2", "GPT-4o", "GPT-4o-mini", "Claude-3-7-Sonnet",
    "Claude-3-5-Sonnet", "Claude-3-5-Haiku", "Llama-3.1-8B-Instruct-Together", "Llama-3.1-70B-Instruct-Together",
]


@pytest.mark.parametrize("name", VERIFIERS.names())
def test_every_spec_honours_the_contract(name):
    spec = VERIFIERS.get(name)
    assert isinstance(spec, VerifierSpec) and spec.name == name
    assert spec.family in FAMILIES and spec.score_reader in SCORE_READERS
    assert spec.padding_side in ("left", "right")
    assert spec.max_length > 0 and spec.dtype in ("bfloat16", "float16", "float32")
    assert spec.description
    if spec.family == "judge_api":
        assert spec.api_provider in ("openai", "anthropic", "together") and spec.api_model
        assert not spec.needs_gpu
        return
    assert HUB_ID.match(spec.hub_id), spec.hub_id
    assert spec.params_b > 0
    for value in (spec.num_layers, spec.hidden_size, spec.num_attention_heads, spec.num_kv_heads, spec.vocab_size):
        assert isinstance(value, int) and value > 0
    assert spec.num_attention_heads % spec.num_kv_heads == 0
    assert spec.effective_head_dim > 0
    if spec.head_dim is None:
        assert spec.hidden_size % spec.num_attention_heads == 0
    assert valid_tp_degrees(spec, 8)[0] == 1
    estimate = estimate_memory(spec, 1, 4)
    assert estimate.total > estimate.weights > 0
    assert estimate_memory(spec, 2, 4).total < estimate.total
    if spec.kind == "prm":
        assert spec.step_separator
    if spec.family == "prm_implicit":
        assert spec.reference_hub_id and HUB_ID.match(spec.reference_hub_id) and spec.reference_params_b > 0
    columns = spec.output_columns()
    assert columns and all(c.startswith(name + "_") for c in columns)
    assert hash(spec) == hash(pickle.loads(pickle.dumps(spec)))  # frozen, hashable, picklable for workers
    json.dumps(spec.to_dict())


def test_reference_verifiers_are_all_registered_in_order():
    assert reward_model_names() == REFERENCE_RMS
    assert set(REFERENCE_JUDGES) <= set(judge_names())
    assert "smollm2" in judge_names()


def test_reference_bugs_are_fixed_in_the_specs():
    for name in ("SkyworksGemma", "QRMGemma", "LDLRewardGemma", "DecisionTreeReward27B"):
        spec = VERIFIERS.get(name)
        assert spec.tokenizer_id is None and spec.tokenizer_source == spec.hub_id
    assert VERIFIERS.get("GPM").needs_group and VERIFIERS.get("GPM").family == "preference_gpm"
    assert VERIFIERS.get("Qwen72BPRM").output_columns() == [
        "Qwen72BPRM_min_scores", "Qwen72BPRM_max_scores", "Qwen72BPRM_avg_scores", "Qwen72BPRM_step_scores"]
    for name in ("ArmorRM", "QRM", "QRMGemma", "DecisionTreeReward8B", "DecisionTreeReward27B"):
        assert f"{name}_aspects" in VERIFIERS.get(name).output_columns()
    assert VERIFIERS.get("GRM").output_columns() == ["GRM_scores"]
    assert VERIFIERS.get("GPT-4o-mini").output_columns() == ["GPT-4o-mini_verdicts"]


def test_lookup_is_case_insensitive_and_typos_suggest_close_names():
    assert VERIFIERS.get("armorrm").name == "ArmorRM"
    with pytest.raises(InputError, match="ArmorRM"):
        VERIFIERS.get("ArmourRM")
    with pytest.raises(InputError, match="QwenPRM"):
        resolve_verifier("QwenPRN")


def test_specs_are_frozen():
    with pytest.raises(AttributeError):
        VERIFIERS.get("GRM").max_length = 1


def test_bad_family_is_refused():
    with pytest.raises(ValueError, match="family"):
        VerifierSpec(name="x", hub_id="a/b", family="oracle", params_b=1.0)


def _write_config(folder, **overrides):
    config = {"architectures": ["LlamaForSequenceClassification"], "num_hidden_layers": 2, "hidden_size": 64,
              "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "num_labels": 1,
              "max_position_embeddings": 2048, "torch_dtype": "float32"}
    config.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_resolve_local_folder_reads_its_config(tmp_path):
    folder = _write_config(tmp_path / "my-rm")
    spec = resolve_verifier(str(folder))
    assert spec.family == "seq_cls" and spec.name == "my-rm" and spec.output_columns() == ["my-rm_scores"]
    assert (spec.num_layers, spec.hidden_size, spec.num_attention_heads, spec.num_kv_heads) == (2, 64, 4, 2)
    assert spec.dtype == "float32" and spec.max_length == 2048
    assert 0 < spec.params_b < 0.01 and spec.is_small
    assert estimate_memory(spec).total > 0


def test_resolve_local_folder_without_a_classification_head_is_refused(tmp_path):
    folder = _write_config(tmp_path / "lm", architectures=["LlamaForCausalLM"])
    with pytest.raises(InputError, match="sequence-classification"):
        resolve_verifier(str(folder))
    with pytest.raises(InputError, match="config.json"):
        resolve_verifier(str(tmp_path))


def test_resolve_unregistered_hub_id_is_an_ad_hoc_seq_cls_spec():
    spec = resolve_verifier("someone/tiny-reward-model")
    assert spec.family == "seq_cls" and spec.hub_id == "someone/tiny-reward-model"
    assert spec.name == "tiny-reward-model"
    assert resolve_verifier("Qwen/Qwen2.5-72B-Instruct").family == "judge_local"  # registered name wins
