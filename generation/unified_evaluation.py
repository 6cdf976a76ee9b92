"""Step 2 of the pipeline: extract each sample's final answer and grade it (Weaver's flags, same meanings).

    python unified_evaluation.py --input_path ../datasets/MATH500_samples.hf \
        --output_path ../datasets/MATH500_evaluated.hf --dataset_type math

Rules first; an LLM extractor (default gpt-4o-mini, or --extractor_model/--base_url) reads only the
samples the rules cannot; --no_llm or a missing API key means rules only. Rows without a gold
answer get a majority-vote pseudo-label (see the label_source column). Interrupted runs continue
where they stopped when the same command is run again.
"""
import sys
from pathlib import Path

# Runs as `python generation/unified_evaluation.py` and from inside generation/: the repository
# root goes first and this folder is not importable as top-level modules.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "generation"]
sys.path.insert(0, str(_ROOT))

from generation.evaluation import build_parser, config_from_args  # noqa: E402 - needs the path above
from toolkit.errors import run_cli  # noqa: E402


def main(argv=None) -> int:
    config = config_from_args(build_parser(__doc__.splitlines()[0]).parse_args(argv))
    import datasets

    from generation.evaluation import evaluate

    datasets.disable_progress_bars()  # our own bar says what is happening
    report = evaluate(config)
    return 1 if report.counts["row_errors"] else 0


if __name__ == "__main__":
    run_cli(main)
