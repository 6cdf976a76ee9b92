"""Custom-head and remote-code scorers on tiny checkpoints with their own modeling file (trust_remote_code)."""
from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from verifiers.scorers import load_scorer  # noqa: E402
from verifiers.scorers.custom_head import mlp2_head  # noqa: E402
from verifiers.scorers.multi_aspect import ARMO_OBJECTIVES  # noqa: E402
from verifiers.scorers.testing import build_backbone_heads, build_remote_code, tiny_spec  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


PROMPTS = ["What is 2+2?", "Sum the first ten odd numbers.", "Name a prime above 10."]
RESPONSES = ["4", "The odd numbers are 1, 3, ..., 19.\n\nTheir sum is 100.\n\nThe answer is: 100",
             "Eleven is prime since no number between 2 and 10 divides it. The answer is: 11"]


def all_ways(spec):
    """Scores for batch sizes 1 and 3, left and right padding; asserts they agree; returns batch-1 results."""
    base = load_scorer(spec, batch_size=1).score(PROMPTS, RESPONSES)
    assert all(r.ok for r in base), [r.error for r in base]
    for side in ("left", "right"):
        from dataclasses import replace

        batched = load_scorer(replace(spec, padding_side=side), batch_size=3).score(PROMPTS, RESPONSES)
        assert [r.score for r in batched] == pytest.approx([r.score for r in base], rel=1e-4, abs=1e-5), side
    assert len({r.score for r in base}) == len(base)
    return base


def test_armo_like_remote_model_keeps_objectives(tmp_path):
    folder = build_remote_code(tmp_path / "armo", "TinyArmoLikeRewardModel", num_objectives=19)
    spec = tiny_spec(folder, family="multi_aspect", score_reader="armo_score", trust_remote_code=True)
    results = all_ways(spec)
    for r in results:
        assert list(r.aspects) == list(ARMO_OBJECTIVES)
        assert r.score == pytest.approx(sum(r.aspects.values()) / 19, rel=1e-4, abs=1e-6)


def test_remote_pooling_by_pad_search_is_made_safe(tmp_path):
    """The remote head searches for pad == eos, which also closes the user turn: we pad with an unused id."""
    folder = build_remote_code(tmp_path / "armo", "TinyArmoLikeRewardModel", num_objectives=3)
    spec = tiny_spec(folder, family="custom_head", score_reader="output_score", trust_remote_code=True)
    ours = load_scorer(spec, batch_size=3).score(PROMPTS, RESPONSES)
    scorer = load_scorer(spec, batch_size=1).load()
    tok, model = scorer.tokenizer, scorer.model
    for prompt, response, result in zip(PROMPTS, RESPONSES, ours):
        text = tok.apply_chat_template([{"role": "user", "content": prompt},
                                        {"role": "assistant", "content": response}], tokenize=False)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            hidden = model.model(input_ids=ids).last_hidden_state[0, -1]
            expected = model.regression_layer(hidden).mean().item()
        assert result.score == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_qrm_reader_names_quantiles(tmp_path):
    folder = build_remote_code(tmp_path / "qrm", "TinyArmoLikeRewardModel", num_objectives=19)
    spec = tiny_spec(folder, family="multi_aspect", score_reader="qrm_expected", trust_remote_code=True)
    result = load_scorer(spec).score(PROMPTS[:1], RESPONSES[:1])[0]
    assert list(result.aspects)[0] == "q0.05" and list(result.aspects)[-1] == "q0.95"


def test_internlm2_like_appends_reward_token(tmp_path):
    folder = build_remote_code(tmp_path / "internlm", "TinyInternLM2LikeRewardModel", auto_name="AutoModel",
                               extra_specials=("<|reward|>",), reward_token_id="<|reward|>")
    spec = tiny_spec(folder, family="custom_head", score_reader="internlm2_get_score", trust_remote_code=True,
                     max_length=40)
    all_ways(spec)
    scorer = load_scorer(spec).load()
    encoded = scorer.encode("q " * 50, "a")  # truncated, yet the reward token stays last
    assert encoded.truncated and len(encoded.ids) == 40 and encoded.ids[-1] == scorer.reward_token_id


def test_inform_mlp_head(tmp_path):
    folder = build_backbone_heads(tmp_path / "inform", {"score": mlp2_head}, seed=3)
    all_ways(tiny_spec(folder, family="custom_head", score_reader="inform_head"))


def test_qwen_math_rm_like_remote_mlp(tmp_path):
    folder = build_remote_code(tmp_path / "qwenrm", "TinyMlpRewardModel", auto_name="AutoModel")
    spec = tiny_spec(folder, family="custom_head", score_reader="qwen_math_rm", trust_remote_code=True)
    all_ways(spec)
    scorer = load_scorer(spec).load()
    assert "Please reason step by step" in scorer.tokenizer.decode(scorer.encode("q", "a").ids)
