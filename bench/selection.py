"""Label models side by side on simulated selection data: ours vs snorkel vs the Bayes oracle.

Each scenario draws 500 problems x 100 samples x 30 verifiers (selection.simulate), fits
every label model on the votes of half the problems (no labels) and reports Select@1 on
the other half, averaged over seeds. Votes are the scores binarized at the thresholds
where the planted TPR/TNR hold; every binary model sees the same votes.

Rows: ours (LabelModel, per-problem class balance), ours+deps (dependent groups detected
and merged), ours continuous (quantile-bin EM on the raw scores), snorkel's LabelModel
(label-free: its default uniform class balance; samples ranked by its log-odds from its
learned conditionals, so that saturated probabilities do not create ties), majority of
votes, first sample, the Bayes oracle on the votes (the bound for binary models) and on
the scores, and pass@k. Ties are broken at random with a fixed seed.

    python bench/selection.py [--problems 500 --samples 100 --verifiers 30 --seeds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threaded BLAS crawls on a shared 2-core machine
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from selection.continuous import ContinuousLabelModel  # noqa: E402
from selection.dependencies import DependencyAwareLabelModel  # noqa: E402
from selection.label_model import LabelModel  # noqa: E402
from selection.simulate import bayes_oracle_scores, select_at_1, simulate  # noqa: E402

HARD_LEVELS = (0.4, 0.25, 0.15, 0.08, 0.04)  # share of correct samples per level: keeps Select@1 off the ceiling
# independent: TPR/TNR uniform in [0.55, 0.75]; weak: in [0.52, 0.62];
# correlated: 10 of the 30 verifiers share a common factor, correlation 0.8 given the label.
SCENARIOS = {
    "independent": dict(accuracy_range=(0.55, 0.75)),
    "correlated": dict(accuracy_range=(0.55, 0.75), group_size=10, correlation=0.8),
    "weak-independent": dict(accuracy_range=(0.52, 0.62)),
    "weak-correlated": dict(accuracy_range=(0.52, 0.62), group_size=10, correlation=0.8),
}


def snorkel_log_odds(train_votes, test_votes, seed):
    """Fit snorkel's LabelModel; return its log-odds per test item and the fit time."""
    import torch
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model = SnorkelLabelModel(cardinality=2, verbose=False)
    model.fit(train_votes, n_epochs=500, lr=0.01, seed=seed, progress_bar=False)
    fit_s = time.perf_counter() - t0
    cond = np.clip(model.get_conditional_probs(), 1e-6, 1.0)  # (verifiers, abstain/0/1, y=0/1)
    log_ratio = np.log(cond[:, :, 1]) - np.log(cond[:, :, 0])  # per verifier and vote value
    rows = test_votes + 1  # -1/0/1 -> 0/1/2
    # Its prior is uniform (label-free default), a constant that does not change the ranking.
    return log_ratio[np.arange(test_votes.shape[1]), rows].sum(axis=1), fit_s


def run_scenario(kw, args, seed):
    sim = simulate(args.problems, args.samples, args.verifiers, seed=seed, level_balance=HARD_LEVELS, **kw)
    votes, labels, scores = sim.votes(), sim.labels, sim.scores
    P, S, m = votes.shape
    rng = np.random.default_rng(seed)
    train = np.zeros(P, bool)
    train[rng.permutation(P)[: P // 2]] = True
    groups = np.repeat(np.arange(P), S).reshape(P, S)
    tr_votes, te_votes = votes[train].reshape(-1, m), votes[~train].reshape(-1, m)
    tr_groups, te_groups = groups[train].ravel(), groups[~train].ravel()
    te_labels = labels[~train]
    shape = te_labels.shape
    out, times = {}, {}

    def timed(name, fit):
        t0 = time.perf_counter()
        model = fit()
        times[name] = time.perf_counter() - t0
        return model

    lm = timed("ours", lambda: LabelModel().fit(tr_votes, groups=tr_groups))
    out["ours"] = lm.log_odds(te_votes, groups=te_groups)
    dm = timed("ours+deps", lambda: DependencyAwareLabelModel().fit(tr_votes, groups=tr_groups))
    out["ours+deps"] = dm.log_odds(te_votes, groups=te_groups)
    cm = timed("ours continuous", lambda: ContinuousLabelModel().fit(
        scores[train].reshape(-1, m), groups=tr_groups, thresholds=sim.truth.thresholds))
    out["ours continuous"] = cm.log_odds(scores[~train].reshape(-1, m), groups=te_groups)
    out["snorkel"], times["snorkel"] = snorkel_log_odds(tr_votes, te_votes, seed)
    out = {k: v.reshape(shape) for k, v in out.items()}
    out["majority of votes"] = (votes[~train] == 1).sum(-1).astype(float)
    out["first sample"] = np.tile(-np.arange(S, dtype=float), (shape[0], 1))
    out["bayes oracle (votes)"] = bayes_oracle_scores(sim, from_votes=True)[~train]
    out["bayes oracle (scores)"] = bayes_oracle_scores(sim, from_votes=False)[~train]
    result = {k: 100 * select_at_1(v, te_labels, seed=seed) for k, v in out.items()}
    result["pass@k"] = 100 * float(te_labels.any(axis=1).mean())
    found = dm.dependent_groups_ == ([sim.truth.correlated_group] if sim.truth.correlated_group else [])
    return result, times, found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--verifiers", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    args = ap.parse_args(argv)
    print(f"# {args.problems} problems x {args.samples} samples x {args.verifiers} verifiers; "
          f"fit on half the problems, Select@1 (%) on the other half, mean over {args.seeds} seeds")
    for name in args.scenarios.split(","):
        runs = [run_scenario(SCENARIOS[name], args, seed) for seed in range(args.seeds)]
        mean = {k: np.mean([r[0][k] for r in runs]) for k in runs[0][0]}
        fit = {k: np.mean([r[1][k] for r in runs]) for k in runs[0][1]}
        found = sum(r[2] for r in runs)
        oracle = mean["bayes oracle (votes)"]
        print(f"\n## {name}  (dependent group recovered exactly in {found}/{len(runs)} runs)")
        print(f"{'method':24s} {'Select@1':>8s} {'vs oracle':>9s} {'vs snorkel':>10s} {'fit s':>6s}")
        for k, v in mean.items():
            t = f"{fit[k]:6.2f}" if k in fit else ""
            print(f"{k:24s} {v:8.1f} {v - oracle:+9.1f} {v - mean['snorkel']:+10.1f} {t}")
        print(f"fit time ratio snorkel/ours: {fit['snorkel'] / fit['ours']:.1f}x, "
              f"snorkel/ours+deps: {fit['snorkel'] / fit['ours+deps']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
