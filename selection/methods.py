"""Selection methods: one registry entry each, every entry declaring whether it reads labels.

A method is fitted on the training split (``fit``) and then gives every sample of any split a
score (``score``: (problems, slots), higher = more likely correct, NaN = no opinion); the
sample with the top score is selected (ties at random, ``selection.metrics.select``).

``label_use`` says how a method used labels, if at all; results.json reports it per method.
Label-free: weak_supervision, weak_supervision_continuous, first_sample, majority_vote,
naive_ensemble. Supervised (labels of the training split): top1_verifier, naive_bayes,
logistic_regression. Oracle (labels of the split it scores): coverage, i.e. pass@k.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from selection.metrics import select, selection_metrics
from selection.prepare import Prepared, answer_counts
from toolkit.errors import InputError
from toolkit.registry import Registry


class Method:
    name = ""
    kind = "label_free"  # label_free / supervised / oracle
    description = ""

    def __init__(self, cfg):
        self.cfg = cfg
        self.seed = int(cfg.data_cfg.random_seed)
        self.info: dict[str, Any] = {}

    def fit(self, train: Prepared) -> None:
        """Learn from the training split (labels only when ``kind`` is supervised)."""

    def score(self, split: Prepared) -> np.ndarray:
        raise NotImplementedError

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """Scores as written to weaver_scores (the weak-supervision methods give P(correct))."""
        return scores

    def label_use(self) -> str | None:
        """How labels were used, or None: reported in results.json as labels_used."""
        if self.kind == "supervised":
            return "fitted on the training split's answer_correct labels"
        if self.kind == "oracle":
            return "reads the evaluated split's answer_correct labels (an upper bound, not a selector)"
        return None

    @property
    def uses_labels(self) -> bool:
        return self.label_use() is not None


METHODS: Registry[Callable[[Any], Method]] = Registry("selection method")


def register(cls):
    METHODS.register(cls.name, cls)
    return cls


def _require_labels(split: Prepared, method: str) -> None:
    if np.isnan(np.where(split.valid, split.labels, np.nan)).all():
        raise InputError(f"{method} needs answer_correct labels on the training split; the dataset has none")


def binarize(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Votes: 1 if score >= threshold, 0 below, -1 where the score is missing."""
    with np.errstate(invalid="ignore"):
        votes = (scores >= threshold).astype(np.int8)
    votes[np.isnan(scores)] = -1
    return votes


@register
class FirstSample(Method):
    name = "first_sample"
    description = "the first generated sample (pass@1)"

    def score(self, split: Prepared) -> np.ndarray:
        return np.where(split.valid, -split.data.sample_ids.astype(np.float64), np.nan)


@register
class MajorityVote(Method):
    name = "majority_vote"
    description = "a sample with the most frequent extracted answer"

    def score(self, split: Prepared) -> np.ndarray:
        counts = answer_counts(split.data.answer_codes, split.valid)
        min_count = self.cfg.model_params.majority_vote.min_count
        return np.where(counts >= min_count, counts, np.nan)


@register
class Coverage(Method):
    name = "coverage"
    kind = "oracle"
    description = "pass@k: a correct sample whenever one exists"

    def score(self, split: Prepared) -> np.ndarray:
        return np.where(split.valid, np.nan_to_num(split.labels, nan=0.0), np.nan)


@register
class NaiveEnsemble(Method):
    name = "naive_ensemble"
    description = "mean normalized verifier score"

    def score(self, split: Prepared) -> np.ndarray:
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmean(split.scores, axis=-1)


@register
class Top1Verifier(Method):
    name = "top1_verifier"
    kind = "supervised"
    description = "the single verifier with the best Select@1 on the training split"

    def fit(self, train: Prepared) -> None:
        _require_labels(train, self.name)
        best, best_acc = 0, -1.0
        for v, name in enumerate(train.names):
            chosen = select(train.scores[:, :, v], train.valid, self.seed)
            acc = selection_metrics(chosen, train.labels, train.valid)["select_at_1"] or 0.0
            if acc > best_acc:
                best, best_acc = v, acc
        self.index = best
        self.info = {"verifier": train.names[best], "train_select_at_1": best_acc}

    def score(self, split: Prepared) -> np.ndarray:
        return split.scores[:, :, self.index]


