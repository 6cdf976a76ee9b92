"""Reading stage inputs and writing stage outputs.

Outputs are written atomically: the dataset goes to a temporary sibling folder, then is
renamed into place, so a crash never leaves a half-written dataset at the output path.
Every output carries ``toolkit_manifest.json``: stage, resolved config, versions, counts.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

MANIFEST_NAME = "toolkit_manifest.json"
_VERSIONED = ("datasets", "pyarrow", "transformers", "torch", "vllm", "llama_cpp_python", "sympy", "numpy")


def load_dataset_from_path(path: str, split: str | None = None):
    """Load a ``save_to_disk`` folder, ``.jsonl``/``.json``/``.parquet`` file, or hub id as a Dataset."""
    import datasets as hf

    p = Path(path)
    if p.is_dir():
        try:
            obj = hf.load_from_disk(str(p))
        except Exception as exc:  # noqa: BLE001 - re-raised with the path named
            raise InputError(f"{path} is a folder but not a dataset saved with save_to_disk ({exc})") from exc
        if isinstance(obj, hf.DatasetDict):
            name = split or ("data" if "data" in obj else next(iter(obj)))
            if name not in obj:
                raise InputError(f"{path} has no split {name!r}; it has {', '.join(obj)}")
            obj = obj[name]
        return obj
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".parquet"):
        if not p.exists():
            raise InputError(f"input file {path} does not exist")
        kind = "parquet" if suffix == ".parquet" else "json"
        return hf.load_dataset(kind, data_files=str(p), split="train")
    if path.endswith(".hf") or os.sep in path and not _looks_like_hub_id(path):
        raise InputError(f"input dataset {path} does not exist")
    if not _looks_like_hub_id(path):
        raise InputError(f"{path!r} is neither an existing file/folder nor a hub id like org/name")
    try:
        obj = hf.load_dataset(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"could not load hub dataset {path!r}: {exc}") from exc
    name = split or ("data" if "data" in obj else next(iter(obj)))
    return obj[name]


def _looks_like_hub_id(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and all(parts) and not path.startswith((".", "/"))


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            continue
    return out


def git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_manifest(stage: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "stage": stage,
        "created_unix": time.time(),
        "config": config,
        "versions": package_versions(),
        "git_revision": git_revision(),
        **extra,
    }


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    f = Path(path) / MANIFEST_NAME
    if not f.exists():
        return None
    return json.loads(f.read_text())


def save_dataset_atomic(dataset, output_path: str | os.PathLike, manifest: dict[str, Any] | None = None,
                        input_path: str | os.PathLike | None = None) -> Path:
    """Write ``dataset`` to ``output_path`` atomically, with the manifest beside its files.

    Earlier stages' manifests are kept under ``history`` so one folder tells the whole story.
    """
    out = Path(output_path).resolve()
    if input_path is not None and Path(input_path).resolve() == out:
        raise InputError(f"output path {output_path} is the input path: inputs are never overwritten in place")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    dataset.save_to_disk(str(tmp))
    if manifest is not None:
        history = []
        if input_path is not None:
            previous = read_manifest(input_path)
            if previous:
                history = previous.pop("history", []) + [previous]
        manifest = {**manifest, "history": history}
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
    if out.exists():
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, trash)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)
    return out
