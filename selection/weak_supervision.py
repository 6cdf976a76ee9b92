"""Weaver's weak supervision: many weak verifiers -> P(correct | evidence), without labels.

Steps, all fitted on the training split and applied unchanged to any split:
1. evidence (``evidence``): ``continuous`` (default) gives the label model each verifier's
   score, binned by quantiles of its rank (``selection.continuous``); ``binary`` binarizes the
   normalized scores at ``data_cfg.reward_threshold`` (Weaver's votes). Missing = abstain;
2. drop verifiers whose vote rate is extreme (``drop_imbalanced_verifiers``): ``all`` keeps
   0.1 < rate < 0.9, ``small`` drops those that rarely say correct (keeps rate > 0.5),
   ``large`` drops those that nearly always say correct (keeps rate < 0.5), ``adaptive``
   picks one of those rules from a class balance estimated WITHOUT labels (hard problems
   -> large, easy -> small). With continuous evidence there is no vote, so every rule but
   ``none`` drops only nearly constant verifiers (one value for over 90% of samples).
   If a rule would drop every verifier, all are kept;
3. drop or merge groups of dependent verifiers found without labels (``use_deps``: none /
   drop / model (= merge), ``selection.dependencies``);
4. fit the label model; the class balance is estimated by it unless
   ``cb_args.class_balance`` is a float or ``labels`` (the reference's headline setting,
   reported as a label use);
5. answer pooling (``answer_pooling``: auto / true / false, ``selection.answers``): where
   samples have extracted answers, the evidence of samples sharing an answer is pooled and
   the answer's popularity is a learned prior; a sample's score is its answer's log-odds.

``model_cfg.model_class``: ``per_dataset`` one model, one class balance; ``per_problem`` one
model with a class balance per problem (re-estimated label-free on test problems);
``cluster`` one model per cluster of problems grouped by a label-free feature.
The score is the posterior log-odds (monotone in P(correct | evidence), without the rounding
of probabilities to exactly 1.0 that would create false ties).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from selection.methods import Method, binarize, register
from selection.prepare import Prepared, answer_counts
from toolkit.errors import InputError

MIN_CLUSTER_ITEMS = 50
_CB_CLIP = (0.01, 0.99)


def vote_rates(votes: np.ndarray) -> np.ndarray:
    """Share of 'correct' votes per verifier among non-missing votes (NaN if it never voted)."""
    seen = (votes >= 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, (votes == 1).sum(axis=0) / np.maximum(seen, 1), np.nan)


def balanced_verifiers(rates: np.ndarray, rule: str) -> np.ndarray:
    """Indices kept by ``rule``; every verifier when the rule keeps none."""
    r = np.nan_to_num(rates, nan=-1.0)
    if rule == "all":
        keep = (r > 0.1) & (r < 0.9)
    elif rule == "small":
        keep = r > 0.5
    elif rule == "large":
        keep = (r < 0.5) & (r >= 0)
    elif rule == "small_continuous":  # continuous evidence: drop only nearly constant verifiers
        keep = r > 0.1
    else:
        keep = r >= 0
    if not keep.any():
        keep = r >= 0
    return np.flatnonzero(keep)


def adaptive_rule(class_balance: float) -> str:
    """The reference's adaptive rule, fed an estimated (not labelled) class balance."""
    if class_balance < 0.2:
        return "large"
    if class_balance > 0.8:
        return "small"
    return "all"


def estimate_class_balance(votes: np.ndarray, groups=None, label_model_kwargs=None) -> float:
    """Label-free class balance: a label model fitted on the non-degenerate verifiers."""
    from selection.label_model import LabelModel

    rates = vote_rates(votes)
    usable = np.flatnonzero((rates > 0.01) & (rates < 0.99))
    if len(usable) < 3:
        return float(np.clip(np.nanmean(np.where(votes >= 0, votes, np.nan)), *_CB_CLIP))
    model = LabelModel(**(label_model_kwargs or {})).fit(votes[:, usable], groups=groups)
    return float(model.class_balance_)


