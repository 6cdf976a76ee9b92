"""``wt.load(source) -> Run`` and the four stages as methods that each return a NEW Run.

Every method calls the function its stage's CLI calls after parsing flags:

- ``generate`` -> ``generation.generate.generate_samples(GenerationConfig)``
- ``grade``    -> ``generation.evaluation.evaluate(EvaluationConfig)``
- ``score``    -> ``verifiers.runner.run_scoring(ScoringConfig)``
- ``select``   -> ``selection.pipeline.run_selection(load_config(name, overrides), dataset)``

Stages 1-3 read and write paths. A Run hands a stage the file or folder its dataset already lives
in when there is one (the file it was loaded from, the folder an earlier stage wrote), otherwise
it writes the dataset into a temporary folder first. The stage's output goes into a temporary
folder owned by the new Run (removed when that Run and its ``dataset`` are garbage collected, or
on ``close()``); the new Run's dataset is loaded back from it. ``save(path)`` keeps a copy.

Nothing heavy is imported until a function needs it.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping

from toolkit.errors import InputError

_LOAD_OPTIONS = ("subjects", "question_column", "answer_column", "split")
_SPLITS = ("data", "test", "train")


class _Borrowed:
    """What a pickled or copied ``_Workdir`` becomes: the path, without the ownership."""

    def __init__(self, path: str):
        self.path = Path(path)


class _Workdir:
    """A temporary folder, removed when nothing refers to it any more (or on ``close()``)."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="weaver_toolkit-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    def __reduce__(self):  # a copy (pickle for ds.map(num_proc=...), deepcopy) does not own the folder
        return _Borrowed, (str(self.path),)


def _is_dataset(obj: Any) -> bool:
    hf = sys.modules.get("datasets")  # a caller holding a Dataset has imported datasets already
    return hf is not None and isinstance(obj, hf.Dataset)


def _is_dataset_dict(obj: Any) -> bool:
    hf = sys.modules.get("datasets")
    return hf is not None and isinstance(obj, hf.DatasetDict)


def _head(dataset, max_rows: int | None):
    if max_rows is None or max_rows >= len(dataset):
        return dataset
    return dataset.select(range(max_rows))


def _check_max_rows(max_rows: Any) -> None:
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise InputError(f"load(): max_rows must be a positive integer or None, got {max_rows!r}")


