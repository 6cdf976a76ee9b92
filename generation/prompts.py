"""Prompts per benchmark kind. Every prompt asks for a last line "The answer is: X", which is
what stage 2's extractors look for first; multiple-choice options are lettered A, B, C, ...

Changing a template changes what the model sees, so ``PROMPT_VERSION`` is part of the
identity a resumed run is checked against.
"""
from __future__ import annotations

import string

PROMPT_VERSION = 1
LETTERS = string.ascii_uppercase

MATH_TEMPLATE = (
    "Solve the following math problem. Think step by step, then give your final answer on the last line "
    "in the form \"The answer is: X\", where X is the final answer only (simplified; LaTeX is fine).\n\n"
    "Problem: {question}"
)

CHOICE_TEMPLATE = (
    "Answer the following multiple-choice question. Think step by step, then give your final answer on the "
    "last line in the form \"The answer is: X\", where X is the letter ({letters}) of the correct option.\n\n"
    "Question: {question}\n\n{options}"
)


def option_letters(n: int) -> list[str]:
    if not 1 <= n <= len(LETTERS):
        raise ValueError(f"cannot letter {n} options")
    return list(LETTERS[:n])


def format_options(options: list[str]) -> str:
    return "\n".join(f"{letter}. {str(text).strip()}" for letter, text in zip(option_letters(len(options)), options))


def math_prompt(question: str) -> str:
    return MATH_TEMPLATE.format(question=question.strip())


def choice_prompt(question: str, options: list[str]) -> str:
    letters = option_letters(len(options))
    shown = ", ".join(letters[:-1]) + f" or {letters[-1]}" if len(letters) > 1 else letters[0]
    return CHOICE_TEMPLATE.format(question=question.strip(), letters=shown, options=format_options(options))
