"""Publishing stage 3's result the way Weaver's datasets are published: one split named ``data``.

``push_to_hub`` uploads ``DatasetDict({"data": ds})`` plus a dataset card (README.md) listing
the generating model and the verifiers; ``export_local`` writes the same layout (card + parquet
shards under ``data/``) to a folder, so ``datasets.load_dataset(folder)["data"]`` behaves like
``load_dataset("org/name")["data"]`` and the layout can be tested without a hub.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

SPLIT = "data"
SHARD_ROWS = 50_000


def dataset_card(ds, manifest: dict[str, Any] | None = None, title: str | None = None) -> str:
    """README.md: YAML header mapping split ``data`` to the parquet shards, then what is inside."""
    manifest = manifest or {}
    verifiers = manifest.get("verifiers") or {}
    model = _generating_model(manifest)
    lines = ["---", "configs:", "- config_name: default", "  data_files:", f"  - split: {SPLIT}",
             f"    path: data/{SPLIT}-*.parquet", "tags:", "- weaver", "- reward-models", "- verification", "---",
             "", f"# {title or 'Verified reasoning samples'}", "",
             "Rows are problems; list columns hold one entry per sampled response (Weaver's layout).", "",
             f"- Rows: {len(ds)}", f"- Generating model: {model or 'unknown'}", "",
             "```python", "from datasets import load_dataset",
             f"ds = load_dataset(\"{title or 'org/name'}\")[\"{SPLIT}\"]" if title and "/" in title
             else f"ds = load_dataset(\"org/name\")[\"{SPLIT}\"]", "```", "", "## Verifiers", ""]
    if verifiers:
        lines += ["| name | kind | checkpoint | columns | failed samples |", "|---|---|---|---|---|"]
        failures = manifest.get("failures") or {}
        for name, info in verifiers.items():
            spec = info.get("spec") or {}
            kind = {"prm_step": "PRM", "prm_implicit": "implicit PRM", "judge_local": "LM judge",
                    "judge_api": "LM judge (API)"}.get(spec.get("family"), "reward model")
            failed = (failures.get(name) or {}).get("failed_samples", "-")
            lines.append(f"| {name} | {kind} | {spec.get('hub_id', '')} | "
                         f"{', '.join(info.get('columns') or [])} | {failed} |")
    else:
        lines.append("(none recorded)")
    lines += ["", "Failed scores are null with a reason in `verifier_errors`, never 0.0.", "",
              "## Columns", ""] + [f"- `{name}`" for name in ds.column_names]
    return "\n".join(lines) + "\n"


def _generating_model(manifest: dict[str, Any]) -> str | None:
    for entry in [manifest] + list(reversed(manifest.get("history") or [])):
        config = entry.get("config") or {}
        if config.get("model"):
            return str(config["model"])
    return None


def export_local(ds, directory: str | Path, manifest: dict[str, Any] | None = None,
                 title: str | None = None) -> Path:
    """Write ``README.md`` + ``data/data-00000-of-0000N.parquet`` (the hub layout) to ``directory``."""
    directory = Path(directory)
    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob(f"{SPLIT}-*.parquet"):
        old.unlink()
    shards = max(1, -(-len(ds) // SHARD_ROWS))
    for i in range(shards):
        shard = ds.shard(num_shards=shards, index=i, contiguous=True)
        shard.to_parquet(str(data_dir / f"{SPLIT}-{i:05d}-of-{shards:05d}.parquet"))
    (directory / "README.md").write_text(dataset_card(ds, manifest, title))
    if manifest is not None:
        (directory / "toolkit_manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return directory


def push_to_hub(ds, repo_id: str, manifest: dict[str, Any] | None = None, private: bool = False) -> str:
    """Upload ``DatasetDict({"data": ds})`` to ``repo_id`` and replace its card with ours."""
    import datasets as hf

    if repo_id.count("/") != 1 or repo_id.startswith("/") or repo_id.endswith("/"):
        raise InputError(f"--push_to_hub expects org/name, got {repo_id!r}")
    hf.DatasetDict({SPLIT: ds}).push_to_hub(repo_id, private=private)
    from huggingface_hub import DatasetCard

    DatasetCard(dataset_card(ds, manifest, repo_id)).push_to_hub(repo_id)
    return repo_id
