"""Selection as users run it, beside its peers, on a scenario family and on real data.

Every "default" row is ``selection/run.py --config-name weak_supervision`` (the same config
file, the same ``run_selection`` code path, half of the problems held out); nothing in this
script tunes it. Beside it, on the same held-out problems:

- snorkel's LabelModel (the peer Weaver builds on), fitted on the training half's votes
  (each verifier binarized at its training median, missing = abstain), samples ranked by its
  log-odds; label-free;
- mean of scores (``naive_ensemble`` of the default run), majority vote, first sample;
- the Bayes oracle of the scenario (true parameters; the best any selector can do on
  average) and, where answers matter, the sample-level oracle; pass@k.

Scenarios come from ``selection.scenarios`` with their parameters drawn at random per seed,
so no single setting is tuned. Real data (beside the checkout in ``../shared/data``, read in
place): RewardMATH (242 MATH problems x 10 solutions x 26 verifier columns, one correct per
problem; no extracted answers) and the Qwen2.5-Math 800 (100 problems x 8 responses, one
reward model, answers as strings), each over random half splits.

    python bench/selection.py [--seeds 3] [--splits 10] [--scenarios a,b] [--no-real] [--no-sim]

Targets (issue 10): on every scenario at least max(majority, mean of scores) and within 2
points of the oracle; on answer_clusters above the sample-level oracle; on RewardMATH at
least 3 points above the mean of scores; fit under 2 s for 500 x 100 x 30.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threaded BLAS crawls on a shared 2-core machine
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
METHODS = ["weak_supervision", "naive_ensemble", "majority_vote", "first_sample", "coverage"]
LABELS = {"weak_supervision": "default (weak_supervision)", "naive_ensemble": "mean of scores",
          "majority_vote": "majority vote", "first_sample": "first sample", "coverage": "pass@k"}


def select_at_1(scores: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from selection.metrics import select, selection_metrics

    valid = ~np.isnan(labels)
    chosen = select(scores, valid, seed)
    return selection_metrics(chosen, labels, valid)["select_at_1"]


def default_run(dataset, seed: int, extra=()) -> dict:
    """The shipped command's config and code path, on an in-memory dataset."""
    from selection.config import load_config
    from selection.pipeline import run_selection

    cfg = load_config("weak_supervision", [f"data_cfg.random_seed={seed}", "plot=false", "k_curve=false",
                                           "methods=[" + ",".join(METHODS) + "]", *extra])
    return run_selection(cfg, dataset=dataset)


def snorkel_select(scores, labels, train, test, seed) -> tuple[float, float]:
    """snorkel LabelModel on median-binarized votes; (held-out Select@1, fit seconds)."""
    import torch
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    torch.set_num_threads(1)
    P, S, V = scores.shape
    if V < 3:  # snorkel refuses fewer than 3 labeling functions
        return float("nan"), float("nan")
    with np.errstate(all="ignore"):
        cut = np.nanmedian(scores[train].reshape(-1, V), axis=0)
        votes = np.where(np.isnan(scores), -1, (scores > cut).astype(int))
    t0 = time.perf_counter()
    model = SnorkelLabelModel(cardinality=2, verbose=False)
    model.fit(votes[train].reshape(-1, V), n_epochs=500, lr=0.01, seed=seed, progress_bar=False)
    fit_s = time.perf_counter() - t0
    cond = np.clip(model.get_conditional_probs(), 1e-6, 1.0)  # (V, abstain/0/1, y=0/1)
    log_ratio = np.log(cond[:, :, 1]) - np.log(cond[:, :, 0])
    te = votes[test] + 1
    llr = log_ratio[np.arange(V), te].sum(axis=-1)
    return select_at_1(llr, labels[test], seed), fit_s


def rows_to_dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list(rows)


def one_run(dataset, scores, labels, seed, oracles: dict[str, np.ndarray], extra=()) -> tuple[dict, dict]:
    res = default_run(dataset, seed, extra)
    position = {v: i for i, v in enumerate(dataset["id"])} if "id" in dataset.column_names else None
    at = (lambda xs: np.asarray([position[x] for x in xs])) if position else np.asarray  # noqa: E731
    ids, train_ids = at(res["split"]["test_ids"]), at(res["split"]["train_ids"])
    row = {LABELS[m]: 100 * res["methods"][m]["test"]["select_at_1"] for m in METHODS}
    s, fit_s = snorkel_select(scores, labels, train_ids, ids, seed)
    row["snorkel LabelModel"] = 100 * s
    for name, oracle in oracles.items():
        row[name] = 100 * select_at_1(oracle[ids], labels[ids], seed)
    times = {"default fit s": res["methods"]["weak_supervision"]["fit_seconds"], "snorkel fit s": fit_s}
    return row, {**times, "info": res["methods"]["weak_supervision"]["info"]}


