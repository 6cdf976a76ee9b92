"""Stage 2's per-row work as an Arrow batch transform: samples in, graded lists out.

``GradeTransform(kind)(table)`` takes rows with ``id``, ``samples`` and the gold columns
(``answer``; MATH ``solution``; multiple choice ``options``/``choices``, ``answer_index``,
``correct_answer``) and returns a table with the fixed schema ``OUTPUT_SCHEMA``. It never
raises for one bad row: the row gets nulls and an ``error``.

The work runs in three phases so a local runner can put the CPU-bound rule pass in worker
processes and keep the LLM client in the main process:
``rule_pass(table) -> states`` (picklable), ``fill_with_llm(states, extractor)``, ``finish(states)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from .labels import SOURCE_DATASET, majority_vote

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
OPTION_COLUMNS = ("options", "choices")
#: Default option counts when a multiple-choice row lists no options.
DEFAULT_OPTION_COUNT = {"mmlu_pro": 10}
LLM_STATUSES = ("no_answer", "parse_error")  # sent to the LLM extractor; "undecided" goes to its equivalence check
_OPTION_LINE_RE = re.compile(r"^\s*\(?([A-Z])[.)]\s+(.+?)\s*$", re.M)


def output_schema():
    import pyarrow as pa

    return pa.schema([
        ("id", pa.int64()),
        ("extracted_answers", pa.list_(pa.string())),
        ("answer_correct", pa.list_(pa.bool_())),
        ("grade_status", pa.list_(pa.string())),
        ("extracted_by", pa.list_(pa.string())),
        ("label_source", pa.string()),
        ("pseudo_label", pa.string()),
        ("error", pa.string()),
    ])


@dataclass
class SampleGrade:
    extracted: str | None
    correct: bool | None
    status: str  # ok / no_answer / undecided / llm_decided / parse_error / timeout / missing_sample / no_label
    by: str | None = "rules"  # rules / llm / None (nothing extracted)


@dataclass
class RowState:
    id: int
    kind: str
    question: str
    samples: list[str | None]
    gold: str | None
    options: list[str] | None
    n_options: int
    grades: list[SampleGrade] = field(default_factory=list)
    error: str | None = None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def row_options(row: dict[str, Any]) -> list[str] | None:
    for name in OPTION_COLUMNS:
        value = row.get(name)
        if isinstance(value, (list, tuple)) and value:
            return [str(v) for v in value if v is not None and str(v) != "N/A"]
    return None


def options_from_prompt(text: str | None) -> list[str] | None:
    """'A. Paris\\nB. London...' lines of a prompt, when a dataset has no options column."""
    if not text:
        return None
    found = _OPTION_LINE_RE.findall(text)
    letters = [f[0] for f in found]
    start = next((i for i, letter in enumerate(letters) if letter == "A"), None)
    if start is None:
        return None
    out = []
    for letter, body in found[start:]:
        if letter != LETTERS[len(out)]:
            break
        out.append(body)
    return out if len(out) >= 2 else None


def choice_gold(row: dict[str, Any], options: Sequence[str] | None, n_options: int) -> str | None:
    """The gold letter from ``answer`` (letter, index or option text), ``answer_index`` or ``correct_answer``.

    Raises ValueError when a gold value is present but names no option.
    """
    for name in ("answer", "answer_index", "correct_answer"):
        value = row.get(name)
        if not _present(value):
            continue
        if isinstance(value, bool):
            raise ValueError(f"gold {name}={value!r} is not an option")
        if isinstance(value, int):
            if 0 <= value < n_options:
                return LETTERS[value]
            raise ValueError(f"gold {name}={value} is outside the {n_options} options")
        text = str(value).strip().strip("().*: ").strip()
        if len(text) == 1 and text.upper() in LETTERS[:n_options]:
            return text.upper()
        if text.isdigit() and name == "answer_index" and int(text) < n_options:
            return LETTERS[int(text)]
        if options:
            norm = [re.sub(r"\s+", " ", o).strip().lower() for o in options]
            target = re.sub(r"\s+", " ", str(value)).strip().lower()
            if target in norm:
                return LETTERS[norm.index(target)]
        raise ValueError(f"gold {name}={str(value)[:60]!r} is neither a letter in A-{LETTERS[n_options - 1]} "
                         "nor one of the options")
    return None


def math_gold(row: dict[str, Any]) -> str | None:
    """The final answer, or the whole solution (``grade`` takes its last box) when only that exists."""
    for name in ("answer", "final_answer", "solution"):
        if _present(row.get(name)):
            return str(row[name])
    return None


class GradeTransform:
    """Grade every sample of every row; see the module docstring for the phases."""

    def __init__(self, kind: str = "math", dataset_type: str | None = None, max_samples: int | None = None,
                 timeout: float = 5.0, extractor: Any = None, float_rounding: int = 6):
        if kind not in ("math", "choice"):
            raise ValueError(f"kind must be 'math' or 'choice', got {kind!r}")
        self.kind = kind
        self.dataset_type = dataset_type
        self.max_samples = max_samples
        self.timeout = timeout
        self.float_rounding = float_rounding
        self.extractor = extractor

    def __call__(self, table) -> Any:
        states = self.rule_pass(table)
        if self.extractor is not None:
            fill_with_llm(states, self.extractor, self.timeout)
        return self.finish(states)

    # -- phase 1: rules ---------------------------------------------------------------
    def rule_pass(self, table) -> list[RowState]:
        rows = table.to_pylist() if hasattr(table, "to_pylist") else list(table)
        return [self._rule_row(row) for row in rows]

    def _rule_row(self, row: dict[str, Any]) -> RowState:
        raw = row.get("samples")
        if raw is not None and (not isinstance(raw, (list, tuple)) or any(
                s is not None and not isinstance(s, str) for s in raw)):
            what = type(raw).__name__ if not isinstance(raw, (list, tuple)) else "a list with non-string items"
            state = RowState(int(row["id"]), self.kind, "", [], None, None, 0)
            state.error = f"column `samples` must hold a list of strings or nulls; row id {row['id']} holds {what}"
            return state
        samples = list(raw or [])
        if self.max_samples is not None:
            samples = samples[: self.max_samples]
        question = str(row.get("question") or row.get("problem") or row.get("instruction") or "")
        state = RowState(int(row["id"]), self.kind, question, samples, None, None, 0)
        try:
            self._resolve_gold(state, row)
            state.grades = [self._grade_one(state, s) for s in samples]
        except Exception as exc:  # noqa: BLE001 - one bad row is data, never the end of the run
            state.error = f"{type(exc).__name__}: {exc}"[:300]
            state.grades = [SampleGrade(None, None, "parse_error", None) for _ in samples]
        return state

    def _resolve_gold(self, state: RowState, row: dict[str, Any]) -> None:
        if self.kind == "math":
            state.gold = math_gold(row)
            return
        options = row_options(row) or options_from_prompt(row.get("instruction") or row.get("problem"))
        state.options = options
        state.n_options = len(options) if options else DEFAULT_OPTION_COUNT.get(self.dataset_type or "", 4)
        state.gold = choice_gold(row, options, state.n_options)

    def _grade_one(self, state: RowState, sample: str | None) -> SampleGrade:
        if sample is None:
            return SampleGrade(None, None, "missing_sample", None)
        if state.gold is None:  # labelled later by vote: extraction only
            extracted = extract_answer(sample, state.kind, state.n_options, state.options)
            return SampleGrade(extracted, None, "ok" if extracted else "no_answer", "rules" if extracted else None)
        if state.kind == "choice" and state.options is None:
            result = _grade_choice_without_options(sample, state.gold, state.n_options)
        else:
            from verifiers.grading import grade

            result = grade(sample, state.gold, state.kind, options=state.options, timeout=self.timeout,
                           float_rounding=self.float_rounding)
        return SampleGrade(result.extracted, result.correct, result.status,
                           "rules" if result.extracted is not None else None)

    # -- phase 3: labels and the output table -------------------------------------------
    def finish(self, states: list[RowState]):
        import pyarrow as pa

        columns: dict[str, list] = {name: [] for name in output_schema().names}
        for state in states:
            label_source, pseudo = self._label(state)
            columns["id"].append(state.id)
            columns["extracted_answers"].append([g.extracted for g in state.grades])
            columns["answer_correct"].append([g.correct for g in state.grades])
            columns["grade_status"].append([g.status for g in state.grades])
            columns["extracted_by"].append([g.by for g in state.grades])
            columns["label_source"].append(label_source)
            columns["pseudo_label"].append(pseudo)
            columns["error"].append(state.error)
        return pa.table(columns, schema=output_schema())

    def _label(self, state: RowState) -> tuple[str | None, str | None]:
        if state.error is not None:
            return None, None
        if state.gold is not None:
            return SOURCE_DATASET, None
        answers = [g.extracted for g in state.grades]
        vote = majority_vote(answers, self._equivalent)
        for grade_, agrees in zip(state.grades, vote.agrees):
            if grade_.status == "missing_sample":
                continue
            if vote.label is None:
                grade_.correct, grade_.status = None, "no_label"
            elif agrees is None:
                grade_.correct = False  # no answer, judged against a label: not correct
            else:
                grade_.correct = agrees
        return vote.source, vote.label

    def _equivalent(self, a: str, b: str) -> bool | None:
        if self.kind == "choice":
            return a.strip().upper() == b.strip().upper()
        from verifiers.grading import answers_equivalent

        return answers_equivalent(a, b, timeout=self.timeout, float_rounding=self.float_rounding)


def extract_answer(text: str, kind: str, n_options: int = 4, options: Sequence[str] | None = None) -> str | None:
    """Rule extraction alone (no gold): a letter for multiple choice, an answer string for math."""
    if kind == "choice":
        from .extract_choice import extract_choice

        return extract_choice(text, n_options, options)
    from verifiers.grading import extract_math_answer
    from verifiers.grading.extract_math import looks_like_bare_answer

    found = extract_math_answer(text)
    if found is None and looks_like_bare_answer(text):
        found = text.strip()
    return found


def _grade_choice_without_options(sample: str, gold: str, n_options: int):
    from .extract_choice import extract_choice
    from .result import GradeResult

    letter = extract_choice(sample, n_options)
    if letter is None:
        return GradeResult(False, None, "no_answer", gold, "no option letter found")
    return GradeResult(letter == gold, letter, "ok", gold, "")


# -- phase 2: the LLM extractor, for samples the rules could not read ----------------------
def fill_with_llm(states: list[RowState], extractor: Any, timeout: float = 5.0) -> int:
    """Ask ``extractor`` for the answer of every no_answer/parse_error sample, then re-grade its
    reply with the rules. Returns how many samples were sent."""
    todo = [(state, j) for state in states if state.error is None
            for j, g in enumerate(state.grades) if g.status in LLM_STATUSES and state.samples[j] is not None]
    if todo:
        replies = extractor.extract([(s.kind, s.question, s.samples[j], s.options) for s, j in todo])
        for (state, j), reply in zip(todo, replies):
            if reply is None:
                continue  # the extractor failed or said NONE: the rule verdict stands
            regraded = _regrade_reply(state, reply, timeout)
            if regraded is not None and regraded.extracted is not None:
                regraded.by = "llm"
                state.grades[j] = regraded
    return len(todo) + settle_undecided(states, extractor)


def settle_undecided(states: list[RowState], extractor: Any) -> int:
    """Ask the LLM equivalence check about every pair the rules left undecided (an answer was
    found, but equality with the gold could not be proven or refuted). Returns how many were asked."""
    if not hasattr(extractor, "equivalent"):
        return 0
    todo = [(state, j) for state in states if state.error is None and state.kind == "math" and state.gold
            for j, g in enumerate(state.grades) if g.status == "undecided" and g.extracted]
    if not todo:
        return 0
    from verifiers.grading import gold_answer

    verdicts = extractor.equivalent([(s.question, gold_answer(s.gold), s.grades[j].extracted) for s, j in todo])
    for (state, j), verdict in zip(todo, verdicts):
        if verdict is not None:
            old = state.grades[j]
            state.grades[j] = SampleGrade(old.extracted, verdict, "llm_decided", old.by)
    return len(todo)


def _regrade_reply(state: RowState, reply: str, timeout: float) -> SampleGrade | None:
    if state.gold is None:
        extracted = extract_answer(reply, state.kind, state.n_options, state.options)
        return SampleGrade(extracted, None, "ok", "llm") if extracted else None
    from verifiers.grading import grade

    if state.kind == "choice" and state.options is None:
        result = _grade_choice_without_options(reply, state.gold, state.n_options)
    else:
        result = grade(reply, state.gold, state.kind, options=state.options, timeout=timeout)
    if result.extracted is None:
        return None
    return SampleGrade(result.extracted, result.correct, result.status, "llm")
