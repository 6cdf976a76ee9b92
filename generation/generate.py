"""Stage 1 as a library: ``run_generation(config) -> Dataset``.

Every sample is appended to ``<output_path>.progress/samples.jsonl`` the moment it arrives, so
the same command after a crash, kill -9 or Ctrl-C makes only what is missing; raising k adds
only the new samples. When nothing is missing the dataset is written atomically with its
manifest; failed samples are nulls listed in ``failures.jsonl`` and the report says how many.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from generation.config import GenerationConfig
from toolkit.errors import InputError


@dataclass
class GenerationReport:
    dataset: Any
    output_path: Path | None
    rows: int
    samples_per_instruction: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    resumed: int = 0
    usage: dict[str, Any] = field(default_factory=dict)


def load_rows(config: GenerationConfig) -> tuple[list[dict[str, Any]], str]:
    """The problems with ``id``, ``instruction`` and ``answer``, plus the benchmark's own columns."""
    from generation.benchmarks import BENCHMARKS, load_any, load_benchmark

    subjects = config.subject_list()
    if config.dataset in BENCHMARKS:
        spec = BENCHMARKS.get(config.dataset)
        rows, kind = load_benchmark(spec, subjects, config.max_rows), spec.kind
    else:
        if subjects:
            raise InputError("--subjects applies to the named benchmarks (mmlu, mmlu_pro, math) only")
        rows, kind = load_any(config.dataset, config.question_column, config.answer_column, config.max_rows)
    if not rows:
        raise InputError(f"{config.dataset} has no rows to generate for")
    return rows, kind


def identity(config: GenerationConfig, provider: str) -> dict[str, Any]:
    """What makes a sample what it is; a resumed run must match it exactly."""
    from generation.prompts import PROMPT_VERSION

    def local(path: str) -> str:
        p = Path(path).expanduser()
        return str(p.resolve()) if p.exists() else path

    return {"model": local(config.model) if provider == "vllm" else config.model, "provider": provider,
            "dataset": local(config.dataset), "subjects": config.subjects, "question_column": config.question_column,
            "answer_column": config.answer_column, "system_prompt": config.system_prompt,
            "temperature": config.temperature, "top_p": config.top_p, "max_new_tokens": config.max_new_tokens,
            "seed": config.seed, "prompt_version": PROMPT_VERSION}


def generate_samples(config: GenerationConfig) -> GenerationReport:
    """The whole run holds ``<output>``'s lock (a dry run only reads, so it takes none)."""
    from toolkit.run_store import output_lock, recover

    config.validate()
    if config.dry_run:
        return _generate_samples(config)
    with output_lock(config.output_path):
        recover(config.output_path)
        return _generate_samples(config)


def _generate_samples(config: GenerationConfig) -> GenerationReport:
    from generation.backends import check_credentials, resolve_provider
    from generation.progress_store import ProgressStore, instruction_hash
    from toolkit.run_store import check_output_identity

    config.validate()
    rows, _ = load_rows(config)
    k = config.samples_per_instruction
    provider = resolve_provider(config.model, config.provider, config.base_url)
    if not config.dry_run:
        check_credentials(provider)
    store = ProgressStore(config.output_path)
    check_output_identity(config.output_path, "generation", identity(config, provider), "samples")
    store.check_identity(identity(config, provider), write=not config.dry_run)
    hashes = {r["id"]: instruction_hash(r["instruction"]) for r in rows}
    successes, _ = store.load(hashes)
    todo = [(r["id"], r["instruction"], i) for r in rows for i in range(k) if (r["id"], i) not in successes]
    resumed = len(rows) * k - len(todo)
    if config.dry_run:
        print_dry_run(config, provider, rows, todo, resumed)
        return GenerationReport(None, None, len(rows), k, resumed=resumed)

    usage: dict[str, Any] = {}
    backend_info: dict[str, Any] = {}
    if todo:
        usage, backend_info = _generate_missing(config, provider, todo, hashes, successes, store, resumed)
    return _write_output(config, provider, rows, successes, store, resumed, usage, backend_info)


def _generate_missing(config, provider, todo, hashes, successes, store, resumed):
    import pyarrow as pa
    from tqdm import tqdm

    from generation.backends.base import SamplingParams
    from generation.client import open_client
    from generation.sampling import SampleGenerator

    params = SamplingParams(temperature=config.temperature, top_p=config.top_p, max_tokens=config.max_new_tokens)
    table = pa.table({"id": [t[0] for t in todo], "instruction": [t[1] for t in todo],
                      "sample_index": [t[2] for t in todo]})
    total = resumed + len(todo)
    with open_client(config.model, provider, config.base_url, config.concurrency, config.max_retries,
                     config.request_timeout, batch_size=config.batch_size,
                     tensor_parallel_size=config.tensor_parallel_size,
                     gpu_memory_utilization=config.gpu_memory_utilization, seed=config.seed) as client, \
            store.journal() as journal, \
            tqdm(total=total, initial=resumed, unit="sample", desc="generating", mininterval=0.5,
                 file=sys.stderr, dynamic_ncols=True) as bar:
        generator = SampleGenerator(params, client=client, seed=config.seed, system_prompt=config.system_prompt)
        failed = 0
        for record in generator.stream(table):
            journal.append({**record, "h": hashes[record["id"]], "t": round(time.time(), 3)})
            if record["text"] is not None:
                successes.setdefault((record["id"], record["sample_index"]), record)
            else:
                failed += 1
                bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
        return client.usage, client.backend.describe()