def bench_scenarios(args) -> list[tuple[str, dict]]:
    from selection.scenarios import SCENARIOS, make_scenario

    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    out = []
    for name in names:
        runs, times = [], []
        for seed in range(args.seeds):
            sc = make_scenario(name, seed=1000 + seed, n_problems=args.problems, n_samples=args.samples,
                               n_verifiers=args.verifiers)
            labels = sc.labels.astype(float)
            oracles = {"Bayes oracle": sc.oracle}
            if sc.sample_oracle is not None:
                oracles["sample-level oracle"] = sc.sample_oracle
            row, t = one_run(rows_to_dataset(sc.rows()), sc.scores, labels, seed, oracles)
            runs.append(row)
            times.append(t)
        out.append((name, summarize(runs, times)))
        print_block(name, out[-1][1], f"{args.seeds} seeds, parameters drawn per seed")
    return out


def summarize(runs: list[dict], times: list[dict]) -> dict:
    mean = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    t = {k: float(np.mean([x[k] for x in times])) for k in ("default fit s", "snorkel fit s")}
    return {"select_at_1": mean, "times": t, "info": times[-1]["info"]}


def print_block(name: str, summary: dict, what: str) -> None:
    m = summary["select_at_1"]
    ref = m["default (weak_supervision)"]
    print(f"\n## {name} ({what})")
    for k, v in m.items():
        print(f"{k:28s} {v:6.1f} {v - ref:+6.1f}")
    t = summary["times"]
    print(f"fit: default {t['default fit s']:.2f} s, snorkel {t['snorkel fit s']:.2f} s")
    base = max(m["majority vote"], m["mean of scores"])
    notes = [f"vs max(majority, mean) {ref - base:+.1f}"]
    if "Bayes oracle" in m:
        notes.append(f"vs oracle {ref - m['Bayes oracle']:+.1f}")
    if "sample-level oracle" in m:
        notes.append(f"vs sample-level oracle {ref - m['sample-level oracle']:+.1f}")
    print("targets: " + ", ".join(notes))


def fit_time(args) -> None:
    """The fit-time target: the default fitted on ALL of 500 x 100 x 30 (train_split=1.0)."""
    from selection.scenarios import make_scenario

    sc = make_scenario("independent", seed=7, n_problems=args.problems, n_samples=args.samples,
                       n_verifiers=args.verifiers)
    res = default_run(rows_to_dataset(sc.rows()), 0, ["data_cfg.train_split=1.0", "methods=[weak_supervision]"])
    ours = res["methods"]["weak_supervision"]["fit_seconds"]
    everything = np.arange(sc.scores.shape[0])
    _, snorkel_s = snorkel_select(sc.scores, sc.labels.astype(float), everything, everything, 0)
    print(f"\n## fit time on all {args.problems} x {args.samples} x {args.verifiers} (target < 2 s)\n"
          f"default {ours:.2f} s, snorkel LabelModel {snorkel_s:.2f} s (snorkel/default {snorkel_s / ours:.1f}x)")


def real_splits(title: str, ds, scores, labels, args) -> dict:
    """The default run over ``args.splits`` random half splits of one real dataset."""
    runs, times = [], []
    for seed in range(args.splits):
        row, t = one_run(ds, scores, labels, seed, {})
        runs.append(row)
        times.append(t)
    summary = summarize(runs, times)
    print_block(title, summary, f"{args.splits} random half splits")
    return summary


def rewardmath(args):
    path = DATA / "rewardmath_dev.jsonl"
    if not path.exists():
        print(f"\n(missing {path}: RewardMATH skipped)")
        return None
    rows = [json.loads(line) for line in path.open()]
    names = [k for k in rows[0] if k.endswith("_scores")]
    scores = np.array([[r[k] for k in names] for r in rows], float).transpose(0, 2, 1)
    labels = np.array([r["answer_correct"] for r in rows], float)
    keep = [{k: v for k, v in r.items() if k != "sample_sources"} for r in rows]
    return real_splits("RewardMATH (real scores, 22 verifiers / 26 columns)", rows_to_dataset(keep), scores,
                       labels, args)


def qwen(args):
    path = DATA / "qwen25math_math_cot_100_samples.jsonl"
    if not path.exists():
        print(f"\n(missing {path}: Qwen2.5-Math skipped)")
        return None
    src = [json.loads(line) for line in path.open()]
    rows = []
    for i, r in enumerate(src):
        rm = [float(x[0] if isinstance(x, list) else x) for x in r["pred_score"]]
        rows.append({"id": i, "instruction": f"problem {i}", "samples": [str(c) for c in r["code"]],
                     "extracted_answers": [None if p is None else str(p) for p in r["pred"]],
                     "answer_correct": [bool(x) for x in r["score"]], "RM_scores": rm})
    scores = np.array([r["RM_scores"] for r in rows], float)[:, :, None]
    labels = np.array([r["answer_correct"] for r in rows], float)
    return real_splits("Qwen2.5-Math 800 (real responses, one reward model)", rows_to_dataset(rows), scores,
                       labels, args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--verifiers", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--scenarios", default="", help="comma-separated subset of selection.scenarios")
    ap.add_argument("--no-sim", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    args = ap.parse_args(argv)
    print(f"# held-out Select@1 (%), the default command beside peers and oracles; "
          f"simulated: {args.problems} problems x {args.samples} samples x {args.verifiers} verifiers")
    if not args.no_sim:
        bench_scenarios(args)
        fit_time(args)
    if not args.no_real:
        rewardmath(args)
        qwen(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
