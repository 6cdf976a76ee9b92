"""Find the option letter a multiple-choice response commits to.

Precedence, strongest commitment first; within a tier the LAST occurrence wins (models
revise: "the answer is (A)... wait... the answer is (C)"):
1. an answer phrase followed by a letter: "The answer is (B)", "Answer: B", "**Final Answer:** b)",
   "the correct option is C", "\\boxed{D}", "I choose E", "B is the correct answer";
2. a closing line that is only a letter: "B", "(B)", "**B**", "B)", "B. <that option's text>";
3. an answer phrase followed by one option's text, repeated verbatim ("The answer is: Paris"),
   unless the same sentence rules it out ("The closest answer is Paris, but this is not among the choices");
4. a closing "closest / choose / pick" sentence naming exactly one "(X)".
A response matching none of these gives None: we never fall back to "the last capital
letter in the text", which picks the article "A" or the pronoun "I" out of the reasoning.
The last commitment decides: if it names a letter outside the row's options, or several
letters ("(B) or (F)"), the response has no single answer and gives None.
All patterns are linear (no nested quantifiers), so a 100k-character response is cheap.
"""
from __future__ import annotations

import re
from typing import Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DECOR = r"[\s*_#`]*"  # markdown bold/italics/headings/code around the letter
# A letter token: "(B)", "[B]", "B)", "B.", "B", "**B**", lower case too. The letter must stand
# alone: not followed by a letter/digit/apostrophe ("Avogadro", "B12", "I'm"), nor preceded by one.
_LETTER = r"(?P<open>[(\[{]?)\s*(?P<letter>[A-Za-z])(?P<close>[)\]}]?)(?![A-Za-z0-9'’]|-\w)"
_PHRASE = (
    r"(?:"
    r"(?:final|correct|best|right|true|most\s+(?:likely|appropriate|accurate))\s+(?:answer|option|choice)"
    r"(?:\s+(?:is|would\s+be|should\s+be|will\s+be|must\s+be|here\s+is|to\s+this\s+question\s+is))?"
    r"|answer\s+(?:is|would\s+be|should\s+be|will\s+be|must\s+be)"
    r"|answer(?=\s*[:：])"
    r"|(?:I\s+(?:would\s+)?(?:choose|pick|select|go\s+with))"
    r"|(?:option|choice)\s+(?=[(\[]?[A-Za-z][)\]]?\s+is\s+(?:the\s+)?(?:correct|right|best|answer))"
    r")"
)
_PHRASE_LETTER_RE = re.compile(
    rf"(?<![A-Za-z])(?P<phrase>{_PHRASE})\s*[:：]?{_DECOR}(?:(?:option|choice|letter)\s+)?{_DECOR}{_LETTER}",
    re.IGNORECASE,
)
_BOXED_RE = re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{\s*)?\(?([A-Za-z])\)?\s*(?:\}|[:.)\s])")
# "B is the correct answer", "(C) is the best option": the letter first (a bare "X is correct"
# is left out: option-by-option reasoning says that of several options before choosing).
_LETTER_FIRST_RE = re.compile(
    r"(?<![A-Za-z0-9'’])[(\[]?([A-Za-z])[)\]]?\s+(?:is|would\s+be)\s+the\s+(?:correct|right|best|true)\s+"
    r"(?:answer|option|choice)\b", re.I)
_MULTI_RE = re.compile(r"^[*_\s]*(?:,|/|\bor\b|\band\b|&)\s*[*_]*[(\[]?[A-Za-z][)\]]?(?![A-Za-z0-9])", re.I)
_LINE_LETTER_RE = re.compile(r"^[\s*_#>`-]*(?:[(\[]([A-Za-z])[)\]]|([A-Za-z])[).:]?)[\s*_`.]*$")
_LINE_LETTER_TEXT_RE = re.compile(r"^[\s*_#>`-]*[(\[]?([A-Z])[)\].:]\s+(.+?)[\s*_`]*$")
_ANSWER_TEXT_RE = re.compile(
    r"(?:(?:final|correct|best|right)\s+answer\s*(?:is|would\s+be|should\s+be)?|answer\s+is|answer\s*[:：])"
    r"\s*[:：]?[\s*_]*", re.I)
