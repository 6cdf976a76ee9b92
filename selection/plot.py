"""PNG figures of a selection run: Select@1 per method, and Select@1 against samples k."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_results(results: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    paths = []
    methods = {n: r for n, r in results["methods"].items() if n != "coverage"}
    values = [100 * (r["test"]["select_at_1"] or 0.0) for r in methods.values()]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(methods) + 2), 4))
    colors = ["#c0504d" if r["labels_used"] else "#4f81bd" for r in methods.values()]
    bars = ax.bar(range(len(methods)), values, color=colors)
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(len(methods)), list(methods), rotation=30, ha="right")
    ax.set_ylabel("Select@1 (%)")
    pass_at_k = next((r["test"]["pass_at_k"] for r in results["methods"].values()
                      if r["test"]["pass_at_k"] is not None), None)
    if pass_at_k is not None:
        ax.axhline(100 * pass_at_k, color="black", linestyle="--", label=f"pass@k {100 * pass_at_k:.1f}")
    if "majority_vote" in results["methods"] and results["methods"]["majority_vote"]["test"]["select_at_1"]:
        mv = 100 * results["methods"]["majority_vote"]["test"]["select_at_1"]
        ax.axhline(mv, color="gray", linestyle=":", label=f"majority vote {mv:.1f}")
    split = "training split (not held out)" if results["split"]["evaluated_on_training_set"] else "test split"
    ax.set_title(f"Select@1 on the {split}; red = uses labels", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_ylim(0, 105)
    fig.tight_layout()
    paths.append(folder / "select_at_1.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    curve = results.get("k_curve")
    if curve and len(curve["k"]) > 1:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, ys in curve["select_at_1"].items():
            label = "pass@k (coverage)" if name == "coverage" else name
            style = "--" if name == "coverage" else "-"
            ax.plot(curve["k"], [100 * (y or 0.0) for y in ys], style, marker="o", markersize=3, label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("samples per problem k")
        ax.set_ylabel("Select@1 (%)")
        ax.set_title("Select@1 against the number of samples", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(folder / "select_at_1_vs_k.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths
