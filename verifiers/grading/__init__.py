"""Rule-based answer grading: extract the committed answer, then decide equivalence.

    >>> from verifiers.grading import grade
    >>> grade(r"... so the answer is $\\boxed{\\dfrac{1}{2}}$.", "0.5").correct
    True

Importing this package is cheap (no sympy): string normalization and the numeric fast path
run here; anything symbolic runs in a bounded worker process (see ``bounded.py``). Model
text is never evaluated: it is tokenized and parsed by ``latex_parse`` over a whitelist.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Sequence

from .extract_math import extract_math_answer, gold_answer, looks_like_bare_answer
from .normalize import canonical_number, is_plain_number, list_reading, normalize_answer, written_places
from .result import GradeResult

__all__ = ["GradeResult", "grade", "grade_batch", "extract_math_answer", "answers_equivalent", "gold_answer"]

_LETTERS = "ABCDEFGHIJKLMNOP"
_DECIMAL_PLACES = 6  # a written decimal against an exact value: Math-Verify's float_rounding, never looser


def _numbers_equal(x: Fraction, y: Fraction, percent: bool | str, x_decimal: bool = False, y_decimal: bool = False,
                   places: int = _DECIMAL_PLACES) -> bool:
    """Exact equality; only a written decimal against an exact fraction is compared rounded to 6 places.

    ``percent`` says which side carried a % sign ('gold', 'pred', True for both): p% equals p and p/100.
    """
    candidates = [(x, y)]
    if percent == "gold":
        candidates.append((x, y * 100))
    elif percent == "pred":
        candidates.append((x * 100, y))
    for idx, (u, v) in enumerate(candidates):
        if u == v:
            return True
        if bool(x_decimal) != bool(y_decimal):
            written, value = (u, v) if x_decimal else (v, u)
            declared = int(x_decimal or y_decimal) if idx == 0 else 0  # places as written, trailing zeros too
            k = max(written_places(written), declared)
            if k >= places and round(value, k) == written:
                return True  # 0.333333 for 1/3: a written decimal of at least `places` places
    return False


# The same gold is graded against many samples, and samples of one problem often repeat an
# answer: normalizing and comparing once per distinct string (pair) keeps repeats in-process.
_normalized = lru_cache(maxsize=8192)(normalize_answer)
_gold_answer = lru_cache(maxsize=4096)(gold_answer)
_VERDICTS: OrderedDict[tuple, tuple[bool | None, str, str]] = OrderedDict()
_VERDICTS_MAX = 16384
_VERDICTS_LOCK = threading.Lock()
_SIMPLE_FRACTION_RE = re.compile(r"^(-?)\\frac\{(\d{1,12})\}\{(\d{1,12})\}$|^(-?\d{1,12})/(\d{1,12})$")
# Words only, one of them 3+ letters long: a text answer, not a product of variables ("xy", "e").
_TEXT_ANSWER_RE = re.compile(r"^(?=.*[A-Za-z]{3})[A-Za-z][A-Za-z' -]*$")
_DECIMAL_COMMA_RE = re.compile(r"^-?\d+,(?:\d{1,2}|\d{4,})$")  # 1,22 / 0,5: never a thousands separator


def _as_fraction(text: str) -> Fraction | None:
    """Plain numbers and simple fractions (3, -2.5, 1/2, \\frac{3}{4}) exactly, without sympy."""
    if is_plain_number(text):
        mantissa, _, exponent = text.lower().partition("e")
        if len(mantissa) > 400 or exponent and abs(int(exponent)) > 400:
            return None  # 1e99999999 would build a 100-million-digit integer here, unbounded
        try:
            return Fraction(text)
        except (ValueError, OverflowError):
            return None
    m = _SIMPLE_FRACTION_RE.match(text)
    if not m:
        return None
    sign, num, den = (m.group(1), m.group(2), m.group(3)) if m.group(2) else ("", m.group(4), m.group(5))
    if int(den) == 0:
        return None
    value = Fraction(int(num), int(den))
    return -value if sign else value


def _percent_side(gold_percent: bool, pred_percent: bool) -> bool | str:
    if gold_percent and pred_percent:
        return True  # both p%: compared as written
    return "gold" if gold_percent else "pred" if pred_percent else False


_ARTICLES = {"a", "an", "the"}


def _text_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9']+", text.casefold()) if w not in _ARTICLES]


def _is_decimal(text: str) -> int:
    """Decimal places of a plain decimal as written ('0.3333330' -> 7), 0 when it is not one."""
    if "." in text and is_plain_number(text) and "e" not in text.lower():
        return max(1, len(text.split(".", 1)[1]))
    return 0


def _cached_verdict(key: tuple) -> tuple[bool | None, str, str] | None:
    with _VERDICTS_LOCK:
        hit = _VERDICTS.get(key)
        if hit is not None:
            _VERDICTS.move_to_end(key)
        return hit


def _remember_verdict(key: tuple, result: tuple[bool | None, str, str]) -> None:
    if result[1] != "ok":  # a timeout or crash may not repeat: never cache it
        return
    with _VERDICTS_LOCK:
        _VERDICTS[key] = result
        if len(_VERDICTS) > _VERDICTS_MAX:
            _VERDICTS.popitem(last=False)


def _compare(gold: str, pred: str, timeout: float, places: int = _DECIMAL_PLACES) -> tuple[bool | None, str, str]:
    """(verdict, status, detail) for two extracted answers.

    The direct reading first; then, where it is not proven equal, readings the gold's shape
    calls for: a list gold against commas read as thousands separators ('312,123,231'), and a
    list of numbers against a prediction that states them in words ('7 goats and 4 helicopters').
    """
    result = _compare_direct(gold, pred, timeout, places)
    if result[0] is True:
        return result
    g = _normalized(gold)
    if "," in g.text:
        alt = list_reading(pred)
        if alt is not None and alt != pred:
            other = _compare_direct(gold, alt, timeout, places)
            if other[0] is True:
                return True, other[1], f"{other[2]} (commas read as list separators, as in the gold)"
        words = _prose_numbers(gold, g.text, pred)
        if words is not None:
            return words
    return result


# Words that relate the numbers instead of listing them: "between 3 and 5", "3 out of 5", "but not 4".
_PROSE_RELATION_RE = re.compile(
    r"(?i)\b(?:between|out|of|divided|by|over|to|power|times|plus|minus|not|no|but|per|from|than|less|more|except|"
    r"without|ratio|versus|vs|or|either|nor|instead|rather|about|approximately|at)\b")
_PROSE_OK_RE = re.compile(r"^[A-Za-z0-9 ,;.$'\-]*$")
_PROSE_NUM_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]|\.\d)")


def _prose_numbers(gold: str, gold_text: str, pred: str) -> tuple[bool | None, str, str] | None:
    """A gold list of plain numbers against numbers stated in words, in the same order."""
    items = gold_text.split(",")
    if len(items) < 2 or not all(is_plain_number(x) for x in items):
        return None
    g_units, p_units = _normalized(gold).units, _normalized(pred).units
    if g_units and p_units and g_units != p_units:
        return None  # '5 km, 3 hours' is not '5 hours, 3 km'
    text = re.sub(r"\\text\{([^{}]*)\}", r" \1 ", pred)
    text = re.sub(r"\\[ ,;!]|\$", " ", text)
    if not _PROSE_OK_RE.match(text) or not re.search(r"[A-Za-z]{3}", text) or _PROSE_RELATION_RE.search(text):
        return None
    parts = [x.strip() for x in re.split(r"\s*(?:,\s*and\b|,|;|\band\b)\s*", text.strip().rstrip(".")) if x.strip()]
    if len(parts) != len(items) or not all(_named_count(x) for x in parts):
        return None  # only "<number> <noun>" items joined by commas or "and": "5 point 7", "3 out of 5" are not lists
    found = [canonical_number(_PROSE_NUM_RE.search(x).group(0)) for x in parts]
    want = [canonical_number(x) for x in items]
    if found == want:
        return True, "ok", "numbers stated in words, in the gold's order"
    if sorted(found) == sorted(want):
        return None, "undecided", "the right numbers in words, in another order than the gold's"
    return False, "ok", "numbers stated in words differ from the gold's"


_COUNT_ITEM_RE = re.compile(r"^(?:([A-Za-z]+)\s+){0,2}-?\d+(?:\.\d+)?((?:\s+[A-Za-z]+){0,3})$")


def _named_count(item: str) -> bool:
    """'7 goats', 'red 4', '17 red marbles': one number and words that name what it counts."""
    m = _COUNT_ITEM_RE.match(item)
    if not m:
        return False
    from .normalize import _VALUE_WORDS  # noqa: PLC0415

    words = re.findall(r"[A-Za-z]+", item)
    return not any(_VALUE_WORDS.match(w) or _PROSE_RELATION_RE.match(w) for w in words)


_JOINED_RE = re.compile(r"[=<>][^,;]*?(?:\\text\{\s*|\b)(and|or)(?:\s*\}|\b)[^,;]*?[=<>]")


def _joined_by(text: str) -> str | None:
    """'x=1 and y=2' (both hold) or 'x=1 or x=2' (either): how two relations are joined, if they are."""
    m = _JOINED_RE.search(text)
    if not m:
        return None
    left, right = text[: m.start(1)], text[m.end(1) :]
    name = lambda part: re.sub(r"[\s{}$]|\\text", "", re.split(r"[=<>]", part)[0])[-12:]  # noqa: E731
    lhs = re.split(r",|;", left)[-1]
    if m.group(1) == "and" and name(lhs) == name(right.lstrip(" }")):
        return "or"  # 'W(n)=1 and W(n)=-1': two values of one name, a list of alternatives
    return m.group(1)


def _compare_direct(gold: str, pred: str, timeout: float, places: int) -> tuple[bool | None, str, str]:
    """Cheap decisions first, all in-process: identical strings, exact numbers and simple
    fractions, a cache of earlier verdicts; only the rest pays a worker round trip."""
    if gold.strip() == pred.strip() and any(ch.isalnum() for ch in pred):
        return True, "ok", "identical"
    g, p = _normalized(gold), _normalized(pred)
    if not p.text:
        return None, "no_answer", "empty answer after normalization"
    joins = {_joined_by(gold), _joined_by(pred)}
    if joins == {"and", "or"}:
        return None, "undecided", "relations joined by 'and' against relations joined by 'or'"
    if g.units and p.units and g.units != p.units:
        return None, "undecided", f"different units ({', '.join(g.units)} vs {', '.join(p.units)}): not compared blind"
    if g.text == p.text:
        return True, "ok", "identical after normalization"
    if _TEXT_ANSWER_RE.match(g.text) and _TEXT_ANSWER_RE.match(p.text):
        gw, pw = _text_words(g.text), _text_words(p.text)
        if gw == pw:
            return True, "ok", "same text answer"  # "Monday" / "monday", "No solution" / "the no solution"
        if len(gw) == 1 and len(pw) == 1:
            return False, "ok", "different words"  # "odd" / "even"
        return None, "undecided", "text answers differ in wording: only a reader can tell if they mean the same"
    percent = _percent_side(g.percent, p.percent)
    x, y = _as_fraction(g.text), _as_fraction(p.text)
    if x is not None and y is not None:
        if _numbers_equal(x, y, percent, _is_decimal(g.text), _is_decimal(p.text), places):
            return True, "ok", "numeric"
        return False, "ok", "numeric"
    # "1,22" written with a decimal comma (no space, never 3 digits after it) against 1.22.
    for raw, comma, other, other_text in ((gold, g.text, y, p.text), (pred, p.text, x, g.text)):
        if other is not None and "." in other_text and _DECIMAL_COMMA_RE.match(raw.strip().strip("$ ")) \
                and _numbers_equal(Fraction(comma.replace(",", ".")), other, percent):
            return True, "ok", "numeric (decimal comma)"
    if len(g.text) > 5000 or len(p.text) > 5000:
        return None, "undecided", "answer too long to compare"
    key = (g.text, p.text, g.percent, p.percent, g.degrees or p.degrees, places, g.parameters + p.parameters)
    cached = _cached_verdict(key)
    if cached is not None:
        return cached
    from .bounded import compare_bounded  # noqa: PLC0415 - keeps `import verifiers.grading` light

    result = compare_bounded(g.text, p.text, timeout, g.percent, p.percent, g.degrees or p.degrees, places,
                             g.parameters + p.parameters)
    _remember_verdict(key, result)
    return result


def answers_equivalent(a: str, b: str, timeout: float = 5.0, float_rounding: int = _DECIMAL_PLACES) -> bool | None:
    """Are two extracted answers (gold, prediction) equivalent? None when it cannot be decided.

    Exact values must be exactly equal. ``float_rounding`` applies only where one side is a
    written decimal and the other an exact value: both rounded to that many places must agree
    (6, Math-Verify's default; a smaller value is looser and must be asked for).
    """
    verdict, _, _ = _compare(a, b, timeout, float_rounding)
    return verdict


def _grade_math(prediction: str, gold: str, timeout: float, places: int = _DECIMAL_PLACES) -> GradeResult:
    gold_ans = _gold_answer(gold)
    extracted = extract_math_answer(prediction)
    if extracted is None and looks_like_bare_answer(prediction):
        extracted = prediction.strip()
    if extracted is None:
        return GradeResult(False, None, "no_answer", gold_ans, "no committed final answer")
    verdict, status, detail = _compare(gold_ans, extracted, timeout, places)
    if status == "no_answer":
        return GradeResult(False, extracted, status, gold_ans, detail)
    return GradeResult(verdict, extracted, status, gold_ans, detail)


def _gold_letter(gold: str, options: Sequence[str] | None) -> str | None:
    g = gold.strip().strip("().*: ").strip()
    if len(g) == 1 and g.upper() in _LETTERS:
        return g.upper()
    if options:
        norm = [re.sub(r"\s+", " ", o).strip().lower() for o in options]
        target = re.sub(r"\s+", " ", gold).strip().lower()
        if target in norm:
            return _LETTERS[norm.index(target)]
    return None


def _grade_choice(prediction: str, gold: str, options: Sequence[str] | None) -> GradeResult:
    from .extract_choice import extract_choice  # noqa: PLC0415 - owned by the evaluation stage

    gold_letter = _gold_letter(gold, options)
    if gold_letter is None:
        return GradeResult(None, None, "parse_error", gold, "gold is neither a letter nor an option text")
    n_options = len(options) if options else max(4, _LETTERS.index(gold_letter) + 1)
    letter = extract_choice(prediction, n_options, list(options) if options else None)
    if letter is None:
        return GradeResult(False, None, "no_answer", gold_letter, "no option letter found")
    return GradeResult(letter.strip().upper() == gold_letter, letter, "ok", gold_letter, "")


def grade(prediction: str | None, gold: str, kind: str = "math", options: Sequence[str] | None = None,
          timeout: float = 5.0, float_rounding: int = _DECIMAL_PLACES) -> GradeResult:
    """Grade one response against a gold answer (or gold solution). Never raises on bad data.

    ``correct`` is True only when the committed answer is proven equal to the gold, False when
    proven different or when nothing is committed, None (status ``undecided``) when it cannot
    be decided. See ``answers_equivalent`` for ``float_rounding``.
    """
    if kind not in ("math", "choice"):
        raise ValueError(f"unknown grading kind {kind!r} (expected 'math' or 'choice')")
    if prediction is None or not str(prediction).strip():
        return GradeResult(False, None, "no_answer", gold, "empty response")
    if gold is None or not str(gold).strip():
        return GradeResult(None, None, "parse_error", gold, "missing gold answer")
    try:
        if kind == "choice":
            return _grade_choice(str(prediction), str(gold), options)
        return _grade_math(str(prediction), str(gold), timeout, float_rounding)
    except Exception as exc:  # noqa: BLE001 - a grading bug is recorded as data, not raised
        return GradeResult(None, None, "parse_error", gold, f"{type(exc).__name__}: {exc}"[:300])


def grade_batch(pairs: Iterable[Sequence], kind: str = "math", timeout: float = 5.0,
                max_workers: int | None = None) -> list[GradeResult]:
    """Grade (prediction, gold[, options]) pairs concurrently; results keep input order."""
    items = [tuple(p) for p in pairs]
    if not items:
        return []
    if max_workers is None:
        from .bounded import get_pool  # noqa: PLC0415

        max_workers = get_pool().size
    if max_workers <= 1 or len(items) == 1:
        return [grade(it[0], it[1], kind, it[2] if len(it) > 2 else None, timeout) for it in items]
    with ThreadPoolExecutor(max_workers=max_workers) as ex:
        return list(ex.map(lambda it: grade(it[0], it[1], kind, it[2] if len(it) > 2 else None, timeout), items))
