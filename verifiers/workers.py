"""Drive one verifier's transform over rows with a journal; also the subprocess worker entry.

The runner hands each verifier a ``VerifierJob`` (plain JSON: spec, device, batch size, journal
path, input file). In-process runs call ``run_job`` directly; on GPU machines the runner
starts ``python -m verifiers.workers job.json`` (or ``torchrun ... -m verifiers.workers`` for
tensor parallelism) with ``CUDA_VISIBLE_DEVICES`` set to the placement's GPUs, so models never
see each other's devices.

Journal lines (``<output>.progress/<name>.jsonl``):
- ``{"id", "h", "cfg", "cols", "sample_errors", "error"}`` for a finished row; it counts on
  resume only while ``h`` (hash of the row's instruction and samples) and ``cfg`` (hash of the
  verifier settings) still match, so a journal from another input or setting is never reused;
- ``{"retry": true, ...}`` for a row whose whole chunk failed (scored again on the next run);
- ``{"model_error": "..."}`` when the model could not be loaded at all.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from toolkit.journal import Journal, read_journal


@dataclass
class VerifierJob:
    """Everything a worker needs to score one verifier; JSON-serialisable."""

    name: str
    kind: str  # "rm" or "judge"
    journal: str
    config_hash: str
    spec: dict[str, Any] | None = None  # VerifierSpec.to_dict() for reward models and PRMs
    target: dict[str, Any] | None = None  # judges: model, provider, base_url
    judge_settings: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    batch_size: int = 4
    max_samples: int | None = None
    concurrency: int | None = None
    chunk_rows: int = 16
    input_arrow: str | None = None
    tp: int = 1
    scorer_factory: str | None = None  # "module:attr" replacing verifiers.scorers.load_scorer (tests)
    progress: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "VerifierJob":
        return cls(**json.loads(text))


def stable_hash(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def row_hash(instruction: Any, samples: Any, max_samples: int | None) -> str:
    samples = list(samples or [])
    return stable_hash([instruction, samples if max_samples is None else samples[:max_samples]])


def import_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_transform(job: VerifierJob, scorer_factory: Callable[..., Any] | None = None, judge: Any = None):
    from verifiers.transform import JudgeTransform, ScoreTransform

    if job.kind == "judge":
        from verifiers.judges import JudgeSettings

        return JudgeTransform(job.name, job.target or {}, JudgeSettings(**job.judge_settings),
                              max_samples=job.max_samples, judge=judge, concurrency=job.concurrency,
                              log_dir=str(Path(job.journal).parent) if job.journal else None)
    from verifiers.specs import VerifierSpec

    if scorer_factory is None and job.scorer_factory:
        scorer_factory = import_target(job.scorer_factory)
    spec = VerifierSpec(**job.spec)
    return ScoreTransform(spec, device=job.device, batch_size=job.batch_size, max_samples=job.max_samples,
                          scorer_factory=scorer_factory)


@dataclass
class JournalState:
    """What a journal says: finished rows (valid for this input and config) and a load failure."""

    done: dict[int, dict[str, Any]]
    retry: dict[int, dict[str, Any]]
    model_error: str | None


def read_state(path: str | os.PathLike, config_hash: str, hashes: dict[int, str]) -> JournalState:
    done: dict[int, dict[str, Any]] = {}
    retry: dict[int, dict[str, Any]] = {}
    model_error = None
    for rec in read_journal(path):
        if rec.get("cfg") != config_hash:
            continue
        if "model_error" in rec:
            model_error = rec["model_error"]
            continue
        rid = rec.get("id")
        if rid not in hashes or rec.get("h") != hashes[rid]:
            continue
        if rec.get("retry"):
            retry[rid] = rec
            done.pop(rid, None)
        else:
            done[rid] = rec
            retry.pop(rid, None)
        model_error = None  # a later successful load supersedes an earlier failure
    return JournalState(done, retry, model_error)


def table_hashes(table, max_samples: int | None) -> dict[int, str]:
    cols = table.select(["id", "instruction", "samples"]).to_pydict()
    return {i: row_hash(ins, s, max_samples) for i, ins, s in zip(cols["id"], cols["instruction"], cols["samples"])}


def run_job(job: VerifierJob, table, transform=None) -> dict[str, Any]:
    """Score the rows of ``table`` not yet in the journal, chunk by chunk. Returns counts.

    Never raises for a bad row or a model that fails to load: both are journaled as data.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from verifiers.transform import CHUNK_FAILED

    hashes = table_hashes(table, job.max_samples)
    state = read_state(job.journal, job.config_hash, hashes)
    pending = table.filter(pc.invert(pc.is_in(table["id"], pa.array(list(state.done), pa.int64()))))
    counts = {"rows": table.num_rows, "resumed": len(state.done), "scored": 0, "chunks": 0, "failed_chunks": 0}
    if pending.num_rows == 0:
        return counts
    transform = transform or make_transform(job)
    journal = Journal(job.journal)
    bar = _progress(job, pending.num_rows)
    try:
        try:
            transform.load()
        except Exception as exc:  # noqa: BLE001 - recorded as data; the rest of the run goes on
            counts["model_error"] = f"{type(exc).__name__}: {exc}"[:500]
            journal.append({"cfg": job.config_hash, "model_error": counts["model_error"]})
            return counts
        for start in range(0, pending.num_rows, job.chunk_rows):
            chunk = pending.slice(start, job.chunk_rows)
            out = transform(chunk)
            chunk_failed = False
            for rec in out.to_pylist():
                rid = rec.pop("id")
                line = {"id": rid, "h": hashes[rid], "cfg": job.config_hash,
                        "cols": {k: v for k, v in rec.items() if k not in ("sample_errors", "error")},
                        "sample_errors": rec["sample_errors"], "error": rec["error"]}
                if (rec["error"] or "").startswith(CHUNK_FAILED):
                    line["retry"] = True
                    chunk_failed = True
                journal.append(line)
            counts["chunks"] += 1
            counts["failed_chunks"] += chunk_failed
            counts["scored"] += chunk.num_rows
            if bar:
                bar.update(chunk.num_rows)
    finally:
        if bar:
            bar.close()
        journal.close()
        transform.close()
    return counts


def _progress(job: VerifierJob, total: int):
    if not job.progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=job.name, unit="row", file=sys.stderr, leave=False)


def worker_command(job_path: str | os.PathLike) -> list[str]:
    """The command the runner starts for one placement (its GPUs come from CUDA_VISIBLE_DEVICES)."""
    return [sys.executable, "-m", "verifiers.workers", str(job_path)]


def main(argv: list[str] | None = None) -> int:
    import pyarrow as pa

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m verifiers.workers JOB.json", file=sys.stderr)
        return 2
    job = VerifierJob.from_json(Path(argv[0]).read_text())
    with pa.memory_map(job.input_arrow, "r") as source:
        table = pa.ipc.open_file(source).read_all()
    counts = run_job(job, table)
    print(json.dumps({"worker": job.name, **counts}), flush=True)
    return 0


if __name__ == "__main__":
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the runner says what to do
        print("interrupted; the journal keeps finished rows", file=sys.stderr)
        sys.exit(130)
