"""The benchmarks ``--dataset`` knows by name, and loading of any other dataset.

Each benchmark is one registry entry: hub id, config, split, and a function that turns a
hub row into Weaver's columns (see REFERENCE.md) plus ``instruction`` and ``answer``.
``answer`` is always the short final answer: MATH-500's ``answer`` field (not the solution),
or the option letter for multiple choice.

``WEAVER_HUB_MIRROR=DIR`` makes hub loading read ``DIR/<org>/<name>/<config>/<split>.jsonl``
(or ``.parquet``; ``<config>`` omitted when the dataset has none) instead of downloading:
offline machines and the tests use it with files in the hub's own schema.
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from generation.prompts import choice_prompt, math_prompt, option_letters
from toolkit.errors import InputError
from toolkit.registry import Registry

#: Options are shuffled once per row from this seed and the row's own key, never per run,
#: so every model answers the same lettering (the reference shuffled unseeded).
OPTION_SHUFFLE_SEED = 0
QUESTION_COLUMNS = ("problem", "question", "instruction", "prompt")
ANSWER_COLUMNS = ("answer", "final_answer", "target", "label", "gold")

MMLU_SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics "
    "high_school_mathematics high_school_microeconomics high_school_physics high_school_psychology "
    "high_school_statistics high_school_us_history high_school_world_history human_aging human_sexuality "
    "international_law jurisprudence logical_fallacies machine_learning management marketing medical_genetics "
    "miscellaneous moral_disputes moral_scenarios nutrition philosophy prehistory professional_accounting "
    "professional_law professional_medicine professional_psychology public_relations security_studies "
    "sociology us_foreign_policy virology world_religions"
).split()


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    hub_id: str
    config: str | None
    split: str
    kind: str  # "math" | "choice"
    normalize: Callable[[dict[str, Any]], dict[str, Any]]


def _math_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"problem": row["problem"], "solution": row.get("solution"), "subject": row.get("subject"),
            "level": row.get("level"), "unique_id": row.get("unique_id"),
            "instruction": math_prompt(row["problem"]), "answer": str(row["answer"]).strip()}


def _shuffled(options: list[str], correct: int, key: str) -> tuple[list[str], int]:
    digest = hashlib.sha256(f"{OPTION_SHUFFLE_SEED}:{key}".encode()).digest()
    order = list(range(len(options)))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return [options[i] for i in order], order.index(correct)


def _gpqa_row(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def normalize(row: dict[str, Any]) -> dict[str, Any]:
        question = row["Question"].strip()
        raw = [row["Correct Answer"], row["Incorrect Answer 1"], row["Incorrect Answer 2"], row["Incorrect Answer 3"]]
        options, correct = _shuffled([str(o).strip() for o in raw], 0, row.get("Record ID") or question)
        letter = option_letters(len(options))[correct]
        return {"original_instruction": question, "type": kind, "options": options, "correct_answer": letter,
                "subject": "science", "instruction": choice_prompt(question, options), "answer": letter}
    return normalize


def _mmlu_row(row: dict[str, Any]) -> dict[str, Any]:
    choices = [str(c) for c in row["choices"]]
    answer = row["answer"]
    letter = option_letters(len(choices))[answer] if isinstance(answer, int) else str(answer).strip()
    prompt = choice_prompt(row["question"], choices)
    return {"question": row["question"], "problem": prompt, "choices": choices, "subject": row.get("subject"),
            "instruction": prompt, "answer": letter}


def _mmlu_pro_row(row: dict[str, Any]) -> dict[str, Any]:
    options = [str(o) for o in row["options"]]
    index = row.get("answer_index")
    letter = option_letters(len(options))[index] if isinstance(index, int) else str(row["answer"]).strip()
    prompt = choice_prompt(row["question"], options)
    return {"question": row["question"], "problem": prompt, "options": options,
            "answer_index": index if isinstance(index, int) else option_letters(len(options)).index(letter),
            "subject": row.get("category"), "instruction": prompt, "answer": letter}


BENCHMARKS: Registry[BenchmarkSpec] = Registry("dataset")
for _spec in (
    BenchmarkSpec("math", "HuggingFaceH4/MATH-500", None, "test", "math", _math_row),
    BenchmarkSpec("gpqa", "Idavidrein/gpqa", "gpqa_main", "train", "choice", _gpqa_row("main")),
    BenchmarkSpec("gpqa_diamond", "Idavidrein/gpqa", "gpqa_diamond", "train", "choice", _gpqa_row("diamond")),
    BenchmarkSpec("mmlu", "cais/mmlu", "all", "test", "choice", _mmlu_row),
    BenchmarkSpec("mmlu_pro", "TIGER-Lab/MMLU-Pro", None, "test", "choice", _mmlu_pro_row),
):
    BENCHMARKS.register(_spec.name, _spec)


def load_hub(hub_id: str, config: str | None, split: str | None):
    """One split of a hub dataset, or of its copy under WEAVER_HUB_MIRROR."""
    import datasets as hf

    mirror = os.environ.get("WEAVER_HUB_MIRROR")
    if mirror:
        base = Path(mirror) / hub_id
        folders = [base / config, base] if config else [base]
        splits = [split] if split else ["data", "test", "train"]
        for folder in folders:
            for name in splits:
                for suffix, kind in ((".jsonl", "json"), (".parquet", "parquet")):
                    f = folder / f"{name}{suffix}"
                    if f.exists():
                        return hf.load_dataset(kind, data_files=str(f), split="train")
        raise InputError(f"WEAVER_HUB_MIRROR is set but {folders[0]}/{splits[0]}.jsonl (or .parquet) is missing")
    try:
        obj = hf.load_dataset(hub_id, config, split=split)
    except Exception as exc:  # noqa: BLE001 - turned into one line that says what to check
        hint = " (gated: accept its terms on the hub and run `huggingface-cli login`)" if "gpqa" in hub_id else ""
        raise InputError(f"could not load {hub_id}{'/' + config if config else ''} from the hub{hint}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if isinstance(obj, hf.DatasetDict):
        name = next((s for s in ("data", "test", "train") if s in obj), next(iter(obj)))
        obj = obj[name]
    return obj


def load_benchmark(spec: BenchmarkSpec, subjects: list[str] | None, max_rows: int | None) -> list[dict[str, Any]]:
    if spec.name == "mmlu" and subjects:
        for s in subjects:
            if s not in MMLU_SUBJECTS:
                import difflib

                close = difflib.get_close_matches(s, MMLU_SUBJECTS, n=3)
                raise InputError(f"unknown MMLU subject {s!r}." + (f" Did you mean {', '.join(close)}?" if close else ""))
        raw: list[dict[str, Any]] = []
        for s in subjects:
            raw += [dict(r, subject=r.get("subject") or s) for r in load_hub(spec.hub_id, s, spec.split).to_list()]
    else:
        raw = load_hub(spec.hub_id, spec.config, spec.split).to_list()
    # ids are positions in the source split, so a subject filter keeps each problem's id.
    rows = [{**spec.normalize(r), "id": position} for position, r in enumerate(raw)]
    if subjects and spec.name != "mmlu":
        rows = _filter_subjects(rows, subjects, spec.name)
    return rows[:max_rows] if max_rows is not None else rows


def _filter_subjects(rows: list[dict[str, Any]], subjects: list[str], name: str) -> list[dict[str, Any]]:
    known = {str(r.get("subject")).lower() for r in rows}
    wanted = {s.lower() for s in subjects}
    missing = sorted(wanted - known)
    if missing:
        raise InputError(f"{name} has no subject {missing[0]!r}; it has: {', '.join(sorted(known))}")
    return [r for r in rows if str(r.get("subject")).lower() in wanted]


def load_any(dataset: str, question_column: str | None, answer_column: str | None,
             max_rows: int | None) -> tuple[list[dict[str, Any]], str]:
    """A local file/folder or hub id: Weaver columns are added around the user's own."""
    from toolkit.dataset_io import load_dataset_from_path

    looks_local = Path(dataset).exists() or dataset.endswith((".jsonl", ".json", ".parquet", ".hf")) \
        or dataset.startswith((".", "/", "~"))
    if not looks_local and "/" not in dataset:
        BENCHMARKS.get(dataset)  # raises "unknown dataset ... Did you mean ...?"
    ds = load_dataset_from_path(dataset) if looks_local else load_hub(dataset, None, None)
    columns = ds.column_names
    question = _pick_column(dataset, columns, question_column, QUESTION_COLUMNS, "--question_column", True)
    answer = _pick_column(dataset, columns, answer_column, ANSWER_COLUMNS, "--answer_column", False)
    options_col = next((c for c in ("options", "choices") if c in columns), None)
    if max_rows is not None:
        ds = ds.select(range(min(max_rows, len(ds))))
    rows = []
    for row in ds.to_list():
        options = row.get(options_col) if options_col else None
        text = str(row[question])
        if question == "instruction":
            instruction = text  # already a full prompt (e.g. a Weaver dataset)
        elif isinstance(options, list) and options:
            instruction = choice_prompt(text, [str(o) for o in options])
        else:
            instruction = math_prompt(text)
        gold = row.get(answer) if answer else None
        if isinstance(options, list) and isinstance(gold, int) and not isinstance(gold, bool) and 0 <= gold < len(options):
            gold = option_letters(len(options))[gold]
        out = {k: v for k, v in row.items() if k not in ("instruction", "answer", "id")}
        if "id" in row:
            out["source_id"] = row["id"]  # the file's own id is kept; ours is the row position
        out.update(id=len(rows), instruction=instruction, answer=None if gold is None else str(gold).strip())
        rows.append(out)
    return rows, "choice" if options_col else "math"


def _pick_column(dataset: str, columns: list[str], asked: str | None, candidates: tuple[str, ...],
                 flag: str, required: bool) -> str | None:
    if asked:
        if asked not in columns:
            raise InputError(f"{dataset} has no column {asked!r} ({flag}); its columns are: {', '.join(columns)}")
        return asked
    found = next((c for c in candidates if c in columns), None)
    if found is None and required:
        raise InputError(f"{dataset} has none of the columns {', '.join(candidates)}: name the question "
                         f"column with {flag}; its columns are: {', '.join(columns)}")
    return found