# "..., but the closest is (C)." / "we can choose the closest one, which is (I)." (the letter ends it)
_CLOSEST_RE = re.compile(
    r"(?:closest|nearest|choose|pick|select|go\s+with)(?:\s+(?:one|option|answer|choice|match))?"
    r"(?:\s*,?\s*which)?(?:\s+(?:is|would\s+be))?\s*:?\s*[(\[]([A-Za-z])[)\]][\s*.!]*$", re.I)


def _valid(letter: str, n_options: int) -> bool:
    return letter.upper() in LETTERS[:n_options]


def _is_article(m: re.Match, text: str) -> bool:
    """'the answer is a bit harder', 'answer: I think...': a bare A/I (or a/i) starting a phrase."""
    if m.group("open") or m.group("close"):
        return False
    letter = m.group("letter")
    rest = text[m.end():m.end() + 40]
    if letter in "AaIi":  # English words: a letter only when punctuation, the end or a clause follows
        if not re.match(r"\s+[A-Za-z]", rest) or _option_text_follows(rest):
            return False
        return not (letter.isupper() and _CLAUSE_RE.match(rest))
    if letter.islower():  # "answer is c" is fine; "answer is b because" too, but "answer is x y" is prose
        return bool(re.match(r"\s*[a-z]{2,}", rest)) and not re.match(r"\s+(?:because|since|as)\b", rest)
    return False


_CLAUSE_RE = re.compile(r"\s+(?:because|since|as|which|for|is|was|-|–|—)\b")


def _option_text_follows(rest: str) -> bool:
    return bool(re.match(r"\s*[-:–—]\s", rest))


_ASCII_LOWER = str.maketrans(LETTERS, LETTERS.lower())  # keeps every index (str.lower may not)
_PHRASE_KEYWORDS = ("answer", "option", "choice", "choose", "pick", "select", "go with")
_WINDOW_BEFORE, _WINDOW_AFTER = 48, 160


def _windowed_matches(pattern: re.Pattern, text: str, lower: str, keywords: Sequence[str]) -> list[re.Match]:
    """Every match of ``pattern`` near a keyword, in order of start.

    Scanning a long response with a case-insensitive alternation costs ~0.1 ms per pattern;
    ``str.find`` for the keywords every phrase contains, then matching only near them, keeps
    the cost proportional to the few places an answer can be (lookbehinds still see the text
    before a window, and a window is longer than any phrase).
    """
    spans: list[tuple[int, int]] = []
    for word in keywords:
        i = lower.find(word)
        while i >= 0:
            spans.append((max(0, i - _WINDOW_BEFORE), min(len(text), i + len(word) + _WINDOW_AFTER)))
            i = lower.find(word, i + 1)
    merged: list[list[int]] = []
    for start, end in sorted(spans):  # overlapping windows become one range: each char scanned once
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [m for start, end in merged for m in pattern.finditer(text, start, end)]


def _phrase_commitment(text: str, n_options: int, lower: str) -> tuple[int, str | None] | None:
    """(position, letter or None if ambiguous/invalid) of the last answer-phrase commitment."""
    last = None
    for m in _windowed_matches(_PHRASE_LETTER_RE, text, lower, _PHRASE_KEYWORDS):
        if _is_article(m, text):
            continue
        last = m
    later = list(_BOXED_RE.finditer(text)) if "\\boxed" in text else []
    later += _windowed_matches(_LETTER_FIRST_RE, text, lower, ("answer", "option", "choice"))
    for m in later:
        if last is None or m.start() > last.start():
            last = m
    if last is None:
        return None
    letter = last.group("letter") if "letter" in last.groupdict() else last.group(1)
    if _MULTI_RE.match(text[last.end():last.end() + 40]):
        return last.start(), None  # "(B) or (F)", "A, C and D": no single answer
    return last.start(), letter.upper() if _valid(letter, n_options) else None


_TEXT_CMD_RE = re.compile(r"\\text\{([^{}]*)\}")
_PUNCT_RE = re.compile(r"[\s*_.,;:!'\"`$()\[\]]+")


def _norm(s: str) -> str:
    return _PUNCT_RE.sub(" ", _TEXT_CMD_RE.sub(r"\1", s.lower())).strip()


