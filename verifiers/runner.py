"""Stage 3: score every sample with reward models, PRMs and LM judges -> ``run_scoring(config)``.

Flow: resolve the verifiers (registry names, local folders, endpoints) -> skip those whose
columns the input already has (unless ``overwrite``) -> plan placement (verifiers.placement) ->
run: on GPU machines each placement in its own worker process with ``CUDA_VISIBLE_DEVICES`` set
to its GPUs, waves in order and the placements of a wave in parallel, while API / llama.cpp
judges run in this process beside them; on CPU-only machines small models run here, one after
the other -> read the journals back into columns -> write atomically with a manifest.

Every verifier journals finished rows to ``<output>.progress/<name>.jsonl``, so a crash loses
at most the chunk in flight; a model that fails to load, or a sample that fails to score,
becomes nulls plus an entry in ``verifier_errors`` while the rest of the run goes on.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from toolkit.errors import InputError
from toolkit.progress import progress_dir as output_progress_dir
from verifiers.scoring_config import ScoringConfig
from verifiers.workers import VerifierJob, run_job, stable_hash, worker_command

ERRORS_COLUMN = "verifier_errors"
INPUT_ARROW = "input.arrow"


@dataclass
class Verifier:
    """One resolved verifier: its spec, and for judges where its model is served."""

    spec: Any  # verifiers.specs.VerifierSpec
    target: dict[str, Any] | None = None  # judges: model / provider / base_url for open_client

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def columns(self) -> list[str]:
        return self.spec.output_columns()


# ------------------------------------------------------------------ resolving
def resolve_verifiers(config: ScoringConfig) -> list[Verifier]:
    """Registry names, local folders, hub ids and endpoint judges -> Verifiers (nothing is loaded)."""
    from verifiers.catalog import resolve_verifier

    out = []
    for name in config.reward_model_list():
        spec = resolve_verifier(name)
        if spec.kind == "judge":
            raise InputError(f"{name} is an LM judge: pass it with --lm_judges, not --reward_models")
        out.append(Verifier(spec))
    for name in config.judge_list():
        out.append(resolve_judge(name, config))
    names = [v.name for v in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"verifier(s) named twice: {', '.join(duplicates)}")
    return out


def resolve_judge(name: str, config: ScoringConfig) -> Verifier:
    """A judge spec plus where it is served: endpoint, embedded llama.cpp, API provider or vLLM."""
    from verifiers.catalog import VERIFIERS
    from verifiers.specs import VerifierSpec

    spec = VERIFIERS.get(name) if name in VERIFIERS else None
    if spec is not None and spec.kind != "judge":
        raise InputError(f"{name} is a reward model: pass it with --reward_models, not --lm_judges")
    if config.judge_base_url:
        model = config.judge_model or (spec.api_model or spec.hub_id if spec else name)
        spec = VerifierSpec(name=spec.name if spec else name, hub_id=model, family="judge_api", params_b=0.0,
                            padding_side="left", score_reader="verdict_logprob_true", runtime="api",
                            api_model=model, description=f"judge at {config.judge_base_url}")
        return Verifier(spec, {"model": model, "provider": None, "base_url": config.judge_base_url})
    if spec is None:
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise InputError(VERIFIERS.unknown_message(name) + ". A local model folder (served with vLLM) or "
                             "--judge_base_url with any model name also works.")
        spec = VerifierSpec(name=path.resolve().name, hub_id=str(path.resolve()), family="judge_local",
                            params_b=_folder_params_b(path), padding_side="left",
                            score_reader="verdict_logprob_true", runtime="vllm",
                            description=f"local judge at {path}")
    if spec.runtime == "llama_cpp":
        return Verifier(spec, {"model": "smollm2", "provider": None, "base_url": None})
    if spec.runtime == "api":
        return Verifier(spec, {"model": spec.api_model or spec.hub_id, "provider": spec.api_provider,
                               "base_url": None})
    return Verifier(spec, {"model": spec.hub_id, "provider": "vllm", "base_url": None})


def _folder_params_b(path: Path) -> float:
    size = sum(f.stat().st_size for f in path.glob("*.safetensors")) or sum(f.stat().st_size for f in path.glob("*.bin"))
    return size / 2 / 1e9 if size else 0.0


def plan_scoring(config: ScoringConfig, verifiers: list[Verifier] | None = None):
    """The placement plan for this config (reads configs only; loads no model)."""
    from verifiers.placement import detect_gpus, parse_gpus, plan

    verifiers = resolve_verifiers(config) if verifiers is None else verifiers
    if config.device == "cpu":
        gpus = []
    else:
        gpus = parse_gpus(config.gpus) if config.gpus else detect_gpus()
    specs = [v.spec for v in verifiers]
    if config.max_length:
        specs = [replace(s, max_length=config.max_length) if s.kind != "judge" else s for s in specs]
    return plan(specs, gpus, batch_size=config.batch_size, max_length=config.max_length)


# ------------------------------------------------------------------ running
def run_scoring(config: ScoringConfig, scorer_factory: Callable[..., Any] | None = None,
                isolate_workers: bool | None = None):
    """Score ``config.dataset_path`` and write ``config.output_path``; returns the scored Dataset.

    ``isolate_workers`` (default: only when the plan uses GPUs) runs each placement as a
    subprocess worker; ``scorer_factory`` replaces ``load_scorer`` in-process (tests). The whole run
    holds ``<output>``'s lock; a swap a crash interrupted is finished first.
    """
    from toolkit.run_store import output_lock, recover

    config.validate()
    if Path(config.output_path).resolve() == Path(config.dataset_path).resolve():
        raise InputError(f"--output_path {config.output_path} is the input: inputs are never overwritten in place")
    with output_lock(config.output_path):
        recover(config.output_path)
        return _run_scoring(config, scorer_factory, isolate_workers)


def _run_scoring(config: ScoringConfig, scorer_factory, isolate_workers):
    from toolkit.dataset_io import build_manifest, load_dataset_from_path, save_dataset_atomic
    from toolkit.run_store import check_output_identity

    config.validate()
    verifiers = resolve_verifiers(config)
    dataset = load_dataset_from_path(config.dataset_path)
    missing = [c for c in ("instruction", "samples") if c not in dataset.column_names]
    if missing:
        raise InputError(f"{config.dataset_path} has no column(s) {', '.join(missing)}; stage 3 needs "
                         "`instruction` and `samples` (run stage 1 first)")
    dataset, first_id = _select_rows(dataset, config)
    skipped = [v.name for v in verifiers
               if not config.overwrite and all(c in dataset.column_names for c in v.columns)]
    todo = [v for v in verifiers if v.name not in skipped]
    progress_dir = output_progress_dir(config.output_path)
    identity = _run_identity(config, verifiers, progress_dir)
    check_output_identity(config.output_path, "score", identity, "scores", overwrite=config.overwrite,
                          overwrite_flag="--overwrite (recomputes every verifier)")
    the_plan = plan_scoring(config, todo) if todo else None
    stats: dict[str, dict[str, Any]] = {}
    if todo:
        progress_dir.mkdir(parents=True, exist_ok=True)
        table = _input_table(dataset, first_id)
        jobs = {v.name: _job(v, config, progress_dir) for v in todo}
        gpu_run = bool(the_plan.gpus) and any(p.device == "cuda" for p in the_plan.placements)
        isolate = gpu_run if isolate_workers is None else isolate_workers
        if isolate:
            _write_arrow(table, progress_dir / INPUT_ARROW)
        for u in the_plan.unplaceable:
            stats[u.name] = {"model_error": f"not placed: {u.reason}"}
        _execute(the_plan, jobs, table, progress_dir, isolate, config.sequential_rm_processing,
                 scorer_factory, stats)
        dataset, failures = _assemble(dataset, table, todo, jobs, stats)
    else:
        failures = {}
    manifest = build_manifest(
        "score", config.to_dict(), rows=len(dataset), first_row=first_id,
        verifiers={v.name: {"spec": v.spec.to_dict(), "columns": v.columns, "target": v.target}
                   for v in verifiers},
        skipped_existing=skipped, plan=the_plan.to_dict() if the_plan else None,
        judge_settings=_judge_settings(config), failures=failures, worker_stats=stats, run_identity=identity)
    save_dataset_atomic(dataset, config.output_path, manifest, input_path=config.dataset_path)
    if todo and not any(f["failed_samples"] or f.get("model_error") for f in failures.values()):
        shutil.rmtree(progress_dir, ignore_errors=True)  # everything is in the output now
    if config.push_to_hub:
        from verifiers.publish import push_to_hub

        push_to_hub(dataset, config.push_to_hub, manifest)
    return dataset


def _run_identity(config: ScoringConfig, verifiers: list[Verifier], progress_dir: Path) -> dict[str, Any]:
    """What decides the output: input, rows, and each verifier's settings (its journal's config hash)."""
    judges = any(v.spec.kind == "judge" for v in verifiers)
    return {"input": str(Path(config.dataset_path).expanduser().resolve()), "start_row": config.start_row,
            "end_row": config.end_row, "max_rows": config.max_rows, "max_samples": config.max_samples,
            "max_length": config.max_length, "judge_settings": _judge_settings(config) if judges else None,
            "verifiers": {v.name: _job(v, config, progress_dir).config_hash for v in verifiers}}


def has_failures(output_path: str) -> bool:
    """True when this run left a failed model or a null score / verdict a rerun could fill: the exit code.

    A null input sample (stage 1 failed to make it) has nothing to score and is not counted here.
    """
    from toolkit.dataset_io import read_manifest

    failures = (read_manifest(output_path) or {}).get("failures") or {}
    return any(f.get("model_error") or f.get("unscored_rows")
               or (f.get("failed_samples") or 0) > (f.get("null_input_samples") or 0) for f in failures.values())


def _select_rows(dataset, config: ScoringConfig):
    end = len(dataset) if config.end_row is None else min(config.end_row, len(dataset))
    if config.max_rows is not None:
        end = min(end, config.start_row + config.max_rows)
    if config.start_row >= len(dataset) or end <= config.start_row:
        raise InputError(f"row range [{config.start_row}, {end}) selects no rows of the {len(dataset)} in "
                         f"{config.dataset_path}")
    if config.start_row == 0 and end == len(dataset):
        return dataset, 0
    return dataset.select(range(config.start_row, end)), config.start_row


def _input_table(dataset, first_id: int):
    import pyarrow as pa

    inner = dataset.select_columns(["instruction", "samples"]).with_format("arrow")[:]
    ids = pa.array(range(first_id, first_id + len(dataset)), pa.int64())
    return pa.table({"id": ids, "instruction": inner["instruction"], "samples": inner["samples"]})


def _write_arrow(table, path: Path) -> None:
    import pyarrow as pa

    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)


def _judge_settings(config: ScoringConfig) -> dict[str, Any]:
    return {"verdicts_per_sample": config.verdicts_per_sample, "critique": config.critique,
            "temperature": config.temperature, "max_new_tokens": config.max_new_tokens, "seed": config.seed}


def _job(v: Verifier, config: ScoringConfig, progress_dir: Path) -> VerifierJob:
    is_judge = v.spec.kind == "judge"
    settings = _judge_settings(config) if is_judge else {}
    spec = v.spec if is_judge or not config.max_length else replace(v.spec, max_length=config.max_length)
    # What the journal's rows depend on: a change here makes old journal lines stale.
    identity = {"spec": spec.to_dict(), "target": v.target, "max_samples": config.max_samples, **settings}
    return VerifierJob(
        name=v.name, kind="judge" if is_judge else "rm", journal=str(progress_dir / f"{v.name}.jsonl"),
        config_hash=stable_hash(identity), spec=spec.to_dict(), target=v.target, judge_settings=settings,
        device=config.device or "cpu", batch_size=config.batch_size, max_samples=config.max_samples,
        concurrency=config.concurrency, chunk_rows=config.chunk_rows,
        input_arrow=str(progress_dir / INPUT_ARROW), scorer_factory=config.scorer_factory,
        progress=config.progress)


def _execute(the_plan, jobs: dict[str, VerifierJob], table, progress_dir: Path, isolate: bool,
             sequential: bool, scorer_factory, stats: dict[str, dict[str, Any]]) -> None:
    """Waves in order; a wave's GPU placements in parallel (one by one if ``sequential``);
    CPU and API placements run in this process beside the GPU waves."""
    local = [p for p in the_plan.placements if p.device != "cuda" and p.name in jobs]
    gpu_waves = [[p for p in wave if p.device == "cuda" and p.name in jobs] for wave in the_plan.waves()]

    def run_local() -> None:
        for p in local:
            if isolate:
                stats[p.name] = _run_worker(jobs[p.name], progress_dir, env={"CUDA_VISIBLE_DEVICES": ""})
            else:
                stats[p.name] = _run_in_process(jobs[p.name], table, scorer_factory)

    def run_gpu(p) -> None:
        stats[p.name] = _run_placement(p, jobs[p.name], progress_dir, p.gpu_memory_fraction(the_plan.gpus))

    side = threading.Thread(target=run_local, name="cpu-verifiers", daemon=True)
    if any(gpu_waves):
        side.start()
    else:
        run_local()
    for wave in gpu_waves:
        if sequential:
            for p in wave:
                run_gpu(p)
            continue
        threads = [threading.Thread(target=run_gpu, args=(p,), name=f"worker-{p.name}") for p in wave]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if side.ident is not None:
        side.join()


def _run_placement(placement, job: VerifierJob, progress_dir: Path, memory_fraction: float) -> dict[str, Any]:
    """A GPU placement: its worker sees only its GPUs; vLLM judges get TP and a memory share."""
    # Several GPUs: the scorer shards over exactly this worker's visible GPUs ("auto").
    job = replace(job, device="cuda" if placement.tp == 1 else "auto", tp=placement.tp)
    if job.kind == "judge":
        options = {"tensor_parallel_size": placement.tp, "gpu_memory_utilization": max(memory_fraction, 0.3)}
        job = replace(job, target={**(job.target or {}), "options": options}, tp=1)  # vLLM spawns its own TP ranks
    return _run_worker(job, progress_dir, env={"CUDA_VISIBLE_DEVICES": placement.cuda_visible_devices})


def _run_worker(job: VerifierJob, progress_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """One placement in its own process; its stdout's last JSON line is the worker's counts."""
    job_path = progress_dir / f"{job.name}.job.json"
    job_path.write_text(replace(job, progress=False).to_json())
    log_path = progress_dir / f"{job.name}.log"
    root = str(Path(__file__).resolve().parent.parent)
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with open(log_path, "w") as log:
        proc = subprocess.run(worker_command(job_path), stdout=subprocess.PIPE, stderr=log, text=True,
                              env=child_env, cwd=root)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = log_path.read_text()[-400:].strip().replace("\n", " | ")
        return {"worker_error": f"worker exited with code {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def _run_in_process(job: VerifierJob, table, scorer_factory) -> dict[str, Any]:
    from verifiers.workers import make_transform

    try:
        return run_job(job, table, transform=make_transform(job, scorer_factory=scorer_factory))
    except Exception as exc:  # noqa: BLE001 - one verifier's crash must not stop the others
        return {"worker_error": f"{type(exc).__name__}: {exc}"[:500]}


def summarize(output_path: str) -> str:
    """A few lines for the terminal: columns written, skipped verifiers, failures."""
    from toolkit.dataset_io import read_manifest

    m = read_manifest(output_path) or {}
    lines = [f"wrote {output_path}: {m.get('rows', '?')} rows"]
    if m.get("skipped_existing"):
        lines.append(f"  skipped (columns already present; --overwrite recomputes): "
                     f"{', '.join(m['skipped_existing'])}")
    for name, f in (m.get("failures") or {}).items():
        state = f"model failed: {f['model_error']}" if f.get("model_error") else (
            f"{f['failed_samples']} sample(s) with a null score or verdict" if f["failed_samples"] else "ok")
        lines.append(f"  {name}: {state}")
    if any(f.get("failed_samples") for f in (m.get("failures") or {}).values()):
        lines.append(f"  reasons are in the `{ERRORS_COLUMN}` column; rerunning the same command retries them "
                     "(an unparseable verdict at a fixed seed will come back the same)")
    return "\n".join(lines)


# ------------------------------------------------------------------ assembling
def _assemble(dataset, table, todo: list[Verifier], jobs: dict[str, VerifierJob], stats):
    """Journals -> columns (row order of ``table``) plus the merged ``verifier_errors`` column."""
    import pyarrow as pa

    from verifiers.transform import output_schema
    from verifiers.workers import read_state, table_hashes

    ids = table["id"].to_pylist()
    samples = table["samples"].to_pylist()
    sizes = [len(s or []) for s in samples]
    null_at = [{j for j, x in enumerate(s or []) if x is None} for s in samples]  # nothing to score there
    redone = {v.name for v in todo}
    errors = _kept_errors(dataset, redone)
    failures: dict[str, dict[str, Any]] = {}
    new_columns: dict[str, Any] = {}
    for v in todo:
        job = jobs[v.name]
        schema = output_schema(v.name, v.spec.family)
        state = read_state(job.journal, job.config_hash, table_hashes(table, job.max_samples))
        st = stats.get(v.name, {})
        model_error = st.get("model_error") or st.get("worker_error") or state.model_error
        values: dict[str, list] = {c: [] for c in v.columns}
        failed, missing, null_inputs = 0, 0, 0
        for i, (rid, n) in enumerate(zip(ids, sizes)):
            rec = state.done.get(rid) or state.retry.get(rid)
            if rec is None:
                missing += 1
                failed += n
                errors[i].append({"verifier": v.name, "sample": None,
                                  "error": model_error or "not scored: the run stopped before this row"})
                for c in values:
                    values[c].append([None] * n)
                continue
            for c in values:
                values[c].append(rec["cols"].get(c))
            for s, e in enumerate(rec.get("sample_errors") or []):
                if e:
                    failed += 1
                    null_inputs += s in null_at[i]
                    errors[i].append({"verifier": v.name, "sample": s, "error": e})
        for c, col in values.items():
            new_columns[c] = pa.array(col, schema.field(c).type)
        failures[v.name] = {"failed_samples": failed, "unscored_rows": missing,
                            "model_error": model_error if missing else None, "null_input_samples": null_inputs}
    new_columns[ERRORS_COLUMN] = pa.array(errors, ERRORS_TYPE())
    return _with_columns(dataset, new_columns), failures


def ERRORS_TYPE():  # noqa: N802 - a type constant, built lazily so pyarrow stays unimported
    import pyarrow as pa

    return pa.list_(pa.struct([("verifier", pa.string()), ("sample", pa.int64()), ("error", pa.string())]))


def _kept_errors(dataset, redone: set[str]) -> list[list[dict[str, Any]]]:
    """Earlier runs' error entries for verifiers not recomputed now."""
    if ERRORS_COLUMN not in dataset.column_names:
        return [[] for _ in range(len(dataset))]
    return [[e for e in (row or []) if e.get("verifier") not in redone] for row in dataset[ERRORS_COLUMN]]


def _with_columns(dataset, columns: dict[str, Any]):
    """``dataset`` with ``columns`` (pyarrow arrays) added or replaced, types kept exactly."""
    import datasets as hf
    import pyarrow as pa

    dataset = dataset.flatten_indices() if dataset._indices is not None else dataset
    table = dataset.data.table
    for name, array in columns.items():
        if name in table.column_names:
            table = table.drop([name])
        table = table.append_column(name, array)
    added = hf.Features.from_arrow_schema(pa.schema([(k, a.type) for k, a in columns.items()]))
    features = hf.Features({**{k: f for k, f in dataset.features.items() if k not in columns}, **added})
    table = table.replace_schema_metadata(None)
    return hf.Dataset(hf.table.InMemoryTable(table), info=hf.DatasetInfo(features=features))
