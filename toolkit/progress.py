"""The ``<output_path>.progress/`` folder every resumable stage keeps until its dataset is written.

``identity.json`` records the settings that decide what a result is; a rerun with other
settings is refused rather than silently mixing results from two configurations.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from toolkit.errors import InputError


def progress_dir(output_path: str | os.PathLike) -> Path:
    out = Path(output_path).expanduser().resolve()
    return out.parent / f"{out.name}.progress"


def check_run_identity(directory: Path, identity: dict[str, Any], what: str, write: bool = True) -> None:
    """Refuse a rerun whose settings differ from those that made ``directory``'s ``what``."""
    from toolkit.secrets import redact

    # Secrets never reach disk; a rerun with the same (or another) key still matches its old identity.
    identity = redact(json.loads(json.dumps(identity, default=str)))
    path = directory / "identity.json"
    if path.exists():
        old = redact(json.loads(path.read_text()))
        changed = [k for k in sorted(set(old) | set(identity)) if old.get(k) != identity.get(k)]
        if changed:
            diff = "; ".join(f"{k}: was {old.get(k)!r}, now {identity.get(k)!r}" for k in changed)
            raise InputError(f"{directory} holds {what} made with other settings ({diff}). Rerun with the "
                             f"same settings to continue, or use another --output_path (or delete {directory}) "
                             "to start over")
        return
    if write:
        directory.mkdir(parents=True, exist_ok=True)
        from toolkit.run_store import write_text_atomic

        write_text_atomic(path, json.dumps(identity, indent=2, sort_keys=True))
