"""Stage 2 as a library: ``run_evaluation(config) -> Dataset``.

Adds ``extracted_answers``, ``answer_correct`` (None where undecidable), ``grade_status``,
``extracted_by``, ``label_source`` and ``pseudo_label`` to a dataset of samples. Rules first
(``verifiers.grading``); the LLM extractor only for samples the rules cannot read.

Every graded row is appended to ``<output_path>.progress/graded.jsonl`` as soon as it is done,
so the same command after a crash or Ctrl-C grades only what is missing; ``identity.json``
there refuses a rerun with other settings. LLM replies are cached in ``llm_cache.jsonl``.
The dataset is written atomically with its manifest once every row is graded.
"""
from __future__ import annotations

import sys
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterator

from generation.config import opt
from toolkit.errors import InputError
from toolkit.progress import check_run_identity, progress_dir

GRADER_VERSION = 2  # 2: exact equality, undecided status, LLM equivalence check
DATASET_TYPES = ("math", "gpqa", "gpqa_diamond", "mmlu", "mmlu_pro")
NEW_COLUMNS = ("extracted_answers", "answer_correct", "grade_status", "extracted_by", "label_source",
               "pseudo_label", "error")


@dataclass
class EvaluationConfig:
    input_path: str = opt(None, "stage-1 dataset with a `samples` column (save_to_disk folder, .jsonl, .parquet)",
                          required=True)
    output_path: str = opt(None, "where the graded save_to_disk dataset goes (never the input path)", required=True)
    dataset_type: str = opt(None, "math, gpqa, gpqa_diamond, mmlu or mmlu_pro (math: free-form answers; "
                                  "the others: option letters)", required=True)
    max_samples: int | None = opt(None, "grade only the first N samples of each row (the output keeps those N)")
    max_rows: int | None = opt(None, "only the first N rows (default: all)")
    parallel: int = opt(1, "rows graded concurrently (worker threads; symbolic checks run in bounded "
                           "worker processes)")
    extractor_model: str = opt("gpt-4o-mini", "LLM that reads answers the rules cannot find (any stage-1 model name)")
    base_url: str | None = opt(None, "OpenAI-compatible server for the extractor, e.g. http://127.0.0.1:8000/v1")
    no_llm: bool = opt(False, "rules only: never call the LLM extractor")
    timeout: float = opt(5.0, "seconds allowed for one answer comparison")
    float_rounding: int = opt(6, "decimal places at which a written decimal may meet an exact value (1/3 vs "
                                 "0.333333); exact values are always compared exactly. 6 is Math-Verify's default; "
                                 "smaller is looser")
    chunk_rows: int = opt(32, "rows per batch (one journal flush and one LLM batch each)")

    def validate(self) -> "EvaluationConfig":
        if not self.input_path or not self.output_path or not self.dataset_type:
            raise InputError("--input_path, --output_path and --dataset_type are required")
        if self.dataset_type not in DATASET_TYPES:
            import difflib

            close = difflib.get_close_matches(self.dataset_type, DATASET_TYPES, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise InputError(f"unknown --dataset_type {self.dataset_type!r}.{hint} Known: {', '.join(DATASET_TYPES)}")
        for name, value, low in (("max_samples", self.max_samples, 1), ("max_rows", self.max_rows, 1),
                                 ("parallel", self.parallel, 1), ("chunk_rows", self.chunk_rows, 1)):
            if value is not None and value < low:
                raise InputError(f"--{name} must be at least {low}, got {value}")
        if not 0 <= self.float_rounding <= 15:
            raise InputError(f"--float_rounding must be between 0 and 15 decimal places, got {self.float_rounding}")
        if self.timeout <= 0:
            raise InputError("--timeout must be positive")
        if Path(self.input_path).expanduser().resolve() == Path(self.output_path).expanduser().resolve():
            raise InputError(f"--output_path {self.output_path} is the input: inputs are never overwritten in place")
        return self

    @property
    def kind(self) -> str:
        return "math" if self.dataset_type == "math" else "choice"


@dataclass
class EvaluationReport:
    dataset: Any
    output_path: Path
    rows: int
    resumed: int
    extractor_note: str
    llm_stats: dict[str, int]
    counts: dict[str, Any]


# -- input -------------------------------------------------------------------------------------
def load_input(config: EvaluationConfig):
    from toolkit.dataset_io import load_dataset_from_path

    ds = load_dataset_from_path(config.input_path)
    if "samples" not in ds.column_names:
        raise InputError(f"{config.input_path} has no `samples` column (columns: {', '.join(ds.column_names)}); "
                         "run stage 1 (generate_reasoning_samples.py) first")
    check_samples_column(ds, config.input_path)
    if config.max_rows is not None and config.max_rows < len(ds):
        ds = ds.select(range(config.max_rows))
    ds = ds.flatten_indices()
    if "id" in ds.column_names:
        ids = ds["id"]
        if any(not isinstance(i, int) or isinstance(i, bool) for i in ids) or len(set(ids)) != len(ids):
            raise InputError(f"{config.input_path}: the `id` column must hold unique integers")
    else:
        ds = ds.add_column("id", list(range(len(ds))))
    if len(ds) == 0:
        raise InputError(f"{config.input_path} has no rows")
    return ds


def check_samples_column(ds, path: str) -> None:
    """`samples` must hold, per row, a list of strings or nulls: anything else is a one-line error."""
    import pyarrow as pa

    kind = ds.data.table.schema.field("samples").type
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and (
            pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
            or pa.types.is_null(kind.value_type)):
        return
    if pa.types.is_null(kind):
        return  # every row null: graded as missing samples
    column = ds.data.table.column("samples")
    row = next((i for i, v in enumerate(column.to_pylist()) if v is not None), 0)
    value = column[row].as_py() if len(column) else None
    raise InputError(f"{path}: column `samples` must hold a list of strings (or nulls) per row; row {row} holds "
                     f"{type(value).__name__} {str(value)[:40]!r} (arrow type {kind})")


# -- progress ----------------------------------------------------------------------------------
class EvaluationProgress:
    def __init__(self, output_path: str):
        self.dir = progress_dir(output_path)
        self.graded_path = self.dir / "graded.jsonl"
        self.llm_cache_path = self.dir / "llm_cache.jsonl"

    def check_identity(self, identity: dict[str, Any]) -> None:
        check_run_identity(self.dir, identity, "grades")

    def load(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        """Finished rows by id (a row with an error is retried, so only error-free ones count)."""
        from toolkit.journal import read_journal

        done: dict[int, dict[str, Any]] = {}
        for rec in read_journal(self.graded_path):
            if rec.get("id") in ids and rec.get("error") is None:
                done[rec["id"]] = rec
        return done


def identity(config: EvaluationConfig, extractor_model: str | None, input_fingerprint: str) -> dict[str, Any]:
    return {"input": str(Path(config.input_path).expanduser().resolve()), "input_fingerprint": input_fingerprint,
            "dataset_type": config.dataset_type, "max_samples": config.max_samples,
            "float_rounding": config.float_rounding,
            "extractor_model": extractor_model, "base_url": config.base_url if extractor_model else None,
            "grader_version": GRADER_VERSION}


# -- the run -----------------------------------------------------------------------------------
def _chunks(table, size: int) -> Iterator[Any]:
    for start in range(0, table.num_rows, size):
        yield table.slice(start, size)


def evaluate(config: EvaluationConfig) -> EvaluationReport:
    """The whole run holds ``<output>``'s lock; a swap a crash interrupted is finished first."""
    from toolkit.run_store import output_lock, recover

    config.validate()
    with output_lock(config.output_path):
        recover(config.output_path)
        return _evaluate(config)


def _evaluate(config: EvaluationConfig) -> EvaluationReport:
    from toolkit.run_store import check_output_identity
    from verifiers.grading.llm_extract import configured_extractor

    config.validate()
    ds = load_input(config)
    extractor_model, note = configured_extractor(config.extractor_model, config.base_url, config.no_llm)
    progress = EvaluationProgress(config.output_path)
    run_identity = identity(config, extractor_model, _fingerprint(ds))
    check_output_identity(config.output_path, "evaluation", run_identity, "grades")
    progress.check_identity(run_identity)
    ids = ds["id"]
    done = progress.load(set(ids))
    resumed = len(done)
    print(f"stage 2: {len(ds)} rows ({resumed} graded by an earlier run); {note}", file=sys.stderr)
    todo_idx = [i for i, row_id in enumerate(ids) if row_id not in done]
    stats: dict[str, int] = {}
    if todo_idx:
        stats = _grade_rows(config, ds.select(todo_idx).flatten_indices(), extractor_model, progress, done)
    return _write_output(config, ds, done, progress, resumed, note, stats, extractor_model)


def _grade_rows(config, ds, extractor_model, progress, done) -> dict[str, int]:
    from tqdm import tqdm

    from toolkit.journal import Journal
    from verifiers.grading.llm_extract import LLMExtractor
    from verifiers.grading.transform import GradeTransform, fill_with_llm

    keep = [c for c in ds.column_names if c not in NEW_COLUMNS]
    table = ds.select_columns(keep).data.table
    transform = GradeTransform(config.kind, config.dataset_type, config.max_samples, config.timeout,
                               float_rounding=config.float_rounding)
    extractor = (LLMExtractor(extractor_model, config.base_url, progress.llm_cache_path,
                              concurrency=max(4, config.parallel)) if extractor_model else None)
    with Journal(progress.graded_path) as journal, (extractor or _Null()) as ex, \
            ThreadPoolExecutor(max_workers=config.parallel) as pool, \
            tqdm(total=table.num_rows, unit="row", desc="grading", file=sys.stderr, mininterval=0.5,
                 dynamic_ncols=True) as bar:
        # Rule passes run `parallel` chunks ahead; LLM fill, labels and the journal stay in this thread.
        for states in _ordered(pool, transform.rule_pass, _chunks(table, config.chunk_rows), 2 * config.parallel):
            if ex is not None:
                fill_with_llm(states, ex, config.timeout)
            for rec in transform.finish(states).to_pylist():
                journal.append(rec)
                if rec["error"] is None:
                    done[rec["id"]] = rec
                else:
                    done.setdefault(rec["id"], rec)
            bar.update(len(states))
    return dict(extractor.stats) if extractor else {}


def _ordered(pool, fn, items, window: int) -> Iterator[Any]:
    """``pool.map`` with a bounded look-ahead: Ctrl-C waits for at most ``window`` chunks."""
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def _fingerprint(ds) -> str:
    return str(getattr(ds, "_fingerprint", "")) or str(len(ds))


def _write_output(config, ds, done, progress, resumed, note, stats, extractor_model) -> EvaluationReport:
    import datasets as hf
    import pyarrow as pa

    from toolkit.dataset_io import build_manifest, save_dataset_atomic
    from verifiers.grading.transform import output_schema

    schema = output_schema()
    records = [done[row_id] for row_id in ds["id"]]
    base = ds.remove_columns([c for c in NEW_COLUMNS if c in ds.column_names]).data.table
    if config.max_samples is not None:
        cut = [None if s is None else s[: config.max_samples] for s in base.column("samples").to_pylist()]
        base = base.set_column(base.schema.get_field_index("samples"), "samples", pa.array(cut, pa.list_(pa.string())))
    for name in NEW_COLUMNS:
        base = base.append_column(name, pa.array([r.get(name) for r in records], schema.field(name).type))
    dataset = hf.Dataset(base)
    counts = _counts(records)
    manifest = build_manifest("evaluation", asdict(config), extractor={"model": extractor_model, "note": note,
                                                                     "base_url": config.base_url,
                                                                     "stats_this_run": stats},
                              rows=len(records), resumed_rows=resumed, progress_dir=str(progress.dir),
                              run_identity=identity(config, extractor_model, _fingerprint(ds)), **counts)
    out = save_dataset_atomic(dataset, config.output_path, manifest, input_path=config.input_path)
    report = EvaluationReport(dataset, out, len(records), resumed, note, stats, counts)
    print_summary(report)
    return report


def _counts(records: list[dict[str, Any]]) -> dict[str, Any]:
    status = Counter(s for r in records for s in (r["grade_status"] or []))
    by = Counter(b for r in records for b in (r["extracted_by"] or []) if b)
    sources = Counter(r["label_source"] or "error" for r in records)
    verdicts = [c for r in records for c in (r["answer_correct"] or [])]
    decided = [c for c in verdicts if c is not None]
    return {"samples": len(verdicts), "grade_status_counts": dict(status), "extracted_by_counts": dict(by),
            "label_source_counts": dict(sources), "row_errors": sum(1 for r in records if r["error"]),
            "correct_rate": (sum(decided) / len(decided)) if decided else None,
            "undecided_samples": len(verdicts) - len(decided)}


def run_evaluation(config: EvaluationConfig):
    """Library entry point: the graded dataset."""
    return evaluate(config).dataset


def print_summary(report: EvaluationReport) -> None:
    c = report.counts
    rate = "n/a" if c["correct_rate"] is None else f"{c['correct_rate']:.3f}"
    lines = [f"wrote {report.output_path}: {report.rows} rows, {c['samples']} samples graded "
             f"({report.resumed} rows from earlier runs); correct rate {rate}, "
             f"{c['undecided_samples']} undecided (answer_correct null)",
             f"status: {c['grade_status_counts']}; extracted by: {c['extracted_by_counts']}; "
             f"labels: {c['label_source_counts']}",
             report.extractor_note]
    if report.llm_stats:
        s = report.llm_stats
        lines.append(f"LLM extractor this run: {s['requested']} samples asked, {s['calls']} calls, "
                     f"{s['cache_hits']} cache hits, {s['failures']} failed, {s['none']} said NONE; "
                     f"equivalence check: {s.get('equivalence_asked', 0)} undecided pairs asked, "
                     f"{s.get('equivalence_decided', 0)} decided (grade_status llm_decided)")
    if c["row_errors"]:
        lines.append(f"{c['row_errors']} rows FAILED (nulls plus a reason in the `error` column); "
                     "rerun the same command to retry them")
    print("\n".join(lines), file=sys.stderr)


# -- CLI plumbing (the script in unified_evaluation.py is a screen of code) -------------------------
def build_parser(description: str):
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line and exit 2 via run_cli
            raise InputError(message)

    parser = Parser(description=description)
    for f in fields(EvaluationConfig):
        if f.default is False:
            parser.add_argument(f"--{f.name}", action="store_true", help=f.metadata["help"])
            continue
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        convert = int if kind.startswith("int") else float if kind.startswith("float") else str
        suffix = "" if f.default is None else f" (default: {f.default})"
        parser.add_argument(f"--{f.name}", type=convert, default=f.default, required=f.metadata["required"],
                            help=f.metadata["help"] + suffix)
    return parser


def config_from_args(args) -> EvaluationConfig:
    return EvaluationConfig(**{f.name: getattr(args, f.name) for f in fields(EvaluationConfig)}).validate()
