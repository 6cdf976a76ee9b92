"""Pseudo-labels for rows without a gold answer: majority vote over equivalent answers.

Extracted answers are grouped into classes of equivalent answers (``"1/2"``, ``"0.5"`` and
``"\\frac{1}{2}"`` are one vote); the largest class is the label. A tie between the largest
classes gives no label ("none:tie"), and so does a row where no sample has an answer
("none:no_answers"): a coin flip presented as a label would be worse than no label.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

Equivalent = Callable[[str, str], "bool | None"]

SOURCE_DATASET = "dataset"
SOURCE_VOTE = "majority_vote"
SOURCE_TIE = "none:tie"
SOURCE_NO_ANSWERS = "none:no_answers"


@dataclass(frozen=True)
class VoteResult:
    label: str | None
    source: str  # majority_vote / none:tie / none:no_answers
    votes: int  # size of the winning class (0 without a label)
    #: per sample: True if in the winning class, False if it answered something else, None if no answer/label
    agrees: list[bool | None]


def cluster_answers(answers: Sequence[str | None], equivalent: Equivalent) -> list[int | None]:
    """Class index per answer (None for a missing answer); classes are numbered by first appearance.

    An undecidable comparison (None) counts as "different": a vote never merges on a guess.
    """
    reps: list[str] = []
    exact: dict[str, int] = {}
    out: list[int | None] = []
    for answer in answers:
        if answer is None or not str(answer).strip():
            out.append(None)
            continue
        key = str(answer).strip()
        if key in exact:
            out.append(exact[key])
            continue
        found = next((i for i, rep in enumerate(reps) if equivalent(rep, key) is True), None)
        if found is None:
            reps.append(key)
            found = len(reps) - 1
        exact[key] = found
        out.append(found)
    return out


def majority_vote(answers: Sequence[str | None], equivalent: Equivalent | None = None) -> VoteResult:
    """The majority answer among ``answers`` (the first-seen form of the winning class)."""
    equivalent = equivalent or (lambda a, b: a == b)
    classes = cluster_answers(answers, equivalent)
    counts: dict[int, int] = {}
    first_form: dict[int, str] = {}
    for answer, cls in zip(answers, classes):
        if cls is not None:
            counts[cls] = counts.get(cls, 0) + 1
            first_form.setdefault(cls, str(answer).strip())
    if not counts:
        return VoteResult(None, SOURCE_NO_ANSWERS, 0, [None] * len(answers))
    ranked = sorted(counts.values(), reverse=True)
    if len(ranked) > 1 and ranked[0] == ranked[1]:
        return VoteResult(None, SOURCE_TIE, 0, [None] * len(answers))
    winner = max(counts, key=counts.get)
    agrees = [None if cls is None else cls == winner for cls in classes]
    return VoteResult(first_form[winner], SOURCE_VOTE, counts[winner], agrees)
