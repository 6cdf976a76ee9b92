"""Selection options: defined once here, loaded from a YAML file, overridden with ``key.sub=value``.

The sections and key names follow the reference's selection configs (verifier_cfg, data_cfg,
model_cfg, model_params, normalize_method_params) so its users can carry their overrides over.
Defaults differ where the reference's defaults were dishonest: a held-out test split
(train_split 0.5, not 1.0) and a class balance estimated without labels.

Every key is declared in a dataclass below; an unknown key in a YAML file or on the command line
is an InputError naming the key and the closest known keys, never silently ignored.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from toolkit.errors import InputError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "selection"  # top-level configs/

VERIFIER_TYPES = ("all", "reward_models", "judges")
VERIFIER_SIZES = ("all", "small", "medium", "large")
NORMALIZE_TYPES = ("all_problems", "per_problem")
NORMALIZE_METHODS = ("minmax", "quantile", "winsorize")
MODEL_CLASSES = ("per_dataset", "per_problem", "cluster")
CLUSTER_TYPES = ("mean_verifier_score", "unique_extracted_answers", "random")
DROP_RULES = ("none", "all", "small", "large", "adaptive")
DEPS_RULES = ("none", "drop", "model", "merge")

# Keys of the reference's configs that have no meaning here: refused with the reason, so a
# ported config fails loudly instead of silently running with a different behaviour.
LEGACY_KEYS = {
    "data_cfg.dataset_name": "published-dataset lookup is not supported; pass data_cfg.dataset_path",
    "data_cfg.model_size": "published-dataset lookup is not supported; pass data_cfg.dataset_path",
    "data_cfg.same_train_test": "use data_cfg.train_split=1.0 to evaluate on the training set",
    "data_cfg.normalize_params": "set normalize_method_params.<method>.<key> instead",
    "data_cfg.verifier_cfg": "verifier_cfg is a top-level section",
    "data_cfg.fixed_test_split": "not supported; the split is drawn from data_cfg.random_seed",
    "model_cfg.model_params": "model_params is a top-level section",
    "fit_cfg": "there is one fitting procedure; remove fit_cfg",
    "logging": "results are written to output_dir/results.json; no tracker",
    "wandb_cfg": "results are written to output_dir/results.json; no tracker",
    "debug": "use data_cfg.train_queries / test_samples to run on a subset",
    "model_params.naive_ensemble": "naive_ensemble has no parameters",
    "model_params.first_sample": "first_sample has no parameters",
    "normalize_method_params.minmax.tmp": "minmax takes only `clip`",
}
_LEGACY_WS_KEYS = ("k", "metric", "n_epochs", "mu_epochs", "log_train_every", "lr", "deps_density",
                   "deps_data_fraction", "use_tensor_decomp", "binarize_threshold", "drop_k")
for _key in _LEGACY_WS_KEYS:
    LEGACY_KEYS[f"model_params.weak_supervision.{_key}"] = (
        "a reference label-model setting our label model does not use (binarization uses "
        "data_cfg.reward_threshold; label-model settings go in model_params.weak_supervision.label_model)")


@dataclass
class VerifierConfig:
    verifier_type: str = "all"  # all / reward_models / judges (PRM min/max/avg columns are reward models)
    verifier_size: Any = "all"  # all / small (<=8B) / medium (8-32B) / large (>=32B) / a number: max billions
    verifier_subset: List[str] = field(default_factory=list)  # explicit verifier or column names


@dataclass
class DataConfig:
    dataset_path: Optional[str] = None  # a save_to_disk folder (.hf), .jsonl/.parquet file or hub id
    train_split: float = 0.5  # fraction of problems to fit on; 1.0 = evaluate on the training set
    train_queries: Any = 1.0  # fraction (<=1) or number (>1) of the training problems to use
    train_samples: Any = 1.0  # fraction (<=1) or number (>1) of samples per training problem
    test_samples: Any = 1.0  # fraction (<=1) or number (>1) of samples per test problem
    shuffle_samples: bool = True  # permute samples per problem (seeded); saved scores follow sample ids
    normalize_type: str = "all_problems"  # all_problems (fitted on train) / per_problem
    normalize_method: str = "minmax"  # minmax / quantile / winsorize
    reward_threshold: float = 0.5  # normalized score >= threshold votes "correct"
    mv_as_verifier: bool = False  # add majority-vote agreement as one more (dependent!) verifier
    nan_replacement: Any = "mask"  # mask (missing vote) / mean (problem mean) / a number
    random_seed: int = 0
    calibration_problems: int = 0  # N > 0: N labelled training problems calibrate weak_supervision (reported)
    save_weaver_scores: bool = False  # write a new dataset with a weaver_scores column
    weaver_scores_path: Optional[str] = None  # default: <output_dir>/weaver_scores.hf
    difficulty_column: Optional[str] = None  # default: `level` or `difficulty` when present


@dataclass
class ClusterConfig:
    n_clusters: int = 3
    cluster_type: str = "mean_verifier_score"  # mean_verifier_score / unique_extracted_answers / random


@dataclass
class ModelConfig:
    model_type: str = "weak_supervision"  # the method whose scores are saved as weaver_scores
    model_class: str = "per_dataset"  # per_dataset / per_problem / cluster
    cluster_cfg: ClusterConfig = field(default_factory=ClusterConfig)


@dataclass
class ClassBalanceArgs:
    class_balance: Any = "estimate"  # estimate (no labels) / labels (uses labels, reported) / a float


@dataclass
class WeakSupervisionParams:
    seed: int = 0
    drop_imbalanced_verifiers: str = "all"  # none / all (keep 0.1<rate<0.9) / small / large / adaptive
    use_deps: str = "none"  # none / drop (keep the best of each dependent group) / model or merge
    use_label_on_test: bool = False  # with class_balance=labels: take the test split's own labels
    answer_pooling: str = "auto"  # auto / true / false: pool evidence over samples sharing an answer
    evidence: str = "continuous"  # continuous (quantile bins of score ranks) / binary (votes at reward_threshold)
    options: Dict[str, Any] = field(default_factory=dict)  # ContinuousLabelModel kwargs (evidence=continuous)
    cb_args: ClassBalanceArgs = field(default_factory=ClassBalanceArgs)
    label_model: Dict[str, Any] = field(default_factory=dict)  # keyword arguments of LabelModel()
    dependencies: Dict[str, Any] = field(default_factory=dict)  # DependencyAwareLabelModel kwargs (threshold, max_rounds)


@dataclass
class ContinuousParams:
    seed: int = 0
    drop_imbalanced_verifiers: str = "none"  # rates measured on scores binarized at reward_threshold
    answer_pooling: str = "auto"  # auto / true / false: pool evidence over samples sharing an answer
    options: Dict[str, Any] = field(default_factory=dict)  # keyword arguments of ContinuousLabelModel


@dataclass
class MajorityVoteParams:
    min_count: int = 1  # samples whose answer appears fewer times score as if unanswered


@dataclass
class NaiveBayesParams:
    clip_min: float = 0.01
    clip_max: float = 0.99


@dataclass
class LogisticRegressionParams:
    penalty: Optional[str] = None  # sklearn's default (l2) when unset
    C: float = 1.0
    class_weight: Optional[str] = "balanced"
    solver: str = "lbfgs"
    max_iter: int = 1000


@dataclass
class ModelParams:
    weak_supervision: WeakSupervisionParams = field(default_factory=WeakSupervisionParams)
    weak_supervision_continuous: ContinuousParams = field(default_factory=ContinuousParams)
    majority_vote: MajorityVoteParams = field(default_factory=MajorityVoteParams)
    naive_bayes: NaiveBayesParams = field(default_factory=NaiveBayesParams)
    logistic_regression: LogisticRegressionParams = field(default_factory=LogisticRegressionParams)


@dataclass
class MinmaxParams:
    clip: bool = True  # test scores outside the train range are clipped into [0, 1]


@dataclass
class QuantileParams:
    n_quantiles: int = 100
    output_distribution: str = "uniform"  # uniform / normal (then squashed back into [0, 1])


@dataclass
class WinsorizeParams:
    lower_quantile: float = 0.05
    upper_quantile: float = 0.95


@dataclass
class NormalizeMethodParams:
    minmax: MinmaxParams = field(default_factory=MinmaxParams)
    quantile: QuantileParams = field(default_factory=QuantileParams)
    winsorize: WinsorizeParams = field(default_factory=WinsorizeParams)


DEFAULT_METHODS = ["weak_supervision", "first_sample", "majority_vote", "coverage", "naive_ensemble"]


@dataclass
class SelectionConfig:
    verifier_cfg: VerifierConfig = field(default_factory=VerifierConfig)
    data_cfg: DataConfig = field(default_factory=DataConfig)
    model_cfg: ModelConfig = field(default_factory=ModelConfig)
    model_params: ModelParams = field(default_factory=ModelParams)
    normalize_method_params: NormalizeMethodParams = field(default_factory=NormalizeMethodParams)
    methods: List[str] = field(default_factory=lambda: list(DEFAULT_METHODS))  # methods to evaluate
    output_dir: Optional[str] = None  # results.json, plots (and weaver_scores.hf) go here
    plot: bool = True
    k_curve: bool = True  # evaluate Select@1 at k = 1, 2, 4, ... samples


def config_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _known_keys(cls, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> field type for every field, including nested dataclass sections."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        out[key] = f.type
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            out.update(_known_keys(type(default), key + "."))
    return out


KNOWN_KEYS = _known_keys(SelectionConfig)
_FREE_FORM = tuple(k for k, t in KNOWN_KEYS.items() if str(t).startswith("Dict"))


def check_key(key: str, source: str) -> None:
    """Raise an InputError for a key no dataclass declares (free-form dict sections excepted)."""
    if key in KNOWN_KEYS or any(key.startswith(p + ".") for p in _FREE_FORM):
        return
    for legacy, why in LEGACY_KEYS.items():
        if key == legacy or key.startswith(legacy + "."):
            raise InputError(f"{source}: key {key!r} is not supported here: {why}")
    close = difflib.get_close_matches(key, list(KNOWN_KEYS), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InputError(f"{source}: unknown config key {key!r}.{hint}")


def _flatten(tree: dict, prefix: str = "") -> list[str]:
    """Dotted keys of a loaded YAML tree, descending only into declared sections."""
    keys = []
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and _is_section(key) and key not in _FREE_FORM:
            keys.extend(_flatten(value, key + "."))
        else:
            keys.append(key)
    return keys


def _is_section(key: str) -> bool:
    return any(k.startswith(key + ".") for k in KNOWN_KEYS)


def load_config(config_name: str | None = None, overrides: list[str] | None = None,
                config_path: str | None = None):
    """Defaults, then the YAML file ``config_name``, then ``key.sub=value`` overrides; validated."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    cfg = OmegaConf.structured(SelectionConfig)
    layers = []
    if config_name:
        folder = Path(config_path) if config_path else CONFIG_DIR
        path = Path(config_name) if config_name.endswith((".yaml", ".yml")) else folder / f"{config_name}.yaml"
        if not path.exists():
            known = ", ".join(config_names())
            raise InputError(f"config {config_name!r} not found at {path}; built-in configs: {known}")
        loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=False) or {}
        for key in _flatten(loaded):
            check_key(key, str(path))
        layers.append((str(path), OmegaConf.create(loaded)))
    for item in overrides or []:
        if "=" not in item:
            raise InputError(f"override {item!r} is not of the form key.sub=value")
        key = item.split("=", 1)[0].lstrip("+")
        check_key(key, "command line")
        try:
            layers.append((item, OmegaConf.from_dotlist([item.lstrip("+")])))
        except OmegaConfBaseException as exc:
            raise InputError(f"override {item!r}: {exc}") from exc
    for source, layer in layers:
        try:
            cfg = OmegaConf.merge(cfg, layer)
        except OmegaConfBaseException as exc:
            msg = str(exc).splitlines()[0]
            raise InputError(f"{source}: {msg}") from exc
    validate(cfg)
    return cfg


