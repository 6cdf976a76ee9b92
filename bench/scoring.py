"""Reward-model scoring: our scorer vs a bare transformers forward loop, same model, same inputs.

Real responses (Qwen2.5-Math on MATH, ../shared/data/qwen25math_math_cot_100_samples.jsonl)
are scored by a SmolLM2-135M backbone under a seeded random head (a real-weight RM that runs
on a CPU). Printed side by side:

- padding waste (pad slots / all slots) of our length-sorted batches vs the same batch size
  taken in input order;
- real tokens per second of ``Scorer.score`` (template + tokenize + sort + forward + pooling)
  vs a bare loop (template + tokenize + ``model(**batch).logits[:, 0]`` in input order),
  alternating the two (A B B A ...) to spread machine noise; the ratio should be >= 0.9;
- the largest score difference between the two (the inputs are identical: pairs over
  ``--max_length`` are dropped so neither side truncates).

    python bench/scoring.py [--problems 8 --per_problem 2 --batch_size 4 --rounds 2 --threads 1]

``--threads 1`` by default: on a shared 2-core machine two spinning OpenMP threads are several
times slower than one; both sides always run with the same setting.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "qwen25math_math_cot_100_samples.jsonl"
CACHE = Path(os.environ.get("WEAVER_TEST_CACHE", Path.home() / ".cache" / "weaver-toolkit-tests"))


def load_pairs(problems: int, per_problem: int) -> tuple[list[str], list[str]]:
    if not DATA.exists():
        sys.exit(f"missing {DATA}: this bench reads the shared real-response file beside the checkout")
    prompts, responses = [], []
    with DATA.open() as handle:
        for line in handle:
            row = json.loads(line)
            for response in row["code"][:per_problem]:
                prompts.append(row["question"])
                responses.append(response)
            if len(prompts) >= problems * per_problem:
                break
    return prompts, responses


def smollm2_reward_model() -> Path:
    """SmolLM2-135M as LlamaForSequenceClassification with a seed-0 head, cached outside the repo."""
    folder = CACHE / "smollm2-rm-seed0"
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    from toolkit.hf_export import export_smollm2_hf

    source = export_smollm2_hf(CACHE / "smollm2-hf")
    torch.manual_seed(0)
    model = LlamaForSequenceClassification.from_pretrained(source, num_labels=1, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def padding_waste(lengths: list[int], batch_size: int) -> float:
    slots = sum(max(lengths[i:i + batch_size]) * len(lengths[i:i + batch_size])
                for i in range(0, len(lengths), batch_size))
    return 1.0 - sum(lengths) / slots


def bare_loop(model, tokenizer, texts: list[str], batch_size: int) -> list[float]:
    import torch

    scores: list[float] = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i:i + batch_size], padding=True, add_special_tokens=False, return_tensors="pt")
            scores += model(**batch).logits[:, 0].float().tolist()
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--per_problem", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--max_length", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from verifiers.scorers import load_scorer
    from verifiers.scorers.testing import tiny_spec

    torch.set_num_threads(args.threads)
    folder = smollm2_reward_model()
    scorer = load_scorer(tiny_spec(folder, name="SmolLM2-RM", max_length=args.max_length),
                         batch_size=args.batch_size).load()
    model, tokenizer = scorer.model, scorer.tokenizer
    tokenizer.padding_side = "right"

    prompts, responses = load_pairs(args.problems, args.per_problem)
    texts = [scorer.format_text(p, r) for p, r in zip(prompts, responses)]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    total = len(texts)
    keep = [i for i, n in enumerate(lengths) if n <= args.max_length]
    prompts, responses = [prompts[i] for i in keep], [responses[i] for i in keep]
    texts, lengths = [texts[i] for i in keep], [lengths[i] for i in keep]
    tokens = sum(lengths)
    print(f"{len(keep)} of {total} responses (those within max_length {args.max_length}), "
          f"{tokens} tokens, batch_size {args.batch_size}, "
          f"threads {args.threads}, model SmolLM2-135M + random head")

    sorted_waste = padding_waste(sorted(lengths, reverse=True), args.batch_size)
    input_waste = padding_waste(lengths, args.batch_size)
    print(f"padding waste (timed set): ours (length-sorted) {sorted_waste:.1%}   "
          f"unsorted fixed batches {input_waste:.1%}")
    all_prompts, all_responses = load_pairs(10**6, 10**6)
    all_lengths = [len(ids) for ids in tokenizer([scorer.format_text(p, r) for p, r in zip(all_prompts, all_responses)],
                                                 add_special_tokens=False)["input_ids"]]
    for size in (4, 8, 16, 32):
        print(f"padding waste (all {len(all_lengths)} responses, batch {size:>2}): ours "
              f"{padding_waste(sorted(all_lengths, reverse=True), size):.1%}   unsorted "
              f"{padding_waste(all_lengths, size):.1%}")

    ours_times, bare_times = [], []
    ours_scores = bare_scores = None
    for round_index in range(args.rounds):
        order = ("ours", "bare") if round_index % 2 == 0 else ("bare", "ours")
        for side in order:
            start = time.perf_counter()
            if side == "ours":
                results = scorer.score(prompts, responses)
                ours_times.append(time.perf_counter() - start)
                ours_scores = [r.score for r in results]
            else:
                bare_scores = bare_loop(model, tokenizer, texts, args.batch_size)
                bare_times.append(time.perf_counter() - start)
    ours_tps, bare_tps = tokens / statistics.median(ours_times), tokens / statistics.median(bare_times)
    print(f"tokens/s: ours {ours_tps:.0f}   bare loop {bare_tps:.0f}   ratio ours/bare {ours_tps / bare_tps:.2f} "
          f"(target >= 0.9; rounds ours {['%.1fs' % t for t in ours_times]}, bare {['%.1fs' % t for t in bare_times]})")
    diff = max(abs(a - b) for a, b in zip(ours_scores, bare_scores))
    errors = sum(s is None for s in ours_scores)
    print(f"scores: max |ours - bare| = {diff:.2e} over {len(ours_scores)} responses; errors {errors}")


if __name__ == "__main__":
    main()
