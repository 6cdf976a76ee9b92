"""General Preference Model scorer: skew-symmetric preferences, informative scores, padding invariance."""
from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from torch import nn  # noqa: E402

from verifiers.scorers import load_scorer  # noqa: E402
from verifiers.scorers.testing import build_backbone_heads, tiny_spec  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


PROMPT = "Sum the first ten odd numbers."
RESPONSES = ["100", "The sum is 10^2 = 100.\n\nThe answer is: 100", "I think it is 55.", "The answer is: 99"]


@pytest.fixture(scope="module")
def gpm_spec(tmp_path_factory):
    heads = {"value_head": lambda c: nn.Linear(c.hidden_size, 4, bias=False),
             "prompt_head": lambda c: nn.Linear(c.hidden_size, 2, bias=False)}
    folder = build_backbone_heads(tmp_path_factory.mktemp("gpm") / "gpm", heads, seed=4)
    return tiny_spec(folder, family="preference_gpm", score_reader="gpm_preference", needs_group=True,
                     extra={"value_head_dim": 6})  # wrong on purpose: the checkpoint's shapes win


def test_preferences_are_skew_symmetric_and_scores_informative(gpm_spec):
    scorer = load_scorer(gpm_spec, batch_size=2)
    matrix, _ = scorer.preference_matrix(PROMPT, RESPONSES)
    assert torch.allclose(matrix, -matrix.T, atol=1e-6)
    assert torch.count_nonzero(matrix.abs() > 1e-6) > 0
    results = scorer.score_group(PROMPT, RESPONSES)
    values = [r.score for r in results]
    assert all(0.0 < v < 1.0 for v in values)
    assert len({round(v, 6) for v in values}) > 1  # not the reference's constant 1.0
    # mean win probability: the scores of a group average to 1/2 (P(i>j) + P(j>i) = 1)
    assert sum(values) / len(values) == pytest.approx(0.5, abs=1e-6)


def test_group_scores_do_not_depend_on_batching(gpm_spec):
    from dataclasses import replace

    single = [r.score for r in load_scorer(gpm_spec, batch_size=1).score_group(PROMPT, RESPONSES)]
    for side in ("left", "right"):
        batched = load_scorer(replace(gpm_spec, padding_side=side), batch_size=4).score_group(PROMPT, RESPONSES)
        assert [r.score for r in batched] == pytest.approx(single, rel=1e-4, abs=1e-6)


def test_score_groups_by_prompt_and_handles_failures(gpm_spec):
    scorer = load_scorer(gpm_spec, batch_size=4)
    prompts = [PROMPT, "Other?", PROMPT, PROMPT, "Other?", "Lonely?"]
    responses = [RESPONSES[0], "yes", RESPONSES[1], None, "no", "alone"]
    results = scorer.score(prompts, responses)
    grouped = scorer.score_group(PROMPT, [RESPONSES[0], RESPONSES[1]])
    assert results[0].score == pytest.approx(grouped[0].score, abs=1e-6)
    assert results[2].score == pytest.approx(grouped[1].score, abs=1e-6)
    assert results[3].score is None and "null" in results[3].error
    assert results[1].score is not None and results[4].score is not None
    assert results[5].score is None and "fewer than two" in results[5].error
