"""Stage 3: add reward-model, PRM and LM-judge scores to every sample (Weaver's script name and flags).

    python generation/unified_RMs_and_LM_Judges.py --dataset_path Y.hf --output_path Z.hf \\
        --reward_models GRM,ArmorRM,QwenPRM --lm_judges GPT-4o-mini --batch_size 4

``--plan`` prints where each model would run (GPUs, tensor parallelism, memory, wave) and
exits without loading anything; ``--gpus 8x80`` plans for another machine. The work itself
is ``verifiers.runner.run_scoring``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runs from the repo root and from inside generation/
    sys.path.insert(0, str(ROOT))

from toolkit.errors import run_cli  # noqa: E402
from verifiers.scoring_config import add_config_arguments, config_from_args  # noqa: E402


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score every sample with reward models, process reward models and LM judges.",
        epilog="Verifier names: see VERIFIERS.md. Failed scores are null with a reason in `verifier_errors`.")
    add_config_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    config = config_from_args(make_parser().parse_args(argv))
    planning_only = config.plan or (config.plan_json is not None and not config.output_path)
    config.validate(planning_only=planning_only)
    from verifiers.runner import plan_scoring  # reads configs only: nothing heavy is imported

    plan = plan_scoring(config)
    if config.plan_json:
        Path(config.plan_json).parent.mkdir(parents=True, exist_ok=True)
        Path(config.plan_json).write_text(plan.to_json())
    if planning_only:
        if config.plan or not config.plan_json:
            print(plan.to_table())
        return 0
    print(plan.to_table(), file=sys.stderr)  # where each verifier runs, before anything loads
    from verifiers.runner import has_failures, run_scoring, summarize

    run_scoring(config)
    print(summarize(config.output_path))
    return 1 if has_failures(config.output_path) else 0  # non-zero while any score or verdict failed


if __name__ == "__main__":
    run_cli(main)