def _write_output(config, provider, rows, successes, store, resumed, usage, backend_info) -> GenerationReport:
    import datasets as hf
    import pyarrow as pa

    from toolkit.dataset_io import build_manifest, save_dataset_atomic

    k = config.samples_per_instruction
    _, latest_failures = store.load({r["id"]: _hash(r) for r in rows})
    failures, out_rows = [], []
    totals = {"prompt_tokens": 0, "completion_tokens": 0}
    for row in rows:
        samples = []
        for i in range(k):
            rec = successes.get((row["id"], i))
            samples.append(rec["text"] if rec else None)
            if rec:
                totals["prompt_tokens"] += int(rec.get("prompt_tokens") or 0)
                totals["completion_tokens"] += int(rec.get("completion_tokens") or 0)
            else:
                reason = (latest_failures.get((row["id"], i)) or {}).get("error") or "not generated"
                failures.append({"id": row["id"], "sample_index": i, "error": reason})
        out_rows.append({**{c: v for c, v in row.items() if c not in ("id", "instruction", "answer")},
                         "id": row["id"], "instruction": row["instruction"], "answer": row["answer"],
                         "samples": samples})
    table = pa.Table.from_pylist(out_rows)
    for name, typ in (("answer", pa.string()), ("samples", pa.list_(pa.string()))):
        table = table.set_column(table.schema.get_field_index(name), name, table.column(name).cast(typ))
    dataset = hf.Dataset(table)
    price_model = config.model if provider in ("openai", "anthropic", "together") else None
    if price_model:
        from generation.backends.pricing import cost_usd

        totals["cost_usd"] = cost_usd(price_model, totals["prompt_tokens"], totals["completion_tokens"])
    manifest = build_manifest("generation", asdict(config), provider=provider, backend=backend_info,
                              sampling={"temperature": config.temperature, "top_p": config.top_p,
                                        "max_new_tokens": config.max_new_tokens, "seed": config.seed,
                                        "samples_per_instruction": k},
                              rows=len(rows), samples=len(rows) * k, failures=len(failures),
                              usage_this_run=usage, usage_all_samples=totals, progress_dir=str(store.dir),
                              run_identity=identity(config, provider))
    input_path = config.dataset if Path(config.dataset).exists() else None
    out = save_dataset_atomic(dataset, config.output_path, manifest, input_path=input_path)
    if failures:
        with open(out / "failures.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(f, ensure_ascii=False) + "\n" for f in failures)
    report = GenerationReport(dataset, out, len(rows), k, failures, resumed, {**totals, **{"this_run": usage}})
    print_summary(report, usage)
    return report


def _hash(row: dict[str, Any]) -> str:
    from generation.progress_store import instruction_hash

    return instruction_hash(row["instruction"])


def run_generation(config: GenerationConfig):
    """Library entry point: the finished dataset (None for a dry run)."""
    return generate_samples(config).dataset


def print_summary(report: GenerationReport, usage: dict[str, Any]) -> None:
    total = report.rows * report.samples_per_instruction
    lines = [f"wrote {report.output_path}: {report.rows} rows x {report.samples_per_instruction} samples "
             f"({report.resumed} from earlier runs, {total - report.resumed} attempted now)"]
    if usage:
        cost = usage.get("cost_usd")
        lines.append(f"this run: {usage['requests']} requests, {usage['retries']} retries, "
                     f"{usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion tokens"
                     + (f", ~${cost:.4f}" if cost is not None else ""))
    if report.failures:
        lines.append(f"{len(report.failures)} of {total} samples FAILED (null in `samples`; reasons in "
                     f"{report.output_path}/failures.jsonl); run the same command again to retry them. "
                     f"First reason: {report.failures[0]['error']}")
    print("\n".join(lines), file=sys.stderr)


def print_dry_run(config: GenerationConfig, provider: str, rows, todo, resumed: int) -> None:
    from generation.backends import PROVIDERS
    from generation.backends.pricing import cost_usd

    k = config.samples_per_instruction
    prompt_chars = {r["id"]: len(r["instruction"]) + len(config.system_prompt or "") for r in rows}
    prompt_tokens = sum(prompt_chars[t[0]] for t in todo) // 4  # ~4 characters per token
    completion_tokens = len(todo) * config.max_new_tokens
    print(f"dry run: {len(rows)} rows x {k} samples = {len(rows) * k} calls "
          f"({resumed} already done, {len(todo)} to make) with provider {provider}, model {config.model}")
    print(f"estimated tokens: ~{prompt_tokens} prompt (about 4 characters per token), "
          f"up to {completion_tokens} completion ({config.max_new_tokens} per sample)")
    cost = cost_usd(config.model, prompt_tokens, completion_tokens) if provider in ("openai", "anthropic",
                                                                                   "together") else None
    if cost is not None:
        print(f"estimated cost: at most ~${cost:.2f} at list prices")
    env_key = PROVIDERS.get(provider).env_key
    import os

    if env_key and not os.environ.get(env_key):
        print(f"note: {env_key} is not set; a real run needs it")
