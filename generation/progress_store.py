"""Where a run's finished samples live until the dataset is written: ``<output_path>.progress/``.

``identity.json`` records the settings that decide what a sample is (model, dataset, prompt,
sampling parameters, seed); a rerun with different ones is refused instead of silently mixing
samples from two configurations. ``samples.jsonl`` is an append-only journal keyed by
(row id, sample index): a success is final, a failure is retried by the next run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.journal import Journal, read_journal


def instruction_hash(instruction: str) -> str:
    return hashlib.sha256(instruction.encode()).hexdigest()[:16]


class ProgressStore:
    def __init__(self, output_path: str | os.PathLike):
        out = Path(output_path).expanduser().resolve()
        self.dir = out.parent / f"{out.name}.progress"
        self.samples_path = self.dir / "samples.jsonl"

    def check_identity(self, identity: dict[str, Any], write: bool = True) -> None:
        path = self.dir / "identity.json"
        if path.exists():
            old = json.loads(path.read_text())
            changed = [k for k in sorted(set(old) | set(identity)) if old.get(k) != identity.get(k)]
            if changed:
                what = "; ".join(f"{k}: was {old.get(k)!r}, now {identity.get(k)!r}" for k in changed)
                raise InputError(f"{self.dir} holds samples made with other settings ({what}). Rerun with the "
                                 f"same settings to continue, or use another --output_path (or delete {self.dir}) "
                                 "to start over")
        elif write:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(identity, indent=2, sort_keys=True))
            os.replace(tmp, path)

    def load(self, hashes: dict[int, str]) -> tuple[dict[tuple[int, int], dict], dict[tuple[int, int], dict]]:
        """(successes, latest failures) by (id, sample index), for the rows asked about."""
        successes: dict[tuple[int, int], dict] = {}
        failures: dict[tuple[int, int], dict] = {}
        for rec in read_journal(self.samples_path):
            row_id = rec.get("id")
            if row_id not in hashes:
                continue  # a row beyond this run's --max_rows: kept in the journal, not used now
            if rec.get("h") != hashes[row_id]:
                raise InputError(f"the dataset changed since {self.dir} was written (row {row_id} has another "
                                 "instruction); use another --output_path or delete the progress folder")
            key = (row_id, int(rec["sample_index"]))
            if rec.get("text") is not None:
                successes.setdefault(key, rec)  # the first success is final; later duplicates are ignored
                failures.pop(key, None)
            elif key not in successes:
                failures[key] = rec
        return successes, failures

    def journal(self) -> Journal:
        return Journal(self.samples_path)