def _flat_items(split: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Scores (items, V) and labels (items,) of real samples with a known label."""
    mask = split.valid & ~np.isnan(split.labels)
    return split.scores[mask], split.labels[mask]


@register
class NaiveBayes(Method):
    name = "naive_bayes"
    kind = "supervised"
    description = "verifier TPR/TNR counted on labelled training votes, votes assumed independent"

    def fit(self, train: Prepared) -> None:
        _require_labels(train, self.name)
        x, y = _flat_items(train)
        votes = binarize(x, self.cfg.data_cfg.reward_threshold)
        p = self.cfg.model_params.naive_bayes
        pos, neg = y == 1, y == 0
        tpr = ((votes == 1) & pos[:, None]).sum(0) / np.maximum(((votes >= 0) & pos[:, None]).sum(0), 1)
        tnr = ((votes == 0) & neg[:, None]).sum(0) / np.maximum(((votes >= 0) & neg[:, None]).sum(0), 1)
        self.tpr, self.tnr = np.clip(tpr, p.clip_min, p.clip_max), np.clip(tnr, p.clip_min, p.clip_max)
        self.prior = float(np.clip(y.mean(), p.clip_min, p.clip_max))
        self.info = {"tpr": dict(zip(train.names, self.tpr.round(4).tolist())),
                     "tnr": dict(zip(train.names, self.tnr.round(4).tolist())), "class_balance": self.prior}

    def score(self, split: Prepared) -> np.ndarray:
        votes = binarize(split.scores, self.cfg.data_cfg.reward_threshold)
        on = np.log(self.tpr) - np.log(1 - self.tnr)
        off = np.log(1 - self.tpr) - np.log(self.tnr)
        llr = np.where(votes == 1, on, np.where(votes == 0, off, 0.0)).sum(-1)
        prior = np.log(self.prior) - np.log1p(-self.prior)
        return np.where(split.valid, prior + llr, np.nan)


@register
class LogisticRegressionMethod(Method):
    name = "logistic_regression"
    kind = "supervised"
    description = "logistic regression on normalized scores, fitted on labelled training samples"

    def fit(self, train: Prepared) -> None:
        from sklearn.linear_model import LogisticRegression

        _require_labels(train, self.name)
        x, y = _flat_items(train)
        with np.errstate(all="ignore"):
            self.fill = np.nan_to_num(np.nanmean(x, axis=0), nan=0.5)
        x = np.where(np.isnan(x), self.fill, x)
        if len(np.unique(y)) < 2:
            self.model = None
            self.constant = float(y.mean()) if len(y) else 0.5
            self.info = {"note": "one class in the training labels: every sample scores the same"}
            return
        params = {k: v for k, v in dict(self.cfg.model_params.logistic_regression).items() if v is not None}
        self.model = LogisticRegression(**params)
        self.model.fit(x, y.astype(int))
        self.info = {"coef": dict(zip(train.names, self.model.coef_[0].round(4).tolist()))}

    def score(self, split: Prepared) -> np.ndarray:
        out = np.full(split.valid.shape, np.nan)
        x = split.scores[split.valid]
        x = np.where(np.isnan(x), self.fill, x)
        out[split.valid] = self.model.decision_function(x) if self.model is not None and len(x) else \
            getattr(self, "constant", 0.0)
        return out


def load_method_modules() -> None:
    """Import the modules whose methods register themselves here (weak supervision)."""
    import selection.weak_supervision  # noqa: F401


def get_method(name: str, cfg) -> Method:
    load_method_modules()
    return METHODS.get(name)(cfg)