class Run:
    """A dataset at one point of the pipeline. Stage methods return new Runs; this one is not changed.

    ``dataset``: the Hugging Face Dataset. ``results``: the selection results dict (after
    ``select``). ``report``: the stage's report (``GenerationReport`` with ``failures`` and
    ``usage``, ``EvaluationReport`` with ``counts``), or None. ``stages``: the stages run through
    this API so far. ``manifest``: the last stage's ``toolkit_manifest.json``, when there is one.
    """

    def __init__(self, dataset, *, path: str | None = None, source: Mapping[str, Any] | None = None,
                 task: str | None = None, stages: tuple[str, ...] = (), workdir: _Workdir | None = None,
                 results: dict[str, Any] | None = None, report: Any = None):
        self._dataset = dataset
        self._path = path  # a file/folder that loads as exactly `dataset`, or None
        self._source = dict(source) if source else None  # what stage 1 reads, when not the dataset itself
        self._task = task  # the benchmark name, when known (stage 2's default --dataset_type)
        self._stages = tuple(stages)
        self._workdir = workdir
        self._results = results
        self._report = report
        if workdir is not None:
            try:  # `run.dataset` alone keeps the files it is memory-mapped from
                dataset._weaver_toolkit_workdir = workdir
            except AttributeError:
                pass

    # -- views -------------------------------------------------------------------------------
    @property
    def dataset(self):
        self._check_open()
        return self._dataset

    @property
    def results(self) -> dict[str, Any] | None:
        return self._results

    @property
    def report(self) -> Any:
        return self._report

    @property
    def stages(self) -> tuple[str, ...]:
        return self._stages

    @property
    def manifest(self) -> dict[str, Any] | None:
        if self._path is None or not Path(self._path).is_dir():
            return None
        from toolkit.dataset_io import read_manifest

        return read_manifest(self._path)

    def __len__(self) -> int:
        return len(self._dataset)

    def __repr__(self) -> str:
        if self.closed:
            return f"Run(closed, stages={self._stages})"
        return f"Run(rows={len(self._dataset)}, columns={self._dataset.column_names}, stages={self._stages})"

    # -- lifetime ----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._workdir is not None and not self._workdir.alive

    def close(self) -> None:
        """Remove this Run's temporary folder now (its dataset's files go with it)."""
        if self._workdir is not None:
            self._workdir.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise InputError("this Run was closed: its temporary files are gone (save() a Run to keep it)")

    # -- plumbing ----------------------------------------------------------------------------
    def _stage_input(self, workdir: _Workdir) -> str:
        """A path that loads as this Run's dataset: where it already lives, or a copy in ``workdir``."""
        self._check_open()
        if self._path is not None and Path(self._path).exists():
            return self._path
        path = workdir.path / "input.hf"
        self._dataset.save_to_disk(str(path))
        return str(path)

    def _child(self, stage: str, workdir: _Workdir, output: Path, **extra: Any) -> "Run":
        from toolkit.dataset_io import load_dataset_from_path

        shutil.rmtree(workdir.path / "input.hf", ignore_errors=True)  # the stage is done with it
        dataset = load_dataset_from_path(str(output))
        return Run(dataset, path=str(output), task=self._task, stages=self._stages + (stage,), workdir=workdir,
                   **extra)

    def _in_new_workdir(self, body):
        workdir = _Workdir()
        try:
            return body(workdir)
        except BaseException:
            workdir.close()  # a failed stage leaves nothing behind
            raise

    # -- stage 1 -----------------------------------------------------------------------------
    def generate(self, **options: Any) -> "Run":
        """Stage 1: sample ``k`` responses per problem. Options are ``GenerationConfig`` fields
        (``model`` (default ``smollm2``, the embedded model), ``k`` / ``samples_per_instruction``,
        ``max_rows``, ``temperature``, ``max_new_tokens``, ``provider``, ``base_url``, ...)."""
        from generation.config import GenerationConfig
        from generation.generate import generate_samples
        from weaver_toolkit._options import build_config

        def body(workdir: _Workdir) -> Run:
            source = dict(self._source or {})
            dataset = source.pop("dataset", None) or self._stage_input(workdir)
            loaded_rows = source.pop("max_rows", None)
            output = workdir.path / "generated.hf"
            config = build_config(
                GenerationConfig, "generate()", {**source, **options},
                managed={"dataset": "the Run's dataset is the input", "output_path": "use run.save(path)",
                         "dry_run": "a dry run makes no dataset; use generate_reasoning_samples.py --dry_run"},
                fixed={"dataset": dataset, "output_path": str(output)}, aliases={"k": "samples_per_instruction"})
            if loaded_rows is not None:  # load(..., max_rows=N) and generate(max_rows=M): the first min(N, M)
                rows = loaded_rows if config.max_rows is None else min(config.max_rows, loaded_rows)
                config = dataclasses.replace(config, max_rows=rows)
            report = generate_samples(config)
            child = self._child("generate", workdir, Path(report.output_path), report=report)
            report.dataset = child._dataset
            return child

        return self._in_new_workdir(body)

    # -- stage 2 -----------------------------------------------------------------------------
    def grade(self, **options: Any) -> "Run":
        """Stage 2: extract and grade every sample (needs ``samples`` and ``answer`` columns).
        Options are ``EvaluationConfig`` fields (``dataset_type`` (default: the benchmark the Run
        was loaded from, else ``math``), ``no_llm``, ``extractor_model``, ``base_url``,
        ``max_samples``, ``parallel``, ``timeout``, ``float_rounding``, ...)."""
        from generation.evaluation import EvaluationConfig, evaluate
        from weaver_toolkit._options import build_config

        options = dict(options)
        if options.get("dataset_type") is None:
            options["dataset_type"] = self._default_dataset_type()

        def body(workdir: _Workdir) -> Run:
            output = workdir.path / "graded.hf"
            config = build_config(
                EvaluationConfig, "grade()", options,
                managed={"input_path": "the Run's dataset is the input", "output_path": "use run.save(path)"},
                fixed={"input_path": self._stage_input(workdir), "output_path": str(output)})
            report = evaluate(config)
            child = self._child("grade", workdir, Path(report.output_path), report=report)
            report.dataset = child._dataset
            return child

        return self._in_new_workdir(body)

    def _default_dataset_type(self) -> str:
        if self._task:
            return self._task
        columns = self._dataset.column_names
        choice = next((c for c in ("options", "choices") if c in columns), None)
        if choice:
            raise InputError(f"grade(): this dataset has an `{choice}` column (multiple choice): pass "
                             "dataset_type='gpqa', 'gpqa_diamond', 'mmlu' or 'mmlu_pro'")
        return "math"

    # -- stage 3 -----------------------------------------------------------------------------
    def score(self, reward_models: Any = (), lm_judges: Any = (), **options: Any) -> "Run":
        """Stage 3: add reward-model, PRM and LM-judge scores. ``reward_models`` / ``lm_judges``
        are lists of names (VERIFIERS.md), local folders or hub ids; options are ``ScoringConfig``
        fields (``batch_size``, ``verdicts_per_sample``, ``judge_base_url``, ``max_samples``, ...).
        ``scorer_factory`` may also be a callable (in-process scoring only)."""
        from verifiers.runner import run_scoring
        from verifiers.scoring_config import ScoringConfig
        from weaver_toolkit._options import build_config

        options = dict(options, reward_models=reward_models or "", lm_judges=lm_judges or "")
        factory = options.get("scorer_factory")
        if callable(factory):
            options.pop("scorer_factory")
        else:
            factory = None

        def body(workdir: _Workdir) -> Run:
            output = workdir.path / "scored.hf"
            config = build_config(
                ScoringConfig, "score()", options,
                managed={"dataset_path": "the Run's dataset is the input", "output_path": "use run.save(path)",
                         "plan": "use unified_RMs_and_LM_Judges.py --plan",
                         "plan_json": "use unified_RMs_and_LM_Judges.py --plan_json"},
                fixed={"dataset_path": self._stage_input(workdir), "output_path": str(output)},
                joinable=("reward_models", "lm_judges"))
            run_scoring(config, scorer_factory=factory)
            return self._child("score", workdir, output)

        return self._in_new_workdir(body)

    # -- stage 4 -----------------------------------------------------------------------------
    def select(self, config: str = "weak_supervision", **overrides: Any) -> "Run":
        """Stage 4: pick one answer per problem. ``config`` is a name in configs/selection (or a
        .yaml path); overrides are its keys: dotted (``**{"data_cfg.train_split": 1.0}``), with
        ``__`` for the dots (``data_cfg__train_split=1.0``) or by their last part when that is
        unique (``train_split=1.0``). The new Run's dataset has ``weaver_scores`` (and
        ``weaver_split``); ``results`` is the results dict (also in results.json when you pass
        ``output_dir``)."""
        from weaver_toolkit._options import selection_overrides, yaml_flow

        if not isinstance(config, (str, os.PathLike)):
            raise InputError(f"select(): config must be a config name or a .yaml path, got {config!r}")
        strings, keys = selection_overrides("select()", overrides)
        managed = {"data_cfg.dataset_path": "the Run's dataset is the input",
                   "data_cfg.save_weaver_scores": "the new Run always carries weaver_scores",
                   "data_cfg.weaver_scores_path": "use run.save(path)"}
        for key in keys & set(managed):
            raise InputError(f"select(): option {key!r} is set by the Run ({managed[key]})")

        def body(workdir: _Workdir) -> Run:
            from selection.config import load_config
            from selection.pipeline import run_selection

            self._check_open()
            output = workdir.path / "weaver_scores.hf"
            fixed = ["data_cfg.save_weaver_scores=true", f"data_cfg.weaver_scores_path={yaml_flow(str(output))}"]
            if self._path is not None and Path(self._path).exists():
                fixed.append(f"data_cfg.dataset_path={yaml_flow(self._path)}")  # recorded, and the manifest's history
            if "output_dir" not in keys:
                fixed.append(f"output_dir={yaml_flow(str(workdir.path / 'selection'))}")
                if "plot" not in keys:
                    fixed.append("plot=false")  # no one would see plots in a temporary folder
            cfg = load_config(os.fspath(config), strings + fixed)
            results = run_selection(cfg, dataset=self._dataset)
            return self._child("select", workdir, Path(results.get("weaver_scores_path") or output),
                               results=results)

        return self._in_new_workdir(body)

    # -- saving ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the dataset to ``path`` (a save_to_disk folder) atomically, with its manifest.

        The manifest says what this Run is (source, stages, selection results) and keeps the
        stages' own manifests under ``history``. Returns the folder.
        """
        from toolkit.dataset_io import build_manifest, save_dataset_atomic

        self._check_open()
        out = Path(path).expanduser()
        if out.is_file():
            raise InputError(f"save(): {path} is a file; save writes a save_to_disk folder")
        for kept in (self._path, (self._source or {}).get("dataset")):
            if kept and Path(kept).exists() and Path(kept).resolve() == out.resolve():
                raise InputError(f"save(): {path} is this Run's input: inputs are never overwritten in place")
        input_path = self._path if self._path is not None and Path(self._path).is_dir() else None
        source = dict(self._source) if self._source else ({"dataset": self._path} if self._path else None)
        extra: dict[str, Any] = {"rows": len(self._dataset), "columns": self._dataset.column_names}
        if self._results is not None:
            extra["selection_results"] = self._results
        manifest = build_manifest("python_api", {"source": source, "task": self._task, "stages": list(self._stages)},
                                  **extra)
        return save_dataset_atomic(self._dataset, out, manifest, input_path=input_path)


def load(source: Any, max_rows: int | None = None, **options: Any) -> Run:
    """A Run over ``source``: a benchmark name stage 1 knows (``math``, ``gpqa``, ``gpqa_diamond``,
    ``mmlu``, ``mmlu_pro``), a ``.jsonl`` / ``.json`` / ``.parquet`` file, a ``save_to_disk`` folder,
    a hub id (``org/name``), a Hugging Face ``Dataset`` (or ``DatasetDict``), or a list of row dicts.

    ``max_rows`` keeps the first N rows. Options: ``subjects`` (benchmarks only, as stage 1's
    ``--subjects``), ``question_column`` / ``answer_column`` (custom datasets, used by
    ``generate``), ``split`` (a ``DatasetDict`` or folder with several splits).
    """
    _check_max_rows(max_rows)
    for name in options:
        if name not in _LOAD_OPTIONS:
            from weaver_toolkit._options import unknown_option

            raise unknown_option("load()", name, ("max_rows",) + _LOAD_OPTIONS)
    split = options.get("split")
    subjects = options.get("subjects")
    if isinstance(subjects, (list, tuple)):
        subjects = ",".join(subjects)
    columns = {k: options[k] for k in ("question_column", "answer_column") if options.get(k) is not None}

    if isinstance(source, Run):
        if options:
            raise InputError("load(): a Run takes only max_rows")
        return source if max_rows is None else Run(_head(source.dataset, max_rows), task=source._task,
                                                   stages=source.stages, results=source.results)
    if _is_dataset_dict(source):
        name = split or next((s for s in _SPLITS if s in source), next(iter(source)))
        if name not in source:
            raise InputError(f"load(): the DatasetDict has no split {name!r}; it has {', '.join(source)}")
        source = source[name]
    elif isinstance(source, list):
        if not source or not all(isinstance(r, dict) for r in source):
            raise InputError("load(): a list source must be a non-empty list of row dicts")
        import datasets as hf

        try:
            source = hf.Dataset.from_list(source)
        except Exception as exc:  # noqa: BLE001 - mixed types in a column: one line that says so
            text = " ".join(str(exc).split())[:300]
            raise InputError(f"load(): these rows do not form a dataset (each column needs one type): "
                             f"{type(exc).__name__}: {text}") from None
    if _is_dataset(source):
        if subjects:
            raise InputError("load(): subjects applies to the named benchmarks (mmlu, mmlu_pro, math) only")
        if len(source) == 0:
            raise InputError("load(): the dataset has no rows")
        return Run(_head(source, max_rows), source={"dataset": None, **columns} if columns else None)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"load(): cannot load a {type(source).__name__}; pass a benchmark name, a path, "
                         "a hub id or a datasets.Dataset")
    return _load_named(os.fspath(source), max_rows, split, subjects, columns)


def _load_named(source: str, max_rows: int | None, split: str | None, subjects: str | None,
                columns: dict[str, str]) -> Run:
    from generation.benchmarks import BENCHMARKS
    from toolkit.dataset_io import load_dataset_from_path

    path = Path(source).expanduser()
    if not path.exists() and source in BENCHMARKS:
        if split:
            raise InputError(f"load(): split does not apply to the benchmark {source!r}")
        import datasets as hf

        from generation.config import GenerationConfig
        from generation.generate import load_rows

        name = BENCHMARKS.get(source).name
        config = GenerationConfig(dataset=name, output_path="unused.hf", max_rows=max_rows, subjects=subjects,
                                  **columns)
        rows, _ = load_rows(config)  # exactly the problems stage 1 samples for
        return Run(hf.Dataset.from_list(rows), task=name,
                   source={"dataset": name, "max_rows": max_rows, "subjects": subjects, **columns})
    if subjects:
        raise InputError("load(): subjects applies to the named benchmarks (mmlu, mmlu_pro, math) only")
    looks_local = path.exists() or source.endswith((".jsonl", ".json", ".parquet", ".hf")) \
        or source.startswith((".", "/", "~"))
    if not looks_local and "/" not in source:
        BENCHMARKS.get(source)  # raises "unknown dataset ... Did you mean ...?", as stage 1 does
    dataset = load_dataset_from_path(str(path) if looks_local else source, split)
    shown = str(path) if looks_local else source
    exact = looks_local and split is None and (max_rows is None or max_rows >= len(dataset))
    return Run(_head(dataset, max_rows), path=str(path) if exact else None,
               source={"dataset": shown, "max_rows": max_rows, **columns})
