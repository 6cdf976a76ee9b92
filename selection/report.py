"""Verifier reliability report: how good each weak verifier looks to the label-free model.

For items i and verifiers j, ``scores[i, j]`` is a normalized score in [0, 1] or NaN (the
verifier abstained) and ``posterior[i]`` = P(item correct | all evidence) from the fitted model.
Every "estimated" number weights item i as correct with ``posterior[i]`` and as incorrect with
``1 - posterior[i]``; the "true" numbers use the same formulas with ``labels`` (1/0, NaN = unknown)
as 0/1 weights. The model never reads the labels; they only sit beside the estimates.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _r(x) -> float | None:
    """Round to 4 decimals; None for missing or non-finite values."""
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _rate(hit: np.ndarray, w: np.ndarray) -> float | None:
    """Weighted share of ``hit`` under weights ``w``; None when the weights sum to zero."""
    total = w.sum()
    return float((w * hit).sum() / total) if total > 0 else None


def weighted_auc(s: np.ndarray, pos: np.ndarray, neg: np.ndarray, _groups=None) -> float | None:
    """P(score of a positive > score of a negative), ties 1/2; items drawn with weights pos / neg.

    Equals sum_{i,k} pos_i neg_k ([s_i > s_k] + [s_i == s_k] / 2) / (sum pos * sum neg), the pair
    i == k included, computed in O(n log n) by grouping equal scores. None if a class has no mass.
    ``_groups`` = ``np.unique(s, return_inverse=True)``, to reuse one sort for several weightings.
    """
    p_tot, n_tot = pos.sum(), neg.sum()
    if p_tot <= 0 or n_tot <= 0:
        return None
    values, inv = _groups if _groups is not None else np.unique(s, return_inverse=True)
    p_at = np.bincount(inv, weights=pos, minlength=len(values))  # mass at each distinct score
    n_at = np.bincount(inv, weights=neg, minlength=len(values))
    n_below = np.cumsum(n_at) - n_at  # negative mass strictly below each distinct score
    return float((p_at * (n_below + 0.5 * n_at)).sum() / (p_tot * n_tot))


def _corr_from_gram(g: np.ndarray, v: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise Pearson correlations (NaN where undefined) and pair masses from a weighted Gram.

    ``g = L.T @ (w * R)`` with L = [m | x | x*x] and R = [m | x] (m: presence mask, x: centred
    scores, 0 where missing), so each entry sums over items where both verifiers are present.
    """
    mass, s1, s2, cross = g[:v, :v], g[v:2 * v, :v], g[2 * v:, :v], g[v:2 * v, v:]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_j, mean_k = s1 / mass, s1.T / mass
        cov = cross / mass - mean_j * mean_k
        var_j, var_k = s2 / mass - mean_j ** 2, s2.T / mass - mean_k ** 2
        ok = (mass > 0) & (var_j > 1e-12) & (var_k > 1e-12)
        corr = np.where(ok, cov / np.sqrt(np.where(ok, var_j * var_k, 1.0)), np.nan)
    return np.clip(corr, -1.0, 1.0), mass


