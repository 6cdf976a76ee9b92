"""Select one sample per problem from verifier scores (Weaver's selection stage).

    python selection/run.py --config-name weak_supervision data_cfg.dataset_path=scored.hf output_dir=out/
    python selection/run.py --config-name all_methods data_cfg.dataset_path=scored.hf \\
        data_cfg.save_weaver_scores=true output_dir=out/

Overrides are ``section.key=value`` (OmegaConf dot-list syntax; lists as ``[a,b]``).
Writes ``output_dir/results.json`` and PNG plots, prints the per-method table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python selection/run.py` and from inside selection/
    sys.path.insert(0, str(ROOT))

from selection import config as selection_config  # noqa: E402
from toolkit.errors import run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selection/run.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog="configs: " + ", ".join(selection_config.config_names())
        + "\n\nkeys (defaults before any config file):\n" + selection_config.describe_keys())
    parser.add_argument("--config-name", "--config_name", dest="config_name", default="weak_supervision",
                        help="a config in configs/selection (or a path to a .yaml file)")
    parser.add_argument("--config-path", "--config_path", dest="config_path", default=None,
                        help="folder holding --config-name (default: configs/selection)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = selection_config.load_config(args.config_name, args.overrides, args.config_path)
    if args.print_config:
        from omegaconf import OmegaConf

        print(OmegaConf.to_yaml(cfg))
        return 0
    from selection.pipeline import format_table, run_selection

    results = run_selection(cfg)
    print(format_table(results))
    if cfg.output_dir:
        print(f"results: {Path(cfg.output_dir) / 'results.json'}")
    if results.get("weaver_scores_path"):
        print(f"weaver_scores: {results['weaver_scores_path']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
