"""Where a run's finished samples live until the dataset is written: ``<output_path>.progress/``.

``identity.json`` records the settings that decide what a sample is (model, dataset, prompt,
sampling parameters, seed); a rerun with different ones is refused instead of silently mixing
samples from two configurations. ``samples.jsonl`` is an append-only journal keyed by
(row id, sample index): a success is final, a failure is retried by the next run.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

from toolkit.errors import InputError
from toolkit.journal import Journal, read_journal
from toolkit.progress import check_run_identity, progress_dir


def instruction_hash(instruction: str) -> str:
    return hashlib.sha256(instruction.encode()).hexdigest()[:16]


class ProgressStore:
    def __init__(self, output_path: str | os.PathLike):
        self.dir = progress_dir(output_path)
        self.samples_path = self.dir / "samples.jsonl"

    def check_identity(self, identity: dict[str, Any], write: bool = True) -> None:
        check_run_identity(self.dir, identity, "samples", write=write)

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