def _choice(value: Any, allowed: tuple, key: str) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise InputError(f"{key}={value!r} is not one of {', '.join(map(str, allowed))}.{hint}")


def _fraction_or_count(value: Any, key: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InputError(f"{key}={value!r} must be a fraction in (0, 1] or a count > 1")


def validate(cfg) -> None:
    """Check values the dataclass types cannot express (choices, ranges)."""
    v, d, m = cfg.verifier_cfg, cfg.data_cfg, cfg.model_cfg
    _choice(v.verifier_type, VERIFIER_TYPES, "verifier_cfg.verifier_type")
    if not isinstance(v.verifier_size, (int, float)) or isinstance(v.verifier_size, bool):
        _choice(v.verifier_size, VERIFIER_SIZES, "verifier_cfg.verifier_size")
    _choice(d.normalize_type, NORMALIZE_TYPES, "data_cfg.normalize_type")
    _choice(d.normalize_method, NORMALIZE_METHODS, "data_cfg.normalize_method")
    _choice(m.model_class, MODEL_CLASSES, "model_cfg.model_class")
    _choice(m.cluster_cfg.cluster_type, CLUSTER_TYPES, "model_cfg.cluster_cfg.cluster_type")
    if m.cluster_cfg.n_clusters < 1:
        raise InputError("model_cfg.cluster_cfg.n_clusters must be at least 1")
    if not 0.0 < d.train_split <= 1.0:
        raise InputError(f"data_cfg.train_split={d.train_split} must be in (0, 1]")
    for key in ("train_queries", "train_samples", "test_samples"):
        _fraction_or_count(d[key], f"data_cfg.{key}")
    nan = d.nan_replacement
    if not (nan in ("mask", "mean") or (isinstance(nan, (int, float)) and not isinstance(nan, bool))):
        raise InputError(f"data_cfg.nan_replacement={nan!r} must be mask, mean or a number")
    for name in ("weak_supervision", "weak_supervision_continuous"):
        _choice(cfg.model_params[name].drop_imbalanced_verifiers or "none", DROP_RULES,
                f"model_params.{name}.drop_imbalanced_verifiers")
    _choice(cfg.model_params.weak_supervision.use_deps or "none", DEPS_RULES,
            "model_params.weak_supervision.use_deps")
    for name in ("weak_supervision", "weak_supervision_continuous"):
        _choice(str(cfg.model_params[name].answer_pooling).lower(), ("auto", "true", "false"),
                f"model_params.{name}.answer_pooling")
    _choice(cfg.model_params.weak_supervision.evidence, ("continuous", "binary"),
            "model_params.weak_supervision.evidence")
    cb = cfg.model_params.weak_supervision.cb_args.class_balance
    if not (cb in ("estimate", "labels") or (isinstance(cb, float) and 0.0 < cb < 1.0)):
        raise InputError(f"model_params.weak_supervision.cb_args.class_balance={cb!r} must be "
                         "estimate, labels or a float in (0, 1)")
    q = cfg.normalize_method_params.quantile.output_distribution
    _choice(q, ("uniform", "normal"), "normalize_method_params.quantile.output_distribution")
    w = cfg.normalize_method_params.winsorize
    if not 0.0 <= w.lower_quantile < w.upper_quantile <= 1.0:
        raise InputError("normalize_method_params.winsorize needs 0 <= lower_quantile < upper_quantile <= 1")
    if not isinstance(d.calibration_problems, int) or isinstance(d.calibration_problems, bool) \
            or d.calibration_problems < 0:
        raise InputError(f"data_cfg.calibration_problems={d.calibration_problems!r} must be a count >= 0")
    if not cfg.methods:
        raise InputError("methods is empty: name at least one selection method")
    if d.save_weaver_scores and not (d.weaver_scores_path or cfg.output_dir):
        raise InputError("data_cfg.save_weaver_scores=true needs output_dir or data_cfg.weaver_scores_path")


def to_dict(cfg) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)


def describe_keys() -> str:
    """One line per key with its default: the body of ``run.py --help``."""
    defaults = SelectionConfig()
    lines = []
    for key in KNOWN_KEYS:
        if _is_section(key) and key not in _FREE_FORM:
            continue
        value: Any = defaults
        for part in key.split("."):
            value = getattr(value, part)
        lines.append(f"  {key}={value!r}")
    return "\n".join(lines)