def conditional_correlation(scores: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Within-class correlation averaged over the classes by each pair's class mass (NaN undefined).

    Class 1 weights items by ``posterior``, class 0 by ``1 - posterior``. A class whose correlation
    is undefined for a pair (e.g. a verifier constant within it) is left out of that pair's
    average; the diagonal is 1. Two Gram matrices, no loop over items.
    """
    v = scores.shape[1]
    m = ~np.isnan(scores)
    count = m.sum(0)
    mu = np.divide(np.nansum(scores, 0), count, out=np.zeros(v), where=count > 0)
    x = np.where(m, scores - mu, 0.0)  # centring keeps E[x^2] - E[x]^2 well conditioned
    lhs = np.concatenate([m.astype(float), x, x * x], axis=1)
    rhs = lhs[:, :2 * v]
    g_all, g1 = lhs.T @ rhs, lhs.T @ (rhs * posterior[:, None])
    (c1, w1), (c0, w0) = _corr_from_gram(g1, v), _corr_from_gram(g_all - g1, v)
    w1, w0 = np.where(np.isnan(c1), 0.0, w1), np.where(np.isnan(c0), 0.0, w0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (np.nan_to_num(c1) * w1 + np.nan_to_num(c0) * w0) / (w1 + w0)
    corr = (corr + corr.T) / 2  # exact symmetry despite floating-point order in the products
    np.fill_diagonal(corr, 1.0)
    return corr


def _rates(s: np.ndarray, groups, pos: np.ndarray, neg: np.ndarray, threshold: float) -> tuple:
    """(TPR, TNR, AUC) of one verifier's non-missing scores under class weights pos / neg."""
    vote = s >= threshold
    return _rate(vote, pos), _rate(~vote, neg), weighted_auc(s, pos, neg, groups)


def verifier_reliability(scores: np.ndarray, posterior: np.ndarray, names: list[str], *,
                         labels: np.ndarray | None = None, threshold: float = 0.5,
                         status: dict[str, str] | None = None,
                         weights: dict[str, float] | None = None) -> dict:
    """Per-verifier coverage, vote rate, estimated (and true) TPR/TNR/AUC, plus correlations.

    Returns a JSON-serializable dict with "verifiers", "correlation", "class_balance_estimated",
    "class_balance_true" and "n_items"; see the module docstring for the weighting.
    """
    scores = np.asarray(scores, dtype=float)
    posterior = np.asarray(posterior, dtype=float)
    if scores.ndim != 2 or scores.shape != (len(posterior), len(names)):
        raise ValueError(f"scores {scores.shape} must be (len(posterior), len(names)) = "
                         f"({len(posterior)}, {len(names)})")
    if not np.all(np.isfinite(posterior)):
        raise ValueError("posterior must be finite")
    posterior, n, rows = np.clip(posterior, 0.0, 1.0), len(posterior), []
    if labels is not None:
        labels = np.asarray(labels, dtype=float)
        if labels.shape != posterior.shape:
            raise ValueError(f"labels {labels.shape} must match posterior {posterior.shape}")
        true_pos, true_neg = (labels == 1).astype(float), (labels == 0).astype(float)
    status, weights = status or {}, weights or {}
    for name, column in zip(names, np.ascontiguousarray(scores.T)):  # contiguous per-verifier rows
        present = ~np.isnan(column)
        s = column[present]
        groups = np.unique(s, return_inverse=True)  # one sort serves both AUCs
        est = (_rates(s, groups, posterior[present], 1.0 - posterior[present], threshold)
               if len(s) else (None,) * 3)
        true = (_rates(s, groups, true_pos[present], true_neg[present], threshold)
                if labels is not None and len(s) else (None,) * 3)
        rows.append({"name": name, "status": status.get(name, "used"),
                     "coverage": _r(present.mean()) if n else None,
                     "vote_rate": _r((s >= threshold).mean()) if len(s) else None,
                     **{f"est_{k}": _r(x) for k, x in zip(("tpr", "tnr", "auc"), est)},
                     "weight": _r(weights.get(name)),
                     **{f"true_{k}": _r(x) for k, x in zip(("tpr", "tnr", "auc"), true)}})
    corr = conditional_correlation(scores, posterior)
    known = labels[~np.isnan(labels)] if labels is not None else np.empty(0)
    return {
        "verifiers": rows,
        "correlation": {"names": list(names), "matrix": [[_r(v) for v in row] for row in corr]},
        "class_balance_estimated": _r(posterior.mean()) if n else None,
        "class_balance_true": _r(known.mean()) if len(known) else None,
        "n_items": int(n),
    }


def _markdown(report: dict, groups: list[list[str]] | None, title: str) -> str:
    fmt = lambda v: "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))  # noqa: E731
    rows = report["verifiers"]
    has_true = any(r[f"true_{k}"] is not None for r in rows for k in ("tpr", "tnr", "auc"))
    has_weight = any(r.get("weight") is not None for r in rows)
    cols = [("verifier", "name"), ("status", "status"), ("coverage", "coverage"), ("vote rate", "vote_rate")]
    cols += [(f"{kind} {k.upper()}", f"{kind.rstrip('.')}_{k}") for k in ("tpr", "tnr", "auc")
             for kind in (("est.", "true") if has_true else ("est.",))]  # est. and true side by side
    cols += [("weight", "weight")] if has_weight else []
    cell = lambda r, k: fmt(r.get(k)).replace("|", "\\|")  # noqa: E731
    lines = [f"# {title}", "", f"Items: {report['n_items']}; estimated share correct: "
             f"{fmt(report['class_balance_estimated'])}"
             + (f"; true share correct: {fmt(report['class_balance_true'])}"
                if report.get("class_balance_true") is not None else ""), "",
             "| " + " | ".join(c for c, _ in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r, k) for _, k in cols) + " |" for r in rows]
    if groups:
        lines += ["", "Dependency groups: " + "; ".join("{" + ", ".join(g) + "}" for g in groups)]
    lines += ["", "Estimated (est.) values weight each item by the label-free model's posterior "
              "P(correct); true values use answer_correct, which the model never read. "
              "AUC < 0.5 means the verifier ranks wrong answers above right ones; – = undefined."]
    dropped = [r for r in rows if r["status"] != "used"]
    if dropped:
        lines += ["", "Dropped verifiers:"] + [f"- {r['name']}: {r['status']}" for r in dropped]
    return "\n".join(lines) + "\n"


def _heatmap(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report["correlation"]["names"]
    v = len(names)
    data = np.array([[np.nan if x is None else x for x in row] for row in report["correlation"]["matrix"]],
                    dtype=float).reshape(v, v)
    size = max(4.0, 0.32 * v + 2.5)
    font = max(5.0, min(9.0, 260.0 / max(v, 1)))
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="lightgrey")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks(range(v), names, rotation=90, fontsize=font)
    ax.set_yticks(range(v), names, fontsize=font)
    if v <= 12:  # annotate small matrices
        for (i, k), x in np.ndenumerate(data):
            if np.isfinite(x):
                ax.text(k, i, f"{x:.2f}", ha="center", va="center", fontsize=font - 1,
                        color="white" if abs(x) > 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="conditional correlation (grey = undefined)")
    ax.set_title("Verifier score correlation within class (posterior-weighted)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def write_reliability_report(report: dict, folder, *, groups: list[list[str]] | None = None,
                             title: str = "Verifier reliability") -> list[Path]:
    """Write ``reliability.md`` (table) and ``reliability.png`` (correlation heatmap) atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = _markdown(report, groups, title)
    from toolkit.run_store import write_file_atomic, write_text_atomic

    md = write_text_atomic(folder / "reliability.md", text)
    png = write_file_atomic(folder / "reliability.png", lambda p: _heatmap(report, p))
    return [md, png]
