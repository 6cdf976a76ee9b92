"""Process reward model scorers: step-token PRM and implicit PRM with a reference model (tiny checkpoints)."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from verifiers.scorers import load_scorer, split_steps  # noqa: E402
from verifiers.scorers.testing import build_causal_lm, build_token_cls_prm, tiny_spec  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


PROMPTS = ["Sum the first ten odd numbers.", "What is 2+2?", "Is 91 prime?"]
RESPONSES = [
    "The odd numbers are 1, 3, ..., 19.\n\nThere are ten of them.\n\nTheir sum is 10^2 = 100.\n\nThe answer is: 100",
    "2 + 2 = 4.",
    "91 = 7 * 13.\n  \nSo it is not prime; a literal <extra_0> in text must not count.\n\nThe answer is: no",
]


def test_split_steps_on_blank_lines():
    assert split_steps("a\nb\n\n c \n \n\nd") == ["a\nb", "c", "d"]
    assert split_steps("  \n\n ") == []


@pytest.fixture(scope="module")
def step_spec(tmp_path_factory):
    folder = build_token_cls_prm(tmp_path_factory.mktemp("prm") / "prm", seed=5)
    return tiny_spec(folder, family="prm_step", score_reader="prm_step_softmax", step_separator="<extra_0>")


def check_padding_invariant(spec):
    single = load_scorer(spec, batch_size=1).score(PROMPTS, RESPONSES)
    assert all(r.ok for r in single), [r.error for r in single]
    for side in ("left", "right"):
        batched = load_scorer(replace(spec, padding_side=side), batch_size=3).score(PROMPTS, RESPONSES)
        for one, many in zip(single, batched):
            assert many.step_scores == pytest.approx(one.step_scores, rel=1e-4, abs=1e-6), side
    return single


def test_step_prm_one_score_per_step(step_spec):
    results = check_padding_invariant(step_spec)
    assert [len(r.step_scores) for r in results] == [len(split_steps(r)) for r in RESPONSES] == [4, 1, 3]
    for r in results:
        assert all(0.0 < s < 1.0 for s in r.step_scores)
        assert r.score == r.min_score == min(r.step_scores)
        assert r.max_score == max(r.step_scores)
        assert r.avg_score == pytest.approx(sum(r.step_scores) / len(r.step_scores))


def test_step_prm_refuses_to_truncate_and_rejects_empty(step_spec):
    scorer = load_scorer(replace(step_spec, max_length=160))
    long, empty, fine = scorer.score(["q"] * 3, ["step one is long " * 20 + "\n\nstep two", "  \n\n", "ok"])
    assert long.score is None and "max_length" in long.error
    assert empty.score is None and "no steps" in empty.error
    assert fine.ok and len(fine.step_scores) == 1


def test_step_prm_without_separator_token_fails_to_load(step_spec):
    results = load_scorer(replace(step_spec, step_separator="<not_a_token>")).score(["q"], ["a"])
    assert results[0].score is None and "not one token" in results[0].error


@pytest.fixture(scope="module")
def implicit_spec(tmp_path_factory):
    root = tmp_path_factory.mktemp("implicit")
    policy, reference = build_causal_lm(root / "policy", seed=6), build_causal_lm(root / "reference", seed=7)
    return tiny_spec(policy, family="prm_implicit", score_reader="implicit_prm_logratio", step_separator="\n\n",
                     reference_hub_id=str(reference), extra={"beta": 0.5})


def test_implicit_prm_steps_and_padding(implicit_spec):
    results = check_padding_invariant(implicit_spec)
    assert [len(r.step_scores) for r in results] == [4, 1, 3]
    assert any(abs(s) > 1e-3 for r in results for s in r.step_scores)


def test_implicit_prm_matches_a_direct_computation(implicit_spec):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(implicit_spec.hub_id)
    steps = ["Step one.", "Step two is here.", "Done."]
    prompt_text = tok.apply_chat_template([{"role": "user", "content": "Q?"}], tokenize=False,
                                          add_generation_prompt=True)
    models = [AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32).eval()
              for p in (implicit_spec.hub_id, implicit_spec.reference_hub_id)]
    prefix_len = len(tok(prompt_text, add_special_tokens=False)["input_ids"])
    text = prompt_text + "\n\n".join(steps) + "<|im_end|>"
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logps = [torch.log_softmax(m(input_ids=ids).logits[0, :-1].float(), -1).gather(-1, ids[0, 1:, None])[:, 0]
                 for m in models]
    rewards = 0.5 * (logps[0] - logps[1])  # rewards[t-1] belongs to token t
    expected, end = [], prefix_len - 1
    for k, step in enumerate(steps):
        end += len(tok(step, add_special_tokens=False)["input_ids"]) + (2 if k else 0)  # byte tokens; "\n\n" = 2
        expected.append(float(rewards[prefix_len - 1:end].sum()))
    ours = load_scorer(implicit_spec).score(["Q?"], ["\n\n".join(steps)])[0]
    assert ours.step_scores == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_implicit_prm_against_itself_is_zero(implicit_spec):
    same = replace(implicit_spec, reference_hub_id=implicit_spec.hub_id)
    result = load_scorer(same).score(PROMPTS[:1], RESPONSES[:1])[0]
    assert result.step_scores == pytest.approx([0.0] * 4, abs=1e-6)


def test_implicit_prm_without_reference_fails_to_load(implicit_spec):
    result = load_scorer(replace(implicit_spec, reference_hub_id=None)).score(["q"], ["a"])[0]
    assert result.score is None and "reference_hub_id" in result.error
