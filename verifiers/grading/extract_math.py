"""Find the final answer a math response commits to.

Precedence, strongest commitment first:
1. the last ``\\boxed{..}`` / ``\\fbox{..}`` (boxes side by side, joined by commas or
   "and", form one multi-part answer);
2. the last answer phrase: "The final answer is X", "Final Answer: X", "**Answer:** X",
   "The answer is: X", "Answer: X";
3. a GSM8K-style closing line "#### X" or "A: X";
4. a math span closing the response (``... is $X$.`` as the last thing written).
A response matching none of these has no answer (None): we never fall back to
"the last number in the text", which would grade a reasoning step as the answer.
Everything here is linear-time string scanning; no regex can backtrack badly.
"""
from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox|framebox)\s*")
_BOX_JOIN_GAP_RE = re.compile(
    r"^(?:\s|[,;&$]|\\\\|\\quad|\\qquad|\\text\{[^{}]{0,40}\}|\band\b|\bor\b|\\\]|\\\[|\\\(|\\\)"
    r"|[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*$"
)
_ANSWER_PHRASE_RE = re.compile(
    r"(?:final\s+answer\s*(?:is|:|=)?|the\s+answer\s+is\s*:?|\banswer\s*(?:is\s*)?:|\banswer\s*(?=\$|\\\[|\\\())"
    r"(?:\s|\*|#|:)*",
    re.I,
)
_GSM_RE = re.compile(r"(?:^|\n)\s*(?:####|A\s*:)\s*([^\n]+)\s*$")
_SENTENCE_END_RE = re.compile(r"(?<!\d)\.(?:\s|$)|\.\s+(?=[A-Z])|\n")
_MAX_ANSWER_CHARS = 1000


