"""Stage 1 throughput against a minimal direct client, on the same local llama.cpp server.

Both sides send the same prompts with the same per-sample seeds and the same concurrency, in
alternating rounds, so they do identical work; ours includes everything a user runs (dataset
loading, journal writes, retries machinery, writing the dataset). Target: ours >= 0.95 x direct.

    python bench/generation.py [--rounds 3 --rows 10 --k 2 --max_new_tokens 32 --concurrency 4]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOY = ROOT / "datasets" / "toy_math.jsonl"


def run_ours(base_url: str, out: Path, args, seed: int) -> tuple[int, int, float]:
    from generation.config import GenerationConfig
    from generation.generate import generate_samples

    start = time.perf_counter()
    report = generate_samples(GenerationConfig(
        model="smollm2", base_url=base_url, dataset=str(TOY), output_path=str(out), max_rows=args.rows,
        samples_per_instruction=args.k, temperature=0.7, seed=seed, max_new_tokens=args.max_new_tokens,
        concurrency=args.concurrency))
    elapsed = time.perf_counter() - start
    assert not report.failures
    return args.rows * args.k, report.usage["completion_tokens"], elapsed


async def _direct(base_url: str, jobs: list[tuple[list[dict], int]], args) -> tuple[int, int]:
    import httpx

    sem = asyncio.Semaphore(args.concurrency)
    async with httpx.AsyncClient(timeout=600) as http:
        async def one(messages, seed):
            async with sem:
                r = await http.post(f"{base_url}/chat/completions", json={
                    "model": "smollm2", "messages": messages, "temperature": 0.7, "top_p": 1.0,
                    "max_tokens": args.max_new_tokens, "seed": seed})
                return r.json()["usage"]["completion_tokens"]

        tokens = await asyncio.gather(*(one(m, s) for m, s in jobs))
    return len(jobs), sum(tokens)


def run_direct(base_url: str, rows, args, seed: int) -> tuple[int, int, float]:
    from generation.sampling import build_messages, sample_seed

    jobs = [(build_messages(r["instruction"]), sample_seed(seed, r["id"], i)) for r in rows for i in range(args.k)]
    start = time.perf_counter()
    samples, tokens = asyncio.run(_direct(base_url, jobs, args))
    return samples, tokens, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--max_new_tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from generation.config import GenerationConfig
    from generation.generate import load_rows
    from toolkit.smollm2 import LlamaServer

    rows, _ = load_rows(GenerationConfig(dataset=str(TOY), output_path="unused.hf", max_rows=args.rows))
    results: dict[str, list[tuple[int, int, float]]] = {"ours": [], "direct": []}
    with LlamaServer() as server, tempfile.TemporaryDirectory() as tmp:
        run_direct(server.base_url, rows[:2], argparse.Namespace(**{**vars(args), "k": 1}), 999)  # warm-up
        for r in range(args.rounds):
            order = ("direct", "ours") if r % 2 == 0 else ("ours", "direct")
            for side in order:
                if side == "ours":
                    results["ours"].append(run_ours(server.base_url, Path(tmp) / f"r{r}.hf", args, seed=r))
                else:
                    results["direct"].append(run_direct(server.base_url, rows, args, seed=r))
                s, t, e = results[side][-1]
                print(f"round {r} {side:6s}: {s} samples, {t} tokens in {e:.2f}s", file=sys.stderr)

    summary = {}
    for side, runs in results.items():
        summary[side] = {"samples_per_s": sum(s for s, _, _ in runs) / sum(e for _, _, e in runs),
                         "tokens_per_s": sum(t for _, t, _ in runs) / sum(e for _, _, e in runs),
                         "median_round_s": statistics.median(e for _, _, e in runs)}
    ratio = summary["ours"]["samples_per_s"] / summary["direct"]["samples_per_s"]
    token_ratio = summary["ours"]["tokens_per_s"] / summary["direct"]["tokens_per_s"]
    print(f"{'':8s}{'samples/s':>12s}{'tokens/s':>12s}")
    for side in ("ours", "direct"):
        print(f"{side:8s}{summary[side]['samples_per_s']:12.2f}{summary[side]['tokens_per_s']:12.1f}")
    print(f"ratio ours/direct: samples/s {ratio:.3f}, tokens/s {token_ratio:.3f} (target >= 0.95)")
    print(json.dumps({"bench": "generation", **summary, "ratio_samples": ratio, "ratio_tokens": token_ratio,
                      "settings": vars(args)}))


if __name__ == "__main__":
    main()
