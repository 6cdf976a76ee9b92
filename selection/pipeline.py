"""``run_selection(cfg)``: load, split, fit every method on train, evaluate on test, report.

The split is by problem and drawn from ``data_cfg.random_seed``; with ``train_split=1.0`` the
test split IS the training split (the reference's headline setting) and results.json says so.
Labels are read only by metrics and by the methods that declare it; every use is listed
under ``labels_used``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from selection.config import to_dict
from selection.data import SelectionData, load_selection_data
from selection.methods import get_method
from selection.metrics import difficulty_groups, select, selection_metrics
from selection.prepare import Preprocessor
from toolkit.errors import InputError

METRIC_KEYS = ("select_at_1", "pass_at_k", "gap", "sample_accuracy", "n_problems")


def shuffle_samples(data: SelectionData, rng: np.random.Generator) -> SelectionData:
    """Random order of each problem's samples; padding slots stay last."""
    keys = np.where(data.valid, rng.random(data.valid.shape), 2.0)
    return data.take_slots(np.argsort(keys, axis=1, kind="stable"))


def limit_samples(data: SelectionData, amount) -> SelectionData:
    """Keep the first ``amount`` (fraction <= 1 or count > 1) real samples of each problem."""
    if amount is None or (amount <= 1 and float(amount) == 1.0):
        return data
    n = data.valid.sum(axis=1)
    k = np.ceil(n * amount).astype(int) if amount < 1 else np.minimum(n, int(amount))
    return first_k_samples(data, np.maximum(k, np.minimum(n, 1)))


def first_k_samples(data: SelectionData, k) -> SelectionData:
    """Keep the first ``k`` (a count, or one count per problem) real samples of each problem."""
    k = np.minimum(np.broadcast_to(np.asarray(k), (data.n_problems,)), data.valid.sum(axis=1))
    width = max(int(k.max(initial=1)), 1)
    view = data.take_slots(np.broadcast_to(np.arange(width), (data.n_problems, width)))
    keep = np.arange(width)[None, :] < k[:, None]
    view.sample_ids = np.where(keep, view.sample_ids, -1)
    return view


