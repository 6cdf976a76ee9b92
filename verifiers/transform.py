"""Stage 3's batch transform: Arrow rows (id, instruction, samples) -> one verifier's columns.

One class per verifier kind family, same contract as every stage: ``__call__(table)`` takes a
``pyarrow.Table`` of rows and returns a table with a fixed schema (``id``, the verifier's
columns, ``sample_errors``, ``error``) and never raises for one bad row or sample. The local
runner (verifiers/runner.py) drives it chunk by chunk with a journal; a Ray runner can drive
the same class through ``map_batches`` (the model loads lazily on the first call, once per actor).

Failures are data: a sample that cannot be scored gets null values and a reason in
``sample_errors``; nothing is ever written as 0.0.
"""
from __future__ import annotations

import json
import statistics
from contextlib import ExitStack
from typing import Any, Callable, Sequence

PRM_FAMILIES = ("prm_step", "prm_implicit")
#: Prefix of a row ``error`` whose whole chunk failed (worth retrying on the next run).
CHUNK_FAILED = "chunk failed: "
JUDGE_FAMILIES = ("judge_local", "judge_api")


def column_kind(family: str) -> str:
    if family in PRM_FAMILIES:
        return "prm"
    if family in JUDGE_FAMILIES:
        return "judge"
    return "rm"


def output_columns(name: str, family: str) -> list[str]:
    """The dataset columns one verifier writes (Weaver's names: <name>_scores etc.)."""
    kind = column_kind(family)
    if kind == "prm":
        return [f"{name}_min_scores", f"{name}_max_scores", f"{name}_avg_scores", f"{name}_step_scores"]
    if kind == "judge":
        return [f"{name}_verdicts"]
    cols = [f"{name}_scores"]
    if family == "multi_aspect":
        cols.append(f"{name}_aspects")  # same names as VerifierSpec.output_columns()
    return cols


def output_schema(name: str, family: str):
    import pyarrow as pa

    scores = pa.list_(pa.float64())
    nested = pa.list_(pa.list_(pa.float64()))
    fields = [pa.field("id", pa.int64())]
    for col in output_columns(name, family):
        if col.endswith(("_step_scores", "_verdicts")):
            fields.append(pa.field(col, nested))
        elif col.endswith("_aspects"):
            fields.append(pa.field(col, pa.list_(pa.string())))  # one JSON object per sample
        else:
            fields.append(pa.field(col, scores))
    fields += [pa.field("sample_errors", pa.list_(pa.string())), pa.field("error", pa.string())]
    return pa.schema(fields)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