def find_boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) for every well-formed box; an unbalanced box is skipped."""
    boxes = []
    for m in _BOX_RE.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            depth, j = 0, i
            while j < len(text):
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(text):
                continue  # unbalanced: not a committed answer
            boxes.append((m.start(), j + 1, text[i + 1 : j]))
        else:  # "\boxed 5"
            tok = re.match(r"[^\s$.,]+", text[i:])
            if tok and m.end() > m.start() + 1 and text[m.start() + 6 : m.start() + 7].isspace():
                boxes.append((m.start(), i + tok.end(), tok.group(0)))
    return boxes


def _last_boxed(text: str) -> str | None:
    boxes = [b for b in find_boxes(text) if b[2].strip()]
    if not boxes:
        return None
    group = [boxes[-1]]
    for prev in reversed(boxes[:-1]):
        gap = text[prev[1] : group[0][0]]
        if len(gap) > 60 or "\n\n" in gap or not _BOX_JOIN_GAP_RE.match(gap):
            break
        group.insert(0, prev)
    return ", ".join(b[2].strip() for b in group)


def _leading_math(tail: str) -> str | None:
    """The math span a tail starts with ("$5$ because..." -> "5")."""
    for opener, closer in (("$$", "$$"), ("$", "$"), (r"\[", r"\]"), (r"\(", r"\)")):
        if tail.startswith(opener):
            end = tail.find(closer, len(opener))
            while end > 0 and tail[end - 1] == "\\" and closer == "$":  # an escaped \$ is currency
                end = tail.find(closer, end + 1)
            if end > len(opener):
                return tail[len(opener) : end]
            return None
    return None


def _after_copula(answer: str) -> str:
    """'The largest $n$ is 34' -> '34': a prose answer names its value after the last 'is'."""
    words = re.findall(r"(?<![\\$])\b[A-Za-z]{3,}\b", re.sub(r"\$[^$]*\$", " ", answer))
    if len(words) < 2:
        return answer
    m = None
    for m in re.finditer(r"\s(?:is|are|equals|was|be)\s+|=", answer):
        pass
    return answer[m.end() :].strip() if m else answer


def _answer_phrase(text: str, start: int = 0) -> tuple[int, str] | None:
    """The last answer phrase starting at or after ``start`` (position, answer)."""
    last = None
    for m in _ANSWER_PHRASE_RE.finditer(text, start):
        last = m
    if last is None:
        return None
    tail = _QUOTE_RE.sub("", text[last.end() :].lstrip(" *_:#"), count=1)
    lead = text[max(0, last.start() - 120) : last.start()]
    lead = re.split(r"[.!?\n]", lead)[-1]  # the sentence the phrase opens, up to the phrase
    end = _SENTENCE_END_RE.search(tail)
    rest = tail[: end.start()] if end else tail
    value_at = re.search(r"\$|\\\(|\\\[|-?\d", rest)
    before_value = rest[: value_at.start()] if value_at else rest
    after_value = re.sub(r"\$[^$]*\$", " ", rest[value_at.start():]) if value_at else ""
    if _REJECTION_RE.search(lead) or _REJECTION_RE.search(before_value) or _CONDITIONAL_RE.search(after_value) or \
            re.match(r"\s*\?", tail[len(rest):len(rest) + 3] if end else ""):
        return None  # "whether the answer is 6", "the answer is $6$? No.", "the answer cannot be 6", "6 only if n is even"
    spans = _math_span_list(tail)
    if spans is not None:
        return last.start(), spans
    math = _leading_math(tail)
    if math is not None:
        after = tail[tail.find("$", 1) + 1 :] if tail.startswith("$") else ""
        if _VALUE_CHANGE_RE.search(re.split(r"[.!?\n]", after)[0]):
            return None  # "The answer is $8$ and two thirds."
        return last.start(), math
    end = _SENTENCE_END_RE.search(tail)
    answer = tail[: end.start()] if end else tail
    answer = _after_copula(answer.strip().strip("*_").strip())
    math = _leading_math(answer)
    answer = math if math is not None else _single_number_in_prose(answer)
    return (last.start(), answer) if answer else None


_QUOTE_RE = re.compile(r'^(?:\\?["\u201c\u201d\'])')
_SPAN_LIST_RE = re.compile(r"^(\$[^$]{1,200}\$)((?:\s*(?:,|;|\band\b|\bor\b)\s*\$[^$]{1,200}\$)+)")
_PROSE_NUMBER_RE = re.compile(r"(?<![\w.^_])-?\d[\d,]*(?:\.\d+)?%?(?![\w^_])")


def _math_span_list(tail: str) -> str | None:
    """'$12$ and $13$' right after an answer phrase: one answer written as several math spans."""
    m = _SPAN_LIST_RE.match(tail)
    if not m:
        return None
    spans = re.findall(r"\$([^$]{1,200})\$", m.group(0))
    return ", ".join(x.strip() for x in spans if x.strip()) or None


# Words that deny or question a stated answer, or make it conditional ("cannot be", "is not the answer",
# "rule out", "whether", "only if"): the sentence commits to nothing.
_REJECTION_RE = re.compile(
    r"\b(?:not|cannot|can't|isn't|aren't|wasn't|wrong|incorrect|rule out|ruled out|rules out|impossible|never|"
    r"whether|unless|only if|otherwise|anything but|other than|except)\b|\?", re.I)
# Words right after a stated value that change it: "$8$ and a half", "$8$ thousand", "$8$ squared".
_VALUE_CHANGE_RE = re.compile(
    r"^\s*(?:and\s+(?:a|one|two|three|\d+)\s+\w+|and change|plus|minus|times|divided|over|squared|cubed|"
    r"hundred|thousand|million|billion|dozen|percent|tenths?|thirds?|quarters?|halves)\b", re.I)
# After the stated value: a question or a condition on it ("$6$? No.", "6 only if n is even", "5 when n is even").
_CONDITIONAL_RE = re.compile(r"(?i)\?|\b(?:only if|if|unless|otherwise|provided|whenever|when)\b")
# Words that make a stated number a bound, a denial or a guess: "greater than 164", "not 164".
_HEDGE_RE = re.compile(
    r"\b(?:not|no|never|neither|nor|greater|less|more|fewer|larger|smaller|bigger|higher|lower|least|most|above|"
    r"below|over|under|between|exceed|exceeds|either|maybe|perhaps|probably|unlikely|cannot|can't|isn't|wasn't|"
    r"but|except|about|approximately|roughly|around|nearly|almost|estimate|estimated|half|quarter|plus|minus|bit|"
    r"point|thirds?|fourths?|fifths?|sixths?|\w+ths|change|dozen|thousand|hundred|million|squared|cubed|times|"
    r"divided|percent)\b",
    re.I)


def _single_number_in_prose(answer: str) -> str:
    """'Jane started growing Sphere 3 hours ago' -> '3': a committed prose answer with one number."""
    if _HEDGE_RE.search(answer) and not re.search(r"\$|\\", answer):
        return ""  # a bound or a denial commits to no value
    if "$" in answer or "\\" in answer or len(re.findall(r"[A-Za-z]{3,}", answer)) < 2:
        return answer
    numbers = _PROSE_NUMBER_RE.findall(answer)
    return numbers[0] if len(numbers) == 1 else answer


_CONCLUSION_RE = re.compile(
    r"(?:^|[.!\n]\$*\s*)(?:therefore|thus|hence|so|in conclusion|finally|putting it all together|altogether|in total|"
    r"in all|overall|all in all)\b[^\n]*$|(?:^|[.!\n]\s*)[^.!\n]*\b(?:in total|altogether|in all)\b[^\n]*$", re.I)
# A verb that states the result; the value follows it ("So the farmer has 7 goats and 4 helicopters").
_RESULT_VERB = (r"is|are|equals|be|by|to|has|have|had|gets|get|got|makes|owns|needs|costs|earns|receives|"
                r"ends up with|end up with|is left with|are left with|will have")
_NUMBER_WORD_RE = re.compile(
    r"^(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-[a-z]+)?(?: [a-z]+){0,3}$",
    re.I)
_WORDED_LIST_RE = re.compile(r"^(?:[A-Za-z$]*\d[\d,]*(?:\.\d+)?\s+[A-Za-z][A-Za-z ]{0,30}?(?:,\s*|\s+and\s+|$)){2,6}$")
_MATH_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)


def _conclusion(text: str) -> str | None:
    """'Therefore $x \\geq 5$ is the solution.' / 'Thus the probability is 2/3.'"""
    tail = text.rstrip()[-400:]
    m = _CONCLUSION_RE.search(tail)
    if not m:
        return None
    sentence = m.group(0)
    if _REJECTION_RE.search(re.sub(r"\$[^$]*\$", " ", sentence)):
        return None  # "So $6$ is wrong.", "Hence it cannot be $6$."
    spans = [next(g for g in sm.groups() if g is not None) for sm in _MATH_SPAN_RE.finditer(sentence)]
    if spans:
        after = sentence[sentence.rfind("$") + 1 :] if "$" in sentence else ""
        if _VALUE_CHANGE_RE.search(after):
            return None  # "So the total is $8$ and a half." / "... $8$ thousand."
        return spans[-1].strip() or None
    if _HEDGE_RE.search(sentence) and not spans:
        return None
    value = re.search(r"\s(?:is|are|equals|be|by|to)\s+([^\s].{0,30}?)\.?\s*$", sentence)
    if value and re.search(r"\d", value.group(1)) and len(re.findall(r"[A-Za-z]{3,}", value.group(1))) <= 1:
        return value.group(1)
    stated = re.search(r"\s(?:" + _RESULT_VERB + r")\s+(?:exactly\s+|only\s+)?([^\s].{0,80}?)\.?\s*$", sentence)
    if stated and _WORDED_LIST_RE.match(stated.group(1).strip()):
        return stated.group(1).strip()  # several counts, each named: "7 goats and 4 helicopters"
    if stated and re.match(r"^(?:[A-Za-z]+ )?-?\$?\d[\d,]*(?:\.\d+)?(?: [a-z]+){0,5}$", stated.group(1).strip()) \
            and len(_PROSE_NUMBER_RE.findall(stated.group(1))) == 1:
        return _PROSE_NUMBER_RE.findall(stated.group(1))[0]  # "has 12 apples left", "there are 12 ways to ..."
    if stated and _NUMBER_WORD_RE.match(stated.group(1).strip()):
        return stated.group(1).strip()  # "ends up with twelve apples": normalization reads the number word
    counted = re.search(r"\s(?:is|are)\s+(-?\d[\d,]*(?:\.\d+)?)\s+[a-z]", sentence)  # "there are 12 ways"
    return counted.group(1) if counted else None


def _trailing_math(text: str) -> str | None:
    """The math span the response ends with (only punctuation may follow it)."""
    tail = text.rstrip().rstrip(".!,;:*").rstrip()
    for opener, closer in (("$$", "$$"), ("$", "$"), (r"\[", r"\]"), (r"\(", r"\)")):
        if tail.endswith(closer) and len(tail) > len(closer):
            start = tail.rfind(opener, 0, len(tail) - len(closer))
            if start < 0:
                return None
            inner = tail[start + len(opener) : len(tail) - len(closer)].strip()
            return inner or None
    return None


_TRAILING_JUNK_RE = re.compile(r"(?:\s*(?:<\|[a-z_]+\|>\s*\w*|I hope it is correct\.?))+\s*$", re.I)


def extract_math_answer(text: str | None, strict: bool = True) -> str | None:
    """The final answer string a response commits to, or None.

    ``strict`` (for model responses) also refuses boxes that are part of a larger expression, denied
    or questioned statements and answers taken back afterwards; a gold solution is read without it."""
    if not text or not text.strip():
        return None
    cut = max(0, len(text) - 400)  # the junk pattern is anchored at the end: scan only the tail
    tail = text[cut:]
    if "<|" in tail or "hope" in tail.lower():
        text = text[:cut] + _TRAILING_JUNK_RE.sub("", tail)
    boxes = [b for b in find_boxes(text) if b[2].strip()] if "box" in text else []
    # Only a phrase after the last box can override it, so scan from there (long responses).
    phrase = _answer_phrase(text, boxes[-1][1] + 1 if boxes else 0)
    if boxes and not (phrase and phrase[0] > boxes[-1][1]):
        if strict and (not _box_stands_alone(text, boxes[-1]) or _RETRACTION_RE.search(text[boxes[-1][1] :])):
            return None  # $-\boxed{6}$, $\boxed{6}^2$, "not $\boxed{6}$", "... Actually, the answer is 7"
        answer = _last_boxed(text)
    elif phrase:
        if strict and _RETRACTION_RE.search(text[phrase[0] + 10 :]):
            return None  # "The answer is 6. No wait, 7."
        answer = phrase[1]
    elif gsm := _gsm_line(text):
        answer = gsm
    elif strict and _REJECTION_RE.search(re.sub(r"\$[^$]*\$", " ", _last_sentence(text))):
        return None  # the closing sentence denies, questions or conditions what it states
    else:
        answer = _conclusion(text) or _trailing_math(text)
    if answer is None or not answer.strip():
        return None
    return answer.strip()[:_MAX_ANSWER_CHARS]


def _last_sentence(text: str) -> str:
    body = text.rstrip().rstrip(".!").rstrip()
    body = re.sub(r"\$[^$]*\$", lambda m: m.group(0).replace(".", " "), body[-600:])
    cut = max(body.rfind(". "), body.rfind("! "), body.rfind("\n"))
    return body[cut + 1 :]


# After a committed answer, words that take it back: the response ends uncommitted.
_RETRACTION_RE = re.compile(
    r"(?i)\b(?:no,? wait|wait,|correction:|i made a mistake|i made an error|that(?:'s| is) (?:wrong|incorrect|not right)|"
    r"on second thought|scratch that|upon reflection|oops|i miscount\w*|just kidding|"
    r"(?:correct|right|actual|real) (?:final )?(?:answer|value) (?:is|should be)|the answer should (?:be|have been)|"
    r"(?:so|the answer is) (?:actually|therefore|instead)\s+\$?-?\d)")


# What is said of the answer right after it, denying it: "$\\boxed{606}$ is false", "..., which is not correct",
# "is a lower bound", "was my first guess", "doesn't work", "\u2717". An explanatory clause ("(not counting ...)",
# ", not 2", "which is the only value") is not a denial.
_AFTER_BOX_DENIAL_RE = re.compile(
    r"(?i)^[\s.,;:)\]$]*(?:(?:which|this|it|that)\s+)?(?:is|was|would be|are|seems)\s+(?:not\b|false|invalid|extraneous|"
    r"rejected|wrong|incorrect|impossible|too (?:large|small|big)|(?:only\s+)?an?\s+(?:lower|upper) bound|"
    r"(?:my|a|the|our)\s+(?:first\s+|initial\s+)?guess|a mistake)"
    r"|^[\s.,;:)\]$]*(?:(?:which|this|it|that)\s+)?(?:doesn't|does not|can't|cannot|won't|will not)\s+(?:work|be\b)"
    r"|^[\s.,;:)\]$]*(?:which is false|a contradiction|\(?incorrect\)?|\u2014\s*false|-+\s*false)"
    r"|^[\s.,;:)\]$]*[\u2717\u2718\u274c]")


def _box_stands_alone(text: str, box: tuple[int, int, str]) -> bool:
    """The box is the answer, not a part of one: nothing that operates on it sits beside it
    ('-\\boxed{6}', '2\\boxed{6}', '\\boxed{6}^2', '\\boxed{6}.5', '\\frac{\\boxed{6}}{2}', '$\\boxed{6}$ thousand'),
    and its sentence does not deny it ('not $\\boxed{6}$')."""
    start, end, _ = box
    before = re.sub(r"(?:\\\(|\\\[|\$+|\\displaystyle|\s)+$", "", text[max(0, start - 200) : start])
    after = re.sub(r"^(?:\\\)|\\\]|\$+)", "", text[end : end + 160])
    prev = before[-1:]
    glued = text[max(0, start - 2) : start]
    if prev and (prev.isdigit() or prev in "-+/^_{(" or prev == "*" and not before.endswith("**")) or \
            re.match(r"\d\.$", glued) or re.search(r"\\(?:times|cdot|frac|sqrt|div|pm)\s*$", before):
        return False  # '-\\boxed{6}', '2\\boxed{6}', '0.\\boxed{5}'; a sentence's full stop or **Final Answer** is fine
    nxt = after.lstrip(" ")
    if after[:1].isalnum() or re.match(r"(?:[\^_+\-=*/<>|]|!\S|\.\d|\d|,\s*\d{3}|\\[,;!]\s*\d|\}\s*\{)", nxt):
        return False  # $\boxed{6}+1$, $\boxed{6}x$, $\boxed{6},000$: the box is part of a larger value
    if re.match(r"\\(?!\)|\]|quad|qquad|text|end|\\|hline|hfill|pmod|;|,\s*[^\d]|\s)[a-zA-Z]+", nxt):
        return False  # \times, \div, \bmod, \sqrt, \pi, \pm after the box
    if re.match(r"(?:\$|\\\)|\\\])*\s*(?:hundred|thousand|million|billion|trillion|times\s+\d|squared|cubed|plus|"
                r"minus|dozens?|tenths?|hundredths?|thousandths?|halves|thirds?|quarters?|over\s+\d|divided)\b", nxt, re.I):
        return False
    # "$\\boxed{606}$ is false", "..., which is not correct", "$\\boxed{6}$ was my first guess": a denial after it
    rest = re.split(r"(?<=[.!?])\s|\n", after, maxsplit=1)[0]
    if _AFTER_BOX_DENIAL_RE.search(rest):
        return False
    # "is not $\\boxed{6}$", "cannot be \\boxed{6}": a denial right before the box
    return not re.search(r"\b(?:not|isn't|cannot|can't|never|whether)(?:\s+(?:be|equal\s+to|equals?|is))?\s*$",
                         before, re.I)


def _gsm_line(text: str) -> str | None:
    m = _GSM_RE.search(text.rstrip()[-2000:])
    return m.group(1).strip() if m else None


def gold_answer(gold: str) -> str:
    """A gold answer, or the final answer of a gold *solution* (MATH, GSM8K)."""
    g = gold.strip()
    if "\\boxed" in g or "\\fbox" in g:
        boxes = [b for b in find_boxes(g) if b[2].strip()]
        if len(boxes) > 1 and "\n" not in g and len(g) <= 300 and all(
                _joins_parts(g[a[1] : b[0]]) for a, b in zip(boxes, boxes[1:])):
            # A short gold with several boxes ("\\boxed{1} papers and \\boxed{2} bins") is one
            # multi-part answer; a gold *solution* keeps the last box group.
            return ", ".join(dict.fromkeys(b[2].strip() for b in boxes))  # the same box twice is one answer
        boxed = _last_boxed(g)
        if boxed:
            return boxed
        m = _OPEN_BOX_RE.search(g)
        if m and not boxes:  # a gold whose box was never closed: the rest is the answer
            return g[m.end() :].strip()
    if "####" in g:
        return g.rsplit("####", 1)[1].strip()
    if "\n" in g or len(g) > 120:
        found = extract_math_answer(g, strict=False)
        if found:
            return found
    return g


def _joins_parts(gap: str) -> bool:
    """Text between two boxes of one answer: only symbols, or a connective (and, or, comma)."""
    return not re.search(r"[A-Za-z]", gap) or bool(re.search(r"\band\b|\bor\b|[,;&]", gap))


_OPEN_BOX_RE = re.compile(r"\\+(?:boxed|fbox)\s*\{")
_GLUED_CONNECTIVE_RE = re.compile(r"(?<=[\d)}\]])(?:or|and)(?=[A-Z(\[{\\-]|\d)")


def looks_like_bare_answer(text: str) -> bool:
    """Is the whole (short, one-line) text itself an answer rather than prose?"""
    t = text.strip()
    if not t or "\n" in t or len(t) > 200 or "\\boxed" in t or "\\fbox" in t:
        return False
    t = _GLUED_CONNECTIVE_RE.sub(" or ", t)
    no_cmds = re.sub(r"\\[a-zA-Z]+(?:\{[^{}]*\})?|\b[A-Za-z][A-Za-z ]{0,20}\d?\s*[:=]", " ", t)  # commands, labels
    words = [w for w in re.findall(r"[A-Za-z]{3,}", no_cmds) if w.lower() not in _BARE_OK]
    return not words


_BARE_OK = {"and", "or", "pct", "sqrt", "frac", "pi", "infty", "percent", "dollars", "cents", "degrees", "units", "cm",
            "sin", "cos", "tan", "log", "exp", "arcsin", "arccos", "arctan", "pmatrix", "bmatrix"}
