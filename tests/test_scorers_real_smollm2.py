"""A reward model with real weights: SmolLM2-135M's backbone under a seeded random score head."""
from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]  # real 135M forwards on the CPU

from verifiers.scorers import load_scorer  # noqa: E402
from verifiers.scorers.testing import tiny_spec  # noqa: E402


PROMPT = "What is the sum of the first ten positive odd integers?"
# Short on purpose: a 135M model forward is slow on a shared 2-core CPU.
RESPONSES = [
    "The sum of the first n odd integers is n^2.\n\nThe answer is: 100",
    "1+3+5+7+9+11+13+15+17+19 = 90.\n\nThe answer is: 90",
    "The answer is: 100",
]


def build_smollm2_rm(smollm2_dir, folder):
    """LlamaForSequenceClassification from the SmolLM2 folder; the score head is new, drawn with seed 0."""
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    torch.manual_seed(0)
    model = LlamaForSequenceClassification.from_pretrained(smollm2_dir, num_labels=1, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def smollm2_scorer(smollm2_hf_dir, tmp_path_factory):
    folder = build_smollm2_rm(smollm2_hf_dir, tmp_path_factory.mktemp("smollm2rm") / "rm")
    return load_scorer(tiny_spec(folder, name="SmolRM", max_length=1024), batch_size=1).load()


def variant(scorer, padding_side, batch_size):
    """Same loaded model, other batching (loading 135M weights again costs more than the test)."""
    from dataclasses import replace

    other = load_scorer(replace(scorer.spec, padding_side=padding_side), batch_size=batch_size)
    other.tokenizer, other.model = scorer.tokenizer, scorer.model
    return other


def test_real_backbone_rm_is_padding_invariant(smollm2_scorer):
    single = smollm2_scorer.score([PROMPT] * 3, RESPONSES)
    assert all(r.ok and not r.truncated for r in single)
    values = [r.score for r in single]
    assert len({round(v, 4) for v in values}) == 3
    for side in ("left", "right"):
        batched = variant(smollm2_scorer, side, 3).score([PROMPT] * 3, RESPONSES)
        assert [r.score for r in batched] == pytest.approx(values, rel=1e-3, abs=1e-4), side


def test_real_backbone_rm_matches_a_plain_transformers_forward(smollm2_scorer):
    tok, model = smollm2_scorer.tokenizer, smollm2_scorer.model
    ours = smollm2_scorer.score([PROMPT], RESPONSES[:1])[0].score
    text = tok.apply_chat_template([{"role": "user", "content": PROMPT},
                                    {"role": "assistant", "content": RESPONSES[0]}], tokenize=False)
    with torch.no_grad():  # transformers' own pooling (the SmolLM2 chat ends with "\n", not the pad id)
        plain = model(**tok(text, add_special_tokens=False, return_tensors="pt")).logits[0, 0].item()
    assert ours == pytest.approx(plain, rel=1e-4, abs=1e-5)