def split_problems(n: int, cfg, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """(train indices, test indices, evaluated_on_training_set)."""
    d = cfg.data_cfg
    order = rng.permutation(n)
    if d.train_split >= 1.0:
        train, test, same = order, order, True
    else:
        n_train = min(max(1, round(d.train_split * n)), n - 1)
        if n < 2:
            raise InputError("a held-out split needs at least 2 problems; use data_cfg.train_split=1.0")
        train, test, same = order[:n_train], order[n_train:], False
    q = d.train_queries
    if q is not None and not (q <= 1 and float(q) == 1.0):
        n_q = max(1, math.ceil(len(train) * q)) if q < 1 else min(len(train), int(q))
        train = train[:n_q]
    return np.sort(train), np.sort(test), same


MIN_VARYING_PROBLEMS = 0.05


def _varies_within(scores: np.ndarray, valid: np.ndarray) -> float:
    """Share of problems (with 2+ scored samples) on which the verifier's scores differ."""
    x = np.where(valid & ~np.isnan(scores), scores, np.nan)
    scored = (~np.isnan(x)).sum(axis=1)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmax(x, axis=1) - np.nanmin(x, axis=1)
    eligible = scored >= 2
    if not eligible.any():
        return 1.0  # one sample per problem: nothing to tell apart, nothing to judge by
    return float(np.mean(spread[eligible] > 0))


def drop_unusable_verifiers(data: SelectionData, train_idx: np.ndarray) -> tuple[SelectionData, dict[str, str]]:
    """Leave out verifiers that carry no information on the training split, and say why.

    All scores missing, or one value for every sample: no label model can learn anything from
    them, and some would divide by zero. One value per problem (a problem-level confidence):
    it cannot choose between a problem's samples, yet it tracks how easy problems are, and a
    label model would take that for correctness and let it override the real verifiers. Raises a one-line InputError when none is left.
    """
    scores = data.scores[train_idx]
    valid = data.valid[train_idx]
    dropped: dict[str, str] = {}
    keep = []
    for j, v in enumerate(data.verifiers):
        col = scores[:, :, j][valid]
        seen = col[~np.isnan(col)]
        if seen.size == 0:
            dropped[v.name] = "every score on the training split is missing"
        elif np.ptp(seen) == 0:
            dropped[v.name] = f"the same score ({seen[0]:g}) for every training sample"
        elif _varies_within(scores[:, :, j], valid) < MIN_VARYING_PROBLEMS:
            dropped[v.name] = ("one score for all samples of a problem on over 95% of training problems: "
                               "it cannot tell a problem's samples apart")
        else:
            keep.append(j)
    if not keep:
        reasons = "; ".join(f"{n}: {why}" for n, why in dropped.items())
        raise InputError(f"no usable verifier on the training split ({reasons})")
    return (data.take_verifiers(keep) if dropped else data), dropped


def _metrics(scores, split, seed, labels_used: bool, problems=None) -> dict[str, Any]:
    chosen = select(scores, split.valid, seed)
    out = selection_metrics(chosen, split.labels, split.valid, problems)
    return {**out, "labels_used": labels_used}


def k_values(max_k: int) -> list[int]:
    ks = [1]
    while ks[-1] * 2 < max_k:
        ks.append(ks[-1] * 2)
    return ks + ([max_k] if max_k > 1 else [])


def run_selection(cfg, dataset=None) -> dict[str, Any]:
    """The selection stage; ``dataset`` (an HF Dataset already in memory) replaces loading
    ``data_cfg.dataset_path`` (the Python API and the benches use it; the path is still recorded)."""
    from toolkit.dataset_io import load_dataset_from_path

    d = cfg.data_cfg
    if dataset is None:
        if not d.dataset_path:
            raise InputError("data_cfg.dataset_path is required (a .hf folder, .jsonl/.parquet file or hub id)")
        dataset = load_dataset_from_path(str(d.dataset_path))
    data = load_selection_data(dataset, cfg.verifier_cfg, d.difficulty_column)
    rng = np.random.default_rng(int(d.random_seed))
    if d.shuffle_samples:
        data = shuffle_samples(data, rng)
    train_idx, test_idx, same = split_problems(data.n_problems, cfg, rng)
    data, dropped = drop_unusable_verifiers(data, train_idx)
    train = limit_samples(data.take_problems(train_idx), d.train_samples)
    test = train if same else limit_samples(data.take_problems(test_idx), d.test_samples)

    pre = Preprocessor(cfg).fit(train)
    p_train, p_test = pre.transform(train), pre.transform(test)
    names = list(dict.fromkeys(list(cfg.methods) + [cfg.model_cfg.model_type]))
    if d.calibration_problems and "weak_supervision_calibrated" not in names:
        names.append("weak_supervision_calibrated")  # the small-label row, beside the label-free default
    methods, results = {}, {}
    seed = int(d.random_seed)
    scores_test, scores_train = {}, {}
    for name in names:
        method = get_method(name, cfg)
        start = time.perf_counter()
        method.fit(p_train)
        fit_seconds = time.perf_counter() - start
        s_train, s_test = method.score(p_train), method.score(p_test)
        methods[method.name], scores_test[method.name] = method, s_test
        scores_train[method.name] = s_train
        used = method.uses_labels
        results[method.name] = {
            "kind": method.kind, "description": method.description, "labels_used": used,
            "label_use": method.label_use(), "fit_seconds": round(fit_seconds, 4),
            "train": _metrics(s_train, p_train, seed, used),
            "test": _metrics(s_test, p_test, seed, used),
            "info": method.info,
        }

    source, groups = difficulty_groups(test.difficulty, test.labels, test.valid)
    per_difficulty = {g: {n: _metrics(s, p_test, seed, results[n]["labels_used"], mask)
                          for n, s in scores_test.items()} for g, mask in groups.items()}
    warnings = list(data.notes) + [f"verifier {n} left out: {why}" for n, why in dropped.items()]
    if same:
        warnings.append("evaluated on the training set (data_cfg.train_split=1.0): test metrics are "
                        "training metrics, as in the reference's headline numbers")
    label_uses = {n: r["label_use"] for n, r in results.items() if r["labels_used"]}
    out: dict[str, Any] = {
        "config": to_dict(cfg),
        "dataset": {"path": str(d.dataset_path), "n_problems": data.n_problems,
                    "max_samples": int(data.valid.sum(axis=1).max()),
                    "verifiers": [{"name": v.name, "column": v.column, "kind": v.kind, "size_b": v.size_b}
                                  for v in data.verifiers],
                    "prepared_verifiers": p_train.names,
                    "dropped_verifiers": dropped},
        "split": {"train_problems": int(len(train_idx)), "test_problems": int(len(test_idx)),
                  "evaluated_on_training_set": same, "random_seed": seed,
                  "train_ids": data.problem_ids[train_idx].tolist(),
                  "test_ids": data.problem_ids[test_idx].tolist()},
        "primary_method": methods[cfg.model_cfg.model_type].name,
        "methods": results,
        "per_difficulty": {"source": source, "split": "test", "groups": per_difficulty},
        "labels_used": label_uses,
        "warnings": warnings,
    }
    primary = methods[cfg.model_cfg.model_type]
    out["reliability"] = reliability(primary, scores_train[primary.name], p_train, cfg, dropped)
    if cfg.k_curve:
        out["k_curve"] = k_curve(methods, pre, test, seed)
    if cfg.output_dir:
        write_outputs(out, cfg, methods, pre, data, dataset, train_idx, test_idx, same)
    return out


def reliability(method, scores: np.ndarray, split, cfg, dropped: dict[str, str]) -> dict[str, Any]:
    """Per verifier: estimated (label-free posterior) beside true quality, on the training split
    (``scores``: the method's scores of that split)."""
    from selection.report import verifier_reliability

    valid = split.valid
    post = method.probability(scores)[valid]
    post = np.clip(np.nan_to_num(post, nan=0.5), 0.0, 1.0)
    info = method.info.get("all", {}) if isinstance(method.info, dict) else {}
    status = dict(info.get("dropped", {}))
    weights = None
    if "tpr" in info:
        weights = {n: float(np.log(t / (1 - info["tnr"][n])) - np.log((1 - t) / info["tnr"][n]))
                   for n, t in info["tpr"].items() if 0 < t < 1 and 0 < info["tnr"][n] < 1}
    labels = split.labels[valid]
    report = verifier_reliability(split.scores[valid], post, split.names, labels=labels,
                                  threshold=cfg.data_cfg.reward_threshold, status=status, weights=weights)
    blank = {k: None for k in report["verifiers"][0]} if report["verifiers"] else {}
    for name, why in dropped.items():
        report["verifiers"].append({**blank, "name": name, "status": "dropped: " + why})
    report["dependent_groups"] = info.get("dependent_groups", [])
    report["method"] = method.name
    report["split"] = "train"
    return report


def k_curve(methods: dict, pre: Preprocessor, test: SelectionData, seed: int) -> dict[str, Any]:
    """Select@1 on the test split using only the first k samples of each problem."""
    max_k = int(test.valid.sum(axis=1).max(initial=1))
    ks = k_values(max_k)
    curve = {name: [] for name in methods}
    for k in ks:
        view = pre.transform(first_k_samples(test, k))
        for name, method in methods.items():
            chosen = select(method.score(view), view.valid, seed)
            curve[name].append(selection_metrics(chosen, view.labels, view.valid)["select_at_1"])
    return {"split": "test", "k": ks, "select_at_1": curve}


def write_outputs(out, cfg, methods, pre, data, dataset, train_idx, test_idx, same) -> None:
    folder = Path(cfg.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if cfg.data_cfg.save_weaver_scores:
        from selection.save import save_weaver_scores

        primary = methods[cfg.model_cfg.model_type] if cfg.model_cfg.model_type in methods else \
            methods[out["primary_method"]]
        path = cfg.data_cfg.weaver_scores_path or str(folder / "weaver_scores.hf")
        out["weaver_scores_path"] = str(save_weaver_scores(dataset, data, primary, pre, path, cfg,
                                                           train_idx, test_idx, same))
    if cfg.plot:
        from selection.plot import plot_results

        out["plots"] = [str(p) for p in plot_results(out, folder)]
    from selection.report import write_reliability_report

    paths = write_reliability_report(out["reliability"], folder, groups=out["reliability"]["dependent_groups"],
                                     title=f"Verifier reliability ({out['reliability']['method']}, training split)")
    out["reliability_report"] = [str(p) for p in paths]
    write_json_atomic(folder / "results.json", out)


def write_json_atomic(path: Path, value) -> None:
    from toolkit.run_store import write_text_atomic

    write_text_atomic(path, json.dumps(value, indent=2, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def format_table(results: dict[str, Any]) -> str:
    """The per-method summary printed by run.py (test split; train beside it)."""
    rows = [("method", "labels", "test S@1", "pass@k", "gap", "sample acc", "train S@1", "n test")]
    for name, r in results["methods"].items():
        t, tr = r["test"], r["train"]
        rows.append((name, "yes" if r["labels_used"] else "no", _pct(t["select_at_1"]), _pct(t["pass_at_k"]),
                     _pct(t["gap"]), _pct(t["sample_accuracy"]), _pct(tr["select_at_1"]), str(t["n_problems"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    split = results["split"]
    head = (f"{results['dataset']['n_problems']} problems, {len(results['dataset']['prepared_verifiers'])} "
            f"verifiers; train {split['train_problems']} / test {split['test_problems']} problems")
    tail = []
    if split["evaluated_on_training_set"]:
        tail.append("WARNING: test split = training split (train_split=1.0); numbers are not held out.")
    for name, why in results["dataset"].get("dropped_verifiers", {}).items():
        tail.append(f"WARNING: verifier {name} left out: {why}")
    for name, use in results["labels_used"].items():
        tail.append(f"labels used by {name}: {use}")
    return "\n".join([head, *lines, *tail])


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"
