"""``wt.grade(response, gold)``: stage 2's grader for one response, e.g. inside RL reward code.

It is ``verifiers.grading.grade`` (what stage 2 runs for every sample), with the task named the
way stage 2 names it (``--dataset_type``) and options checked. Thread-safe: the grader's caches
are locked and its symbolic checks run in a shared pool of bounded worker processes.
"""
from __future__ import annotations

from typing import Any, Sequence

from toolkit.errors import InputError

#: Tasks and how the grader reads them: stage 2's --dataset_type names plus the grader's own kinds.
TASKS = {"math": "math", "choice": "choice", "gpqa": "choice", "gpqa_diamond": "choice", "mmlu": "choice",
         "mmlu_pro": "choice"}
OPTIONS = ("options", "timeout", "float_rounding")


def grade(response: str | None, gold: str, task: str = "math", **options: Any):
    """Grade one response against a gold answer; returns a frozen ``GradeResult``.

    ``correct`` is True only when the committed answer is proven equal to the gold, False when it
    is proven different or nothing is committed (status ``no_answer``), None when the rules cannot
    decide (status ``undecided``, ``timeout`` or ``parse_error``); ``extracted`` is the answer read
    from the response, ``gold`` the gold answer as compared, ``detail`` why.

    task: ``math`` (free-form answers) or a multiple-choice task (``choice``, ``gpqa``,
    ``gpqa_diamond``, ``mmlu``, ``mmlu_pro``: option letters).
    options: ``options`` (the option texts, for multiple choice), ``timeout`` (seconds per
    symbolic comparison, default 5), ``float_rounding`` (decimal places at which a written decimal
    may meet an exact value, default 6).
    """
    kind = TASKS.get(task) if isinstance(task, str) else None
    if kind is None:
        from weaver_toolkit._options import closest

        close = closest(str(task), TASKS)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"grade(): unknown task {task!r}.{hint} Known: {', '.join(TASKS)}")
    for name in options:
        if name not in OPTIONS:
            from weaver_toolkit._options import unknown_option

            raise unknown_option("grade()", name, OPTIONS)
    choices: Sequence[str] | None = options.get("options")
    if choices is not None and (isinstance(choices, str) or not all(isinstance(c, str) for c in choices)):
        raise InputError(f"grade(): options must be a list of option texts, got {choices!r}")
    timeout = options.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InputError(f"grade(): timeout must be a positive number of seconds, got {timeout!r}")
    places = options.get("float_rounding", 6)
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 15:
        raise InputError(f"grade(): float_rounding must be an integer from 0 to 15, got {places!r}")
    if response is not None and not isinstance(response, str):
        raise InputError(f"grade(): response must be a string or None, got {type(response).__name__}")
    if gold is not None and not isinstance(gold, str):
        gold = str(gold)  # 42 for "42": golds often come as numbers from datasets
    from verifiers.grading import grade as grade_one

    return grade_one(response, gold, kind, options=list(choices) if choices is not None else None,
                     timeout=float(timeout), float_rounding=places)