def _option_index(fragment: str, options: Sequence[str], allow_prefix: bool = True) -> int | None:
    """The one option whose text this fragment repeats (exactly, or as its whole start)."""
    frag = _norm(fragment)
    if not frag:
        return None
    normed = [_norm(str(o)) for o in options]
    exact = [i for i, o in enumerate(normed) if o and o == frag]
    if len(exact) == 1:
        return exact[0]
    if exact or not allow_prefix:
        return None
    starts = [i for i, o in enumerate(normed) if o and len(o) >= 3 and (frag.startswith(o + " ") or frag == o)]
    if len(starts) == 1 and not any(normed[j] != normed[starts[0]] and normed[j].startswith(normed[starts[0]])
                                    for j in range(len(normed))):
        return starts[0]
    return None


def _closing_line(text: str, n_options: int, options: Sequence[str] | None) -> str | None:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    last = lines[-1].strip()
    m = _LINE_LETTER_RE.match(last)
    if m:
        letter = m.group(1) or m.group(2)
        if m.group(2) and letter.islower() and not re.search(r"[).:*]", last):
            return None  # a bare lower-case "a" line is a word, not an answer
        return letter.upper() if _valid(letter, n_options) else None
    m = _LINE_LETTER_TEXT_RE.match(last)
    if m and options and _valid(m.group(1), n_options):
        prev = lines[-2].strip() if len(lines) > 1 else ""
        if _LINE_LETTER_TEXT_RE.match(prev) or _LINE_LETTER_RE.match(prev):
            return None  # the response ends by listing the options, not by choosing one
        if _option_index(m.group(2), options) == LETTERS.index(m.group(1)):
            return m.group(1)
    return None


# The response itself rules the value out in the same sentence: not a commitment to it.
_REJECTED_RE = re.compile(
    r"\b(?:but|which|however|yet)\s*,?\s+(?:this|that|it)?\s*(?:is|was)\s+not\s+"
    r"(?:among|one\s+of|in\s+the\s+(?:list|options|choices)|an?\s+(?:valid\s+)?(?:option|choice|answer)|listed"
    r"|available|correct|right|the\s+(?:correct|right))\b",
    re.I)


def _answer_text(text: str, options: Sequence[str], after: int, lower: str) -> tuple[int, str] | None:
    """The option whose text the last answer phrase repeats, if that phrase comes after ``after``."""
    matches = _windowed_matches(_ANSWER_TEXT_RE, text, lower, ("answer",))
    last = matches[-1] if matches else None
    if last is None or last.start() <= after:
        return None
    tail = text[last.end():last.end() + 600]
    candidates = [tail.split("\n", 1)[0]]
    sentence = re.split(r"(?<=[^\d\s])\.(?:\s|$)", candidates[0], maxsplit=1)[0]
    if _REJECTED_RE.search(sentence):
        return None  # "the closest answer is 2.5 kW, but this is not among the choices": rejected
    candidates.append(sentence)
    for cand in candidates:
        index = _option_index(cand.strip().strip("*_").strip(), options)
        if index is not None:
            return last.start(), LETTERS[index]
    return None


def extract_choice(text: str | None, n_options: int, options: Sequence[str] | None = None) -> str | None:
    """The letter (A, B, ...) the response commits to, or None.

    ``n_options`` bounds the valid letters (4: A-D; 10: A-J); ``options`` (the option texts)
    lets an answer written as the option's text count.
    """
    if not text or not text.strip():
        return None
    n_options = max(1, min(int(n_options), len(LETTERS)))
    options = list(options)[:n_options] if options else None
    lower = text.translate(_ASCII_LOWER)
    phrase = _phrase_commitment(text, n_options, lower)
    by_text = _answer_text(text, options, phrase[0] if phrase else -1, lower) if options else None
    if by_text:
        return by_text[1]
    if phrase is not None:
        return phrase[1]
    closing = _closing_line(text, n_options, options)
    if closing:
        return closing
    if options and "\n" not in text.strip():
        index = _option_index(text.strip(), options, allow_prefix=False)
        if index is not None:
            return LETTERS[index]
    m = _CLOSEST_RE.search(text.rstrip()[-200:])
    if m:
        return m.group(1).upper() if _valid(m.group(1), n_options) else None
    return None
