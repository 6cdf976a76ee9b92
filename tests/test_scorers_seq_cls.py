"""Sequence-classification scorers on tiny random-weight models (no hub): padding invariance, pooling, failures."""
from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from verifiers.scorers import ScoreResult, load_scorer  # noqa: E402
from verifiers.scorers.testing import build_seq_cls, tiny_spec  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


PROMPTS = ["What is 2+2?", "Sum the first ten odd numbers.", "What is 2+2?", "Name a prime above 10."]
RESPONSES = [
    "4",
    "The odd numbers are 1, 3, ..., 19.\n\nTheir sum is 10^2 = 100.\n\nThe answer is: 100",
    "Two plus two is four, because counting two more from two lands on four. The answer is: 4",
    "11",
]
ARCHS = ["llama", "qwen2", "gemma2", "mistral"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("seqcls")
    return {arch: build_seq_cls(root / arch, arch, seed=1) for arch in ARCHS}


def scores(folder, batch_size=4, padding_side="right", prompts=PROMPTS, responses=RESPONSES, **spec_fields):
    scorer = load_scorer(tiny_spec(folder, padding_side=padding_side, **spec_fields), batch_size=batch_size)
    return scorer.score(prompts, responses)


@pytest.mark.parametrize("arch", ARCHS)
def test_batched_equals_left_right_and_single(folders, arch):
    single = [r.score for r in scores(folders[arch], batch_size=1)]
    assert all(isinstance(s, float) for s in single)
    assert len(set(single)) > 1  # a random head still tells inputs apart
    for side in ("left", "right"):
        for batch_size in (2, 4):
            batched = [r.score for r in scores(folders[arch], batch_size=batch_size, padding_side=side)]
            assert batched == pytest.approx(single, rel=1e-4, abs=1e-5), (side, batch_size)


def test_pooling_reads_last_real_token_when_pad_equals_eos(folders):
    """The tiny tokenizer's pad == eos == <|im_end|>, which also ends every chat: mask-derived pooling."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = folders["llama"]
    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.pad_token_id == tok.eos_token_id
    model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32).eval()
    text = tok.apply_chat_template([{"role": "user", "content": PROMPTS[1]},
                                    {"role": "assistant", "content": RESPONSES[1]}], tokenize=False)
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert ids[0, -1].item() == tok.pad_token_id  # the case that breaks pad-id searching
    with torch.no_grad():
        hidden = model.model(input_ids=ids).last_hidden_state
        expected = model.score(hidden[0, -1]).item()
        builtin = model(input_ids=ids).logits[0, 0].item()  # transformers' own pad-id search
    ours = scores(folder, prompts=PROMPTS[1:2], responses=RESPONSES[1:2])[0].score
    assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert builtin != pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_truncation_keeps_the_end_and_says_so(folders):
    long_response = "filler " * 200 + "The answer is: 4"
    result = scores(folders["llama"], prompts=["What is 2+2?"], responses=[long_response], max_length=64)[0]
    assert result.truncated and result.ok
    short = scores(folders["llama"], prompts=["q"], responses=["4"], max_length=64)[0]
    assert not short.truncated


def test_null_response_and_failing_sample_are_null_with_reason(folders, monkeypatch):
    scorer = load_scorer(tiny_spec(folders["qwen2"]), batch_size=4)
    reference = scorer.score(PROMPTS, RESPONSES)
    poisoned = "POISON"
    original = scorer.forward_batch

    def flaky(batch, items):
        if any(poisoned in scorer.tokenizer.decode(item.ids) for item in items):
            raise RuntimeError("simulated CUDA error")
        return original(batch, items)

    monkeypatch.setattr(scorer, "forward_batch", flaky)
    results = scorer.score(PROMPTS + ["p", "p"], RESPONSES + [poisoned, None])
    assert [r.score for r in results[:4]] == pytest.approx([r.score for r in reference], rel=1e-4, abs=1e-5)
    assert results[4].score is None and "simulated CUDA error" in results[4].error
    assert results[5].score is None and "null" in results[5].error
    assert all(r.error is None for r in results[:4])


def test_unloadable_model_gives_null_and_reason(tmp_path):
    scorer = load_scorer(tiny_spec(tmp_path / "missing"))
    results = scorer.score(["q", "q"], ["a", "b"])
    assert [r.score for r in results] == [None, None]
    assert all(r.error.startswith("model failed to load") for r in results)
    assert scorer.score([], []) == []


def test_non_finite_score_is_an_error(folders, monkeypatch):
    scorer = load_scorer(tiny_spec(folders["mistral"]))
    monkeypatch.setattr(scorer, "forward_batch", lambda batch, items: [ScoreResult(score=float("nan"))] * len(items))
    result = scorer.score(["q"], ["a"])[0]
    assert result.score is None and "non-finite" in result.error


def test_decision_tree_style_multi_aspect_keeps_aspects(tmp_path):
    aspects = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
    folder = build_seq_cls(tmp_path / "dt", "llama", num_labels=5, seed=2)
    spec = dict(family="multi_aspect", score_reader="decision_tree_aspect",
                extra={"aspects": aspects, "primary_aspect": "correctness"})
    single = scores(folder, batch_size=1, **spec)
    batched = scores(folder, batch_size=4, padding_side="left", **spec)
    for one, many in zip(single, batched):
        assert list(one.aspects) == list(aspects)
        assert one.score == one.aspects["correctness"]
        assert many.score == pytest.approx(one.score, rel=1e-4, abs=1e-5)
    bad = scores(folder, **dict(spec, extra={"aspects": aspects, "primary_aspect": "honesty"}))
    assert bad[0].score is None and "honesty" in bad[0].error
