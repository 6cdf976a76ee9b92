"""Step 1 of the pipeline: sample k reasoning responses per problem (Weaver's flags, same meanings).

    python generate_reasoning_samples.py --model smollm2 --dataset math \
        --output_path ../datasets/MATH500_smollm2.hf --max_rows 10 --samples_per_instruction 2

Interrupted runs continue where they stopped when the same command is run again.
"""
import sys
from pathlib import Path

# Runs as `python generation/generate_reasoning_samples.py` and from inside generation/: the
# repository root goes first and this folder is not importable as top-level modules.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "generation"]
sys.path.insert(0, str(_ROOT))

from generation.config import build_parser, config_from_args  # noqa: E402 - needs the path above
from toolkit.errors import run_cli  # noqa: E402


def main(argv=None) -> int:
    config = config_from_args(build_parser(__doc__.splitlines()[0]).parse_args(argv))
    from generation.generate import generate_samples

    report = generate_samples(config)
    return 1 if report.failures else 0


if __name__ == "__main__":  # vLLM starts worker processes: they must not rerun the CLI
    run_cli(main)