def cluster_feature(split: Prepared, cluster_type: str) -> np.ndarray:
    """One label-free number per problem used to group problems into clusters."""
    if cluster_type == "unique_extracted_answers":
        counts = answer_counts(split.data.answer_codes, split.valid)
        with np.errstate(all="ignore"):
            share = np.nanmax(counts, axis=1) / np.maximum(split.valid.sum(axis=1), 1)
        return np.nan_to_num(share, nan=0.0)  # top-answer share: high = consensus = easy
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nan_to_num(np.nanmean(split.scores, axis=(1, 2)), nan=0.5)


class _Unit:
    """One fitted label model over a subset of verifiers (the dataset, or one cluster)."""

    def __init__(self, keep: np.ndarray, model, rule: str, rates: np.ndarray | None = None):
        self.keep, self.model, self.rule, self.rates = keep, model, rule, rates


@register
class WeakSupervision(Method):
    name = "weak_supervision"
    description = "Weaver: label model over binarized verifier votes, P(correct | votes)"
    params_key = "weak_supervision"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.params = cfg.model_params[self.params_key]
        self.model_class = cfg.model_cfg.model_class
        self.cluster_cfg = cfg.model_cfg.cluster_cfg
        self._label_uses: list[str] = []

    # ---- what the model sees ------------------------------------------------------------------
    @property
    def continuous(self) -> bool:
        return str(getattr(self.params, "evidence", "binary")) == "continuous"

    def features(self, split: Prepared) -> np.ndarray:
        """(P, S, V) inputs of the label model: binary votes, or the scores themselves."""
        if self.continuous:
            return split.scores
        return binarize(split.scores, self.cfg.data_cfg.reward_threshold)

    def rates(self, x: np.ndarray) -> np.ndarray:
        """Vote rates for ``drop_imbalanced_verifiers``.

        Continuous evidence has no threshold to vote at; a verifier is "imbalanced" when it is
        nearly constant, so its rate is the share of samples NOT at its most common value
        (a verifier giving one value to 95% of samples has rate 0.05 and rule ``all`` drops it).
        """
        if not self.continuous:
            return vote_rates(x)
        out = np.full(x.shape[1], np.nan)
        for j in range(x.shape[1]):
            col = x[:, j][~np.isnan(x[:, j])]
            if col.size:
                _, counts = np.unique(col, return_counts=True)
                out[j] = 1.0 - counts.max() / col.size
        return out

    def new_model(self):
        """A LabelModel, or its dependency-aware wrapper when use_deps asks to drop/merge groups."""
        if self.continuous:
            from selection.continuous import ContinuousLabelModel

            options = dict(self.params.options or {})
            if (self.params.use_deps or "none") == "none":
                options.setdefault("dependent_groups", None)
            return _construct(ContinuousLabelModel, options, f"model_params.{self.params_key}.options")
        kwargs = dict(self.params.label_model)
        mode = self.params.use_deps or "none"
        if mode == "none":
            from selection.label_model import LabelModel as model_class
        else:
            from selection.dependencies import DependencyAwareLabelModel as model_class

            kwargs = {"handling": "drop" if mode == "drop" else "merge", **dict(self.params.dependencies),
                      **kwargs}
        return _construct(model_class, kwargs, f"model_params.{self.params_key}.label_model/dependencies")

    # ---- fitting --------------------------------------------------------------------------------
    def _class_balance(self, split: Prepared, problems: np.ndarray, for_test: bool):
        """None (estimate), a float, or per-item balances from labels (reported as a label use)."""
        cb = self.params.cb_args.class_balance if hasattr(self.params, "cb_args") else "estimate"
        if cb == "estimate":
            return None
        if cb != "labels":
            return float(cb)
        if for_test and not self.params.use_label_on_test:
            return None
        labels = np.where(split.valid[problems], split.labels[problems], np.nan)
        if self.model_class == "per_problem":
            with np.errstate(all="ignore"):
                per_problem = np.nanmean(labels, axis=1)
            per_problem = np.clip(np.nan_to_num(per_problem, nan=0.5), *_CB_CLIP)
            values = np.broadcast_to(per_problem[:, None], labels.shape)[split.valid[problems]]
        else:
            values = float(np.clip(np.nanmean(labels), *_CB_CLIP))
        self._label_uses.append("class balance from the " + ("test" if for_test else "training")
                                + " split's labels (cb_args.class_balance=labels)")
        return values

    def _items(self, split: Prepared, problems: np.ndarray, x: np.ndarray):
        """(items, V) inputs of real samples of ``problems`` and their problem index."""
        valid = split.valid[problems]
        groups = np.broadcast_to(problems[:, None], valid.shape)[valid]
        return x[problems][valid], groups

    def _fit_unit(self, split: Prepared, problems: np.ndarray, x: np.ndarray) -> _Unit:
        items, groups = self._items(split, problems, x)
        groups = groups if self.model_class == "per_problem" else None
        rule = self.params.drop_imbalanced_verifiers or "none"
        if rule == "adaptive":
            cb = self._class_balance(split, problems, for_test=False)
            if cb is None:
                cb = estimate_class_balance(binarize_if_needed(items, self), groups,
                                            dict(getattr(self.params, "label_model", {})))
            rule = adaptive_rule(float(np.mean(cb)))
        rates = self.rates(items)
        keep = balanced_verifiers(rates, "small_continuous" if self.continuous and rule != "none" else rule)
        model = self.new_model()
        model.fit(items[:, keep], groups=groups, class_balance=self._class_balance(split, problems, for_test=False))
        return _Unit(keep, model, rule, rates)

    def fit(self, train: Prepared) -> None:
        x = self.features(train)
        problems = np.arange(train.n_problems)
        self.units: dict[int, _Unit] = {}
        self.edges = None
        if self.model_class == "cluster" and self.cluster_cfg.n_clusters > 1:
            assign = self._assign_clusters(train, fit=True)
            for c in np.unique(assign):
                members = problems[assign == c]
                if train.valid[members].sum() >= MIN_CLUSTER_ITEMS:
                    self.units[int(c)] = self._fit_unit(train, members, x)
        self.units[-1] = self._fit_unit(train, problems, x)  # global model, fallback for small clusters
        self.info = self._describe(train.names)
        self._fit_answers(train)

    def _assign_clusters(self, split: Prepared, fit: bool) -> np.ndarray:
        n = self.cluster_cfg.n_clusters
        if self.cluster_cfg.cluster_type == "random":
            rng = np.random.default_rng(self.seed + (0 if fit else 1))
            return rng.integers(0, n, split.n_problems)
        feature = cluster_feature(split, self.cluster_cfg.cluster_type)
        if fit:
            self.edges = np.unique(np.quantile(feature, np.linspace(0, 1, n + 1)[1:-1]))
        return np.searchsorted(self.edges, feature, side="right")

    def _describe(self, names: list[str]) -> dict[str, Any]:
        out = {}
        for c, unit in self.units.items():
            kept = [names[i] for i in unit.keep]
            entry = {"drop_rule": unit.rule, "verifiers": kept,
                     "class_balance": round(float(unit.model.class_balance_), 4)}
            if unit.rates is not None:
                entry["dropped"] = {names[j]: f"dropped by drop_imbalanced_verifiers={unit.rule}: "
                                    f"votes 'correct' on {unit.rates[j]:.0%} of training samples"
                                    for j in range(len(names)) if j not in set(unit.keep.tolist())}
            if hasattr(unit.model, "tpr_") and len(unit.model.tpr_) == len(kept):
                entry["tpr"] = dict(zip(kept, np.round(unit.model.tpr_, 4).tolist()))
                entry["tnr"] = dict(zip(kept, np.round(unit.model.tnr_, 4).tolist()))
            groups = getattr(unit.model, "dependent_groups_", None)
            if groups is not None:
                entry["dependent_groups"] = [[kept[i] for i in g] for g in groups]
            out["all" if c == -1 else f"cluster_{c}"] = entry
        return out

    # ---- scoring --------------------------------------------------------------------------------
    def _evidence_and_prior(self, split: Prepared, per_verifier: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(P, S, m) verifier evidence (log-likelihood ratios) and (P, S) prior log-odds of every
        real sample. m = 1 (the sum) unless ``per_verifier`` and one model covers every problem:
        then one column per verifier / merged group of the model."""
        x = self.features(split)
        per_verifier = per_verifier and len(self.units) == 1
        llr = None
        prior = np.full(split.valid.shape, np.nan)
        if len(self.units) > 1:
            assign = self._assign_clusters(split, fit=False)
            assign = np.where(np.isin(assign, list(self.units)), assign, -1)
        else:
            assign = np.full(split.n_problems, -1)
        for c in np.unique(assign):
            problems = np.flatnonzero(assign == c)
            unit = self.units[int(c)]
            items, groups = self._items(split, problems, x)
            if len(items) == 0:
                continue
            inputs = items[:, unit.keep]
            groups = groups if self.model_class == "per_problem" else None
            cb = self._class_balance(split, problems, for_test=True)
            rows = np.broadcast_to(problems[:, None], split.valid[problems].shape)[split.valid[problems]]
            cols = np.broadcast_to(np.arange(split.valid.shape[1])[None, :],
                                   split.valid[problems].shape)[split.valid[problems]]
            columns = unit.model.verifier_llr(inputs)  # one pass over the inputs: the slow part
            evidence = columns.sum(axis=1)
            if not per_verifier:
                columns = evidence[:, None]
            if llr is None:
                llr = np.full(split.valid.shape + (columns.shape[1],), np.nan)
            llr[rows, cols] = columns
            prior[rows, cols] = unit.model._em.prior_log_odds(evidence, groups, cb)
        if llr is None:
            llr = np.full(split.valid.shape + (1,), np.nan)
        return llr, prior

    def _fit_answers(self, train: Prepared) -> None:
        """Answer pooling (``answer_pooling``: auto / true / false), fitted on training evidence."""
        from selection.answers import AnswerModel, answer_clusters, has_answers

        mode = str(getattr(self.params, "answer_pooling", "false")).lower()
        self.answers = None
        if mode in ("false", "none", "off"):
            return
        clusters = answer_clusters(train.data.answer_codes, train.valid)
        if not has_answers(train.data.answer_codes, train.valid, clusters):
            if mode == "true":
                self.info["answer_pooling"] = "requested, but the training split has no repeated answers"
            return
        llr, _ = self._evidence_and_prior(train, per_verifier=True)
        unit = self.units[-1]
        codes = None
        if llr.shape[-1] < 3 and len(self.units) == 1 and hasattr(unit.model, "codes"):
            items, _ = self._items(train, np.arange(train.n_problems), self.features(train))
            codes = unit.model.codes(items[:, unit.keep])
        if codes is not None:
            self.answers = AnswerModel().fit_joint(unit.model, codes, clusters)
        else:
            self.answers = AnswerModel().fit(llr, clusters)
        self.info["answer_pooling"] = self.answers.describe()

    def _pooled(self, split: Prepared) -> bool:
        return self.answers is not None and bool((split.data.answer_codes[split.valid] >= 0).any())

    def _score_from(self, split: Prepared, llr: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """Sample scores from ``_evidence_and_prior``'s output (per-verifier columns when pooled)."""
        if self._pooled(split):
            from selection.answers import answer_clusters

            return self.answers.sample_scores(llr, answer_clusters(split.data.answer_codes, split.valid))
        return prior + llr.sum(axis=-1)

    def score(self, split: Prepared) -> np.ndarray:
        llr, prior = self._evidence_and_prior(split, per_verifier=self._pooled(split))
        return self._score_from(split, llr, prior)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * scores))  # sigmoid of the log-odds: P(correct | votes)

    def label_use(self) -> str | None:
        return "; ".join(dict.fromkeys(self._label_uses)) or None