class _Transform:
    """Shared plumbing: flatten rows to (prompt, response) pairs, assemble the output table."""

    def __init__(self, name: str, family: str, max_samples: int | None = None):
        self.name = name
        self.family = family
        self.max_samples = max_samples
        self.schema = output_schema(name, family)

    def _pairs(self, rows: list[dict[str, Any]]):
        """[(row_index, sample_index, prompt, response)] of the samples to score."""
        pairs, skipped = [], {}
        for r, row in enumerate(rows):
            samples = row.get("samples") or []
            limit = len(samples) if self.max_samples is None else min(len(samples), self.max_samples)
            for s in range(limit):
                text = samples[s]
                if text is None:
                    skipped[(r, s)] = "sample text is null (generation failed)"
                elif row.get("instruction") is None:
                    skipped[(r, s)] = "instruction is null"
                else:
                    pairs.append((r, s, row["instruction"], text))
        return pairs, skipped

    def __call__(self, table) -> Any:
        import pyarrow as pa

        rows = table.select([c for c in ("id", "instruction", "samples") if c in table.column_names]).to_pylist()
        per_sample: dict[tuple[int, int], dict[str, Any]] = {}
        pairs, skipped = self._pairs(rows)
        row_error = None
        try:
            per_sample = self._score_pairs(rows, pairs)
        except Exception as exc:  # noqa: BLE001 - a whole-chunk failure is recorded, not raised
            row_error = CHUNK_FAILED + _error_text(exc)
        out = {f.name: [] for f in self.schema}
        for r, row in enumerate(rows):
            n = len(row.get("samples") or [])
            values = [per_sample.get((r, s)) for s in range(n)]
            errors = []
            for s in range(n):
                if (r, s) in skipped:
                    errors.append(skipped[(r, s)])
                elif self.max_samples is not None and s >= self.max_samples:
                    errors.append(None)  # not asked for (--max_samples): null without blame
                elif values[s] is None:
                    errors.append(row_error or "not scored")
                else:
                    errors.append(values[s].get("error"))
            out["id"].append(row["id"])
            for col, col_values in self._columns(values).items():
                out[col].append(col_values)
            out["sample_errors"].append(errors)
            failed = sum(e is not None for e in errors)
            out["error"].append(row_error or (f"{failed} of {n} samples failed" if failed else None))
        return pa.Table.from_pydict(out, schema=self.schema)

    def load(self) -> None:
        """Load the model / open the client now, so a load failure is told apart from bad rows."""

    def _score_pairs(self, rows, pairs) -> dict[tuple[int, int], dict[str, Any]]:
        raise NotImplementedError

    def _columns(self, values: list[dict[str, Any] | None]) -> dict[str, list]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class ScoreTransform(_Transform):
    """Reward models and PRMs through ``verifiers.scorers.load_scorer`` (loaded on first call)."""

    def __init__(self, spec: Any, device: str = "cpu", batch_size: int = 4, max_samples: int | None = None,
                 scorer_factory: Callable[..., Any] | None = None, name: str | None = None):
        super().__init__(name or spec.name, spec.family, max_samples)
        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self._factory = scorer_factory
        self._scorer = None

    @property
    def scorer(self):
        if self._scorer is None:
            if self._factory is None:
                from verifiers.scorers import load_scorer

                self._factory = load_scorer
            self._scorer = self._factory(self.spec, device=self.device, batch_size=self.batch_size)
        return self._scorer

    def load(self) -> None:
        scorer = self.scorer
        if hasattr(scorer, "load"):  # real scorers load weights lazily; load now to tell failures apart
            scorer.load()

    def _score_pairs(self, rows, pairs):
        scorer = self.scorer
        if self.family == "preference_gpm" or getattr(self.spec, "needs_group", False):
            return self._score_groups(scorer, pairs)
        results = self._score_isolating(scorer, [p[2] for p in pairs], [p[3] for p in pairs])
        return {(r, s): self._read(res) for (r, s, _, _), res in zip(pairs, results)}

    def _score_isolating(self, scorer, prompts: list[str], responses: list[str]) -> list[Any]:
        """Score a list; if the whole call fails, retry one by one so one bad sample stays alone."""
        if not prompts:
            return []
        try:
            results = list(scorer.score(prompts, responses))
            if len(results) != len(prompts):
                raise RuntimeError(f"scorer returned {len(results)} results for {len(prompts)} inputs")
            return results
        except Exception as exc:  # noqa: BLE001
            if len(prompts) == 1:
                return [{"error": _error_text(exc)}]
            return [self._score_isolating(scorer, [p], [r])[0] for p, r in zip(prompts, responses)]

    def _score_groups(self, scorer, pairs):
        """GPM compares the samples of one problem with each other, so it scores whole rows."""
        out = {}
        by_row: dict[int, list] = {}
        for pair in pairs:
            by_row.setdefault(pair[0], []).append(pair)
        for r, group in by_row.items():
            try:
                results = list(scorer.score_group(group[0][2], [g[3] for g in group]))
            except Exception as exc:  # noqa: BLE001
                results = [{"error": _error_text(exc)}] * len(group)
            for (_, s, _, _), res in zip(group, results):
                out[(r, s)] = self._read(res)
        return out

    def _read(self, result: Any) -> dict[str, Any]:
        if isinstance(result, dict):
            return result
        return {"score": getattr(result, "score", None), "step_scores": getattr(result, "step_scores", None),
                "aspects": getattr(result, "aspects", None), "error": getattr(result, "error", None)}

    def _columns(self, values):
        n = self.name
        if column_kind(self.family) == "prm":
            steps = [_finite_list(v.get("step_scores")) if v and not v.get("error") else None for v in values]
            return {f"{n}_min_scores": [min(s) if s else None for s in steps],
                    f"{n}_max_scores": [max(s) if s else None for s in steps],
                    f"{n}_avg_scores": [statistics.fmean(s) if s else None for s in steps],
                    f"{n}_step_scores": steps}
        cols = {f"{n}_scores": [_finite(v.get("score")) if v and not v.get("error") else None for v in values]}
        if self.family == "multi_aspect":
            cols[f"{n}_aspects"] = [json.dumps(v["aspects"], sort_keys=True)
                                          if v and v.get("aspects") and not v.get("error") else None
                                          for v in values]
        return cols

    def close(self) -> None:
        scorer, self._scorer = self._scorer, None
        if scorer is not None and hasattr(scorer, "close"):
            scorer.close()


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _finite_list(xs: Sequence[Any] | None) -> list[float] | None:
    if xs is None:
        return None
    values = [_finite(x) for x in xs]
    return None if any(v is None for v in values) else values


class JudgeTransform(_Transform):
    """An LM judge; the client opens on the first call (embedded server, API, vLLM, endpoint)."""

    def __init__(self, name: str, target: dict[str, Any], settings: Any = None, max_samples: int | None = None,
                 judge: Any = None, concurrency: int | None = None, log_dir: str | None = None):
        super().__init__(name, "judge_api", max_samples)
        self.target = target
        self.log_dir = log_dir  # where an embedded llama.cpp server logs (the run's progress folder)
        self.settings = settings
        self.concurrency = concurrency
        self._judge = judge
        self._stack: ExitStack | None = None

    @property
    def judge(self):
        if self._judge is None:
            from generation.client import open_client
            from verifiers.judges import LMJudge

            self._stack = ExitStack()
            client = self._stack.enter_context(open_client(
                self.target["model"], provider=self.target.get("provider"),
                base_url=self.target.get("base_url"), concurrency=self.concurrency, log_dir=self.log_dir,
                **(self.target.get("options") or {})))
            self._judge = LMJudge(client, self.settings)
        return self._judge

    def load(self) -> None:
        _ = self.judge

    def _score_pairs(self, rows, pairs):
        results = self.judge.judge([p[2] for p in pairs], [p[3] for p in pairs])
        return {(r, s): {"verdicts": res.verdicts, "error": res.error}
                for (r, s, _, _), res in zip(pairs, results)}

    def _columns(self, values):
        # A sample keeps its readable verdicts even when another of its V verdicts failed.
        return {f"{self.name}_verdicts": [v.get("verdicts") if v else None for v in values]}

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
        self._judge = None
