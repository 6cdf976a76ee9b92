"""Selection on real data: Qwen2.5-Math responses to 100 MATH problems (8 each) with a reward-model score.

Data: ../shared/data/qwen25math_math_cot_100_samples.jsonl (beside the checkout; not part of
the repo). Per problem: ``pred`` (8 extracted answers), ``score`` (8 labels from the Qwen
grader) and ``pred_score`` (8 reward-model scores, one-element lists).

Methods, each evaluated on held-out problems over random 50/50 splits (labels are used
only to score the selection, never to fit): first sample, majority vote over answers
(clustered with verifiers.grading.answers_equivalent when available, else exact string),
the single reward model, and weak supervision with two verifiers, the RM score and the
majority-vote agreement (share of the 8 answers equivalent to this one):
"ws binary" = LabelModel on both binarized at their training medians / 0.5,
"ws continuous" = ContinuousLabelModel on the raw values. Both use per-problem class
balance; a third variant adds the RM z-scored within each problem. With only two verifiers a latent-class model is weakly identified (three are
needed in general), so this bench mostly shows whether the label model degrades gracefully.

    python bench/selection_qwen_math.py [--splits 20]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from selection.continuous import ContinuousLabelModel  # noqa: E402
from selection.label_model import LabelModel  # noqa: E402
from selection.simulate import select_at_1  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "qwen25math_math_cot_100_samples.jsonl"


def _equivalence():
    try:
        from verifiers.grading import answers_equivalent
        return answers_equivalent, "verifiers.grading.answers_equivalent"
    except ImportError:
        return (lambda a, b: a == b), "exact string"


def answer_clusters(answers: list, same) -> np.ndarray:
    """Cluster id per sample: identical strings first, then one comparison per pair of distinct answers."""
    reps: list[str] = []
    ids = []
    for a in answers:
        if a is None or str(a).strip() == "":
            ids.append(-1 - len(ids))  # no answer: a cluster of its own
            continue
        a = str(a)
        for k, r in enumerate(reps):
            if a == r or same(a, r):
                ids.append(k)
                break
        else:
            reps.append(a)
            ids.append(len(reps) - 1)
    return np.asarray(ids)


def load(path: Path):
    rows = [json.loads(line) for line in path.open()]
    labels = np.array([[bool(x) for x in r["score"]] for r in rows])
    rm = np.array([[float(x[0] if isinstance(x, list) else x) for x in r["pred_score"]] for r in rows])
    same, how = _equivalence()
    t0 = time.perf_counter()
    clusters = np.stack([answer_clusters(r["pred"], same) for r in rows])
    cluster_s = time.perf_counter() - t0
    agreement = np.stack([(c[:, None] == c[None, :]).sum(1) / len(c) for c in clusters])
    return labels, rm, agreement, how, cluster_s


def evaluate(labels, rm, agreement, splits: int) -> dict[str, list[float]]:
    P, S = labels.shape
    results: dict[str, list[float]] = {}
    add = lambda k, v: results.setdefault(k, []).append(100 * v)  # noqa: E731
    for seed in range(splits):
        rng = np.random.default_rng(seed)
        train = np.zeros(P, bool)
        train[rng.permutation(P)[: P // 2]] = True
        te = ~train
        y = labels[te]
        groups = np.repeat(np.arange(P), S).reshape(P, S)
        add("pass@8 (oracle)", y.any(1).mean())
        add("first sample", y[:, 0].mean())
        add("majority vote", select_at_1(agreement[te], y, seed=seed))
        add("single RM", select_at_1(rm[te], y, seed=seed))

        rm_cut = np.median(rm[train])
        votes = np.stack([(rm > rm_cut), (agreement > 0.5)], axis=-1).astype(np.int64)
        lm = LabelModel().fit(votes[train].reshape(-1, 2), groups=groups[train].ravel())
        add("ws binary (RM + MV)", select_at_1(
            lm.log_odds(votes[te].reshape(-1, 2), groups=groups[te].ravel()).reshape(y.shape), y, seed=seed))

        feats = np.stack([rm, agreement], axis=-1)
        cm = ContinuousLabelModel(n_bins=5, dependent_groups=None).fit(
            feats[train].reshape(-1, 2), groups=groups[train].ravel())
        add("ws continuous (RM + MV)", select_at_1(
            cm.log_odds(feats[te].reshape(-1, 2), groups=groups[te].ravel()).reshape(y.shape), y, seed=seed))

        # A third view: the RM z-scored within each problem (Weaver's per-problem normalization).
        rm_z = (rm - rm.mean(1, keepdims=True)) / (rm.std(1, keepdims=True) + 1e-6)
        feats3 = np.stack([rm, rm_z, agreement], axis=-1)
        cm3 = ContinuousLabelModel(n_bins=5, dependent_groups=None).fit(
            feats3[train].reshape(-1, 3), groups=groups[train].ravel())
        add("ws continuous (RM, RM-z, MV)", select_at_1(
            cm3.log_odds(feats3[te].reshape(-1, 3), groups=groups[te].ravel()).reshape(y.shape), y, seed=seed))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"missing data file {args.data} (expected beside the checkout in shared/data/)", file=sys.stderr)
        return 2
    labels, rm, agreement, how, cluster_s = load(args.data)
    P, S = labels.shape
    print(f"# {P} problems x {S} responses; answers clustered by {how} ({cluster_s:.1f} s); "
          f"held-out Select@1 (%) over {args.splits} random 50/50 splits, mean (std)")
    results = evaluate(labels, rm, agreement, args.splits)
    for name, vals in results.items():
        print(f"{name:26s} {np.mean(vals):6.1f} ({np.std(vals):.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