def _construct(model_class, kwargs: dict, key: str):
    try:
        return model_class(**kwargs)
    except TypeError as exc:  # an unknown keyword from the config
        raise InputError(f"{key}: {exc}") from exc


def binarize_if_needed(items: np.ndarray, method: WeakSupervision) -> np.ndarray:
    """Votes for the class-balance estimate (the continuous variant's inputs are not votes)."""
    if items.dtype.kind in "iu":
        return items
    return binarize(items, method.cfg.data_cfg.reward_threshold)


@register
class WeakSupervisionContinuous(WeakSupervision):
    """``weak_supervision`` with ``evidence=continuous`` and its own parameter section (kept for
    configs that name it); dependent groups follow ``options.dependent_groups`` (default auto)."""

    name = "weak_supervision_continuous"
    description = "label model over continuous scores (quantile bins of their ranks, no threshold)"
    params_key = "weak_supervision_continuous"

    @property
    def continuous(self) -> bool:
        return True

    def new_model(self):
        from selection.continuous import ContinuousLabelModel

        return _construct(ContinuousLabelModel, dict(self.params.options),
                          "model_params.weak_supervision_continuous.options")


@register
class CalibratedWeakSupervision(WeakSupervision):
    """``weak_supervision`` fitted without labels, then calibrated on a FEW labelled problems.

    ``data_cfg.calibration_problems=N`` picks N training problems at random (seeded); a
    logistic regression on their samples maps [the label-free score, each verifier's own
    evidence] to the labels, L2-regularized so that a handful of problems cannot overfit it.
    Reported with ``labels_used`` naming N; a separate row, never the label-free default.
    """

    name = "weak_supervision_calibrated"
    kind = "supervised"
    description = "weak_supervision, then a logistic calibration on N labelled training problems"
    params_key = "weak_supervision"

    def _features(self, split: Prepared) -> np.ndarray:
        llr, prior = self._evidence_and_prior(split, per_verifier=True)  # once: the slow part
        base = self._score_from(split, llr, prior)
        with np.errstate(all="ignore"):
            return np.concatenate([np.nan_to_num(base)[..., None], np.nan_to_num(llr)], axis=-1)

    def fit(self, train: Prepared) -> None:
        from sklearn.linear_model import LogisticRegression

        n = int(self.cfg.data_cfg.calibration_problems)
        if n <= 0:
            raise InputError(f"{self.name} needs data_cfg.calibration_problems=N (N labelled training problems)")
        super().fit(train)
        rng = np.random.default_rng(self.seed + 7)
        labelled = np.flatnonzero((train.valid & ~np.isnan(train.labels)).any(axis=1))
        if len(labelled) == 0:
            raise InputError(f"{self.name} needs answer_correct labels on the training split; the dataset has none")
        chosen = np.sort(rng.permutation(labelled)[: min(n, len(labelled))])
        feats = self._features(train)[chosen]
        mask = train.valid[chosen] & ~np.isnan(train.labels[chosen])
        x, y = feats[mask], train.labels[chosen][mask].astype(int)
        self.n_calibration = len(chosen)
        self._label_uses.append(f"answer_correct of {len(chosen)} calibration problems of the training split "
                                "(data_cfg.calibration_problems)")
        if len(np.unique(y)) < 2:
            self.calibrator = None
            self.info["calibration"] = "one class among the calibration labels: label-free scores kept"
            return
        self.scale = np.maximum(x.std(axis=0), 1e-6)
        self.calibrator = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(x / self.scale, y)
        self.info["calibration"] = {"problems": len(chosen), "samples": int(mask.sum())}

    def score(self, split: Prepared) -> np.ndarray:
        if getattr(self, "calibrator", None) is None:
            return super().score(split)
        feats = self._features(split)
        out = np.full(split.valid.shape, np.nan)
        out[split.valid] = self.calibrator.decision_function(feats[split.valid] / self.scale)
        return out
