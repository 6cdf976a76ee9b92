"""Stage 3's options, declared once: ``ScoringConfig`` (defaults and help text live only here).

The CLI (generation/unified_RMs_and_LM_Judges.py) derives its flags from these fields, so a
notebook calling ``run_scoring(ScoringConfig(...))`` and the command line mean the same thing.
Flag names are Weaver's (``--reward_models``, ``--lm_judges``, ``--verdicts_per_sample``...).
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from toolkit.errors import InputError


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class ScoringConfig:
    dataset_path: str = _opt(None, "input dataset (save_to_disk folder, .jsonl/.parquet, or hub id) with "
                                   "`instruction` and `samples` columns")
    output_path: str = _opt(None, "where the scored dataset is written (atomically; never the input path)")
    reward_models: str = _opt("", "comma list of reward models / PRMs: registered names (see VERIFIERS.md) "
                                  "or a local folder / hub id with a sequence-classification head")
    lm_judges: str = _opt("", "comma list of LM judges: registered names, `smollm2` (embedded, CPU), or "
                              "any model name served at --judge_base_url")
    batch_size: int = _opt(4, "reward-model batch size per forward pass (never overridden by the planner)")
    verdicts_per_sample: int = _opt(1, "independent judge requests per sample (seeds seed..seed+V-1)")
    max_rows: int = _opt(None, "score at most this many rows (after --start_row)")
    max_samples: int = _opt(None, "score only the first N samples of each row (the rest stay null)")
    start_row: int = _opt(0, "first row to score (rows outside the range are not in the output)")
    end_row: int = _opt(None, "row to stop before (exclusive)")
    sequential_rm_processing: bool = _opt(False, "run one verifier at a time instead of packing a wave of "
                                                 "models onto the GPUs in parallel")
    push_to_hub: str = _opt(None, "publish the result as DatasetDict({'data': ...}) to org/name with a "
                                  "dataset card")
    plan: bool = _opt(False, "print the placement table (model, GPUs, TP, est. GiB, wave) and exit "
                             "without loading anything")
    plan_json: str = _opt(None, "also write the placement plan as JSON to this path (exits like --plan "
                                "when no --output_path is given)")
    gpus: str = _opt(None, "GPU inventory to plan for instead of the detected one, e.g. 8x80, "
                           "2x80,4x24 or cpu")
    overwrite: bool = _opt(False, "recompute verifiers whose columns already exist in the input")
    judge_base_url: str = _opt(None, "OpenAI-compatible endpoint (…/v1) serving the --lm_judges models")
    judge_model: str = _opt(None, "model name to request at --judge_base_url (default: the judge name)")
    critique: bool = _opt(False, "judges write a critique first, then the True/False verdict line")
    temperature: float = _opt(None, "judge sampling temperature (default 0 for one verdict, 0.7 for several)")
    max_new_tokens: int = _opt(None, "judge output budget (default 16, or 512 with --critique)")
    concurrency: int = _opt(None, "concurrent judge requests (default: the backend's)")
    seed: int = _opt(0, "base seed of judge requests")
    device: str = _opt(None, "force the device for in-process scoring (cpu, cuda); default: planner decides")
    chunk_rows: int = _opt(16, "rows per journaled chunk (the unit of resume)")
    max_length: int = _opt(None, "token limit per reward-model input (default: each model's own)")
    scorer_factory: str = _opt(None, "module:attr replacing verifiers.scorers.load_scorer (testing hook)",
                               cli=False)
    progress: bool = _opt(True, "show progress bars", cli=False)

    def reward_model_list(self) -> list[str]:
        return _split(self.reward_models)

    def judge_list(self) -> list[str]:
        return _split(self.lm_judges)

    def validate(self, planning_only: bool = False) -> None:
        if not self.reward_model_list() and not self.judge_list():
            raise InputError("nothing to score: pass --reward_models and/or --lm_judges")
        if not planning_only and not self.dataset_path:
            raise InputError("--dataset_path is required (unless you only ask for --plan)")
        if not planning_only and not self.output_path:
            raise InputError("--output_path is required (unless you only ask for --plan)")
        for name in ("batch_size", "verdicts_per_sample", "chunk_rows"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_rows", "max_samples", "max_new_tokens", "concurrency", "max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"--{name} must be at least 1, got {value}")
        if self.start_row < 0:
            raise InputError(f"--start_row must be >= 0, got {self.start_row}")
        if self.end_row is not None and self.end_row <= self.start_row:
            raise InputError(f"--end_row ({self.end_row}) must be greater than --start_row ({self.start_row})")
        if self.judge_model and not self.judge_base_url:
            raise InputError("--judge_model only applies with --judge_base_url")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per ScoringConfig field (bools become store_true switches)."""
    for f in fields(ScoringConfig):
        if not f.metadata.get("cli", True):
            continue
        flag = f"--{f.name}"
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", default=f.default, help=f.metadata["help"])
            continue
        kind = {"int": int, "float": float}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
        default = None if f.default is MISSING else f.default
        shown = f" (default: {default})" if default not in (None, "") else ""
        parser.add_argument(flag, type=kind, default=default, help=f.metadata["help"] + shown)


def config_from_args(args: argparse.Namespace) -> ScoringConfig:
    return ScoringConfig(**{f.name: getattr(args, f.name) for f in fields(ScoringConfig) if hasattr(args, f.name)})
