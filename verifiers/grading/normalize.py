"""String-level normalization of an extracted answer, before any parsing.

Pure string work (no sympy): it runs in the calling process, so the fast
paths (identical strings, plain numbers) never pay for a worker round trip.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Unicode that models write in place of LaTeX.
_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00d7": r"\times ", "\u22c5": r"\cdot ", "\u00b7": r"\cdot ", "\u00f7": r"\div ",
    "\u2264": r"\le ", "\u2265": r"\ge ", "\u2260": r"\ne ", "\u2248": r"\approx ",
    "\u221a": r"\sqrt ", "\u03c0": r"\pi ", "\u221e": r"\infty ", "\u222a": r"\cup ",
    "\u2229": r"\cap ", "\u00b1": r"\pm ", "\u2208": r"\in ", "\u00b0": r"^\circ ",
    "\u00bd": r" \frac{1}{2}", "\u2153": r" \frac{1}{3}", "\u2154": r" \frac{2}{3}", "\u00bc": r" \frac{1}{4}",
    "\u00be": r" \frac{3}{4}", "\u215b": r" \frac{1}{8}",  # after a digit: a mixed number (1\u00bd is 3/2)
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "\u2308": r"\lceil ", "\u2309": r"\rceil ", "\u230a": r"\lfloor ", "\u230b": r"\rfloor ",
    "\uff1e": ">", "\uff1c": "<", "\uff1d": "=", "\uff0c": ",", "\uff08": "(", "\uff09": ")", "\u2200": r"\forall ",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_SUPERSCRIPTS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b", "0123456789-")
_SUPERSCRIPT_RUN_RE = re.compile("[\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b]+")
_REPEATING_RE = re.compile(r"(?<![\d.])(-?)(\d*)\.(\d*)(?:\\overline\s*\{\s*(\d+)\s*\}|\\dot\s*\{?\s*(\d)\s*\}?|\((\d+)\))")


def _split_items(s: str) -> list[str]:
    """Top-level items of an answer: parts '(a) .. (b) ..', else commas outside brackets."""
    if len(_PART_LABEL_RE.findall(s)) >= 2 and _PART_LABEL_RE.match(s.strip()):
        return [x for x in _PART_LABEL_RE.split(s.strip())[2::2]]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth == 0:
            items.append(s[start:i])
            start = i + 1
    return items + [s[start:]]


_PART_LABEL_RE = re.compile(
    r"(?:\\text(?:bf|rm)?\s*\{\s*)?\(\s*([a-hA-H]|i{1,3}|iv|vi{0,3}|I{1,3}|IV|VI{0,3}|[1-9])\s*\)\s*\}?\s*(?::|\\:)?\s*")


def _parts(s: str) -> str:
    """'(a) 3 (b) 5' -> 'part_a: 3, part_b: 5': answers to the parts of a question, compared by part."""
    labels = _PART_LABEL_RE.findall(s)
    if len(labels) < 2 or not _PART_LABEL_RE.match(s.strip()):
        return s
    pieces = _PART_LABEL_RE.split(s.strip())[1:]  # label, content, label, content, ...
    parts = []
    for label, content in zip(pieces[::2], pieces[1::2]):
        content = re.sub(r"^(?:\\[,;: ]|\\q?quad|~|\s|,)+|(?:\\[,;: ]|\\q?quad|~|\s|[,;])+$", "", content)
        if "," in content:
            content = "\\{" + content + "\\}"  # a part answered with a list: its own unordered set
        parts.append(f"part_{{{label.lower()}}}: {content}")
    return ", ".join(parts)


_BASED_RE = re.compile(r"(?<![\w\\])(?:\\text\s*\{\s*([0-9A-Za-z]+)\s*\}|([0-9A-Za-z]+))_\s*\{?\s*(\d{1,2})\s*\}?")
_PREFIXED_RE = re.compile(r"(?<![\w.])0([xXbBoO])([0-9A-Fa-f]+)\b")


def _based_numbers(s: str) -> str:
    """'3B7_{16}' -> '951', '0x1F' -> '31': numbers in other bases, exactly; a digit the base does not
    have leaves the answer outside the grammar (undecided), never a product of letters."""
    def prefixed(m: re.Match) -> str:
        base = {"x": 16, "b": 2, "o": 8}[m.group(1).lower()]
        try:
            return str(int(m.group(2), base))
        except ValueError:
            return r"\invalidnumber"

    def based(m: re.Match) -> str:
        digits, base = m.group(1) or m.group(2), int(m.group(3))
        if not 2 <= base <= 36 or len(digits) < 2 or not re.search(r"\d", digits) and not (
                base > 10 and digits.isupper()):
            return m.group(0)  # a_1, x_{12}, AB_{3}: a subscripted name
        try:
            return str(int(digits, base))
        except ValueError:
            return r"\invalidnumber" if re.search(r"\d", digits) else m.group(0)

    s = _PREFIXED_RE.sub(prefixed, s)
    return _BASED_RE.sub(based, s) if "_" in s else s


_PERCENT_NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)\s*\\?%")


def _percent_inside(s: str) -> str:
    """'\\frac{50}{8\\%}', '\\sqrt{9\\%}': a percent inside an expression is the number over 100, exactly.
    A percent on a whole value ('50\\%', '50\\%, 30\\%') keeps its meaning (p% equals p and p/100)."""
    if "%" not in s or re.fullmatch(r"\s*-?\d+(?:\.\d+)?\s*\\?%\s*(?:,\s*-?\d+(?:\.\d+)?\s*\\?%\s*)*", s):
        return s
    if not re.search(r"\\(?:frac|div|sqrt|times|cdot)|[/^*()]", s):
        return s
    return _PERCENT_NUMBER_RE.sub(r"(\1/100)", s)


def _repeating_decimals(s: str) -> str:
    """0.1\\overline{6} -> \\frac{1}{6}; 0.1(6) is the same notation, never 0.1 times 6."""
    from fractions import Fraction

    def exact(m: re.Match) -> str:
        sign, whole, fixed = m.group(1), m.group(2) or "0", m.group(3)
        rep = m.group(4) or m.group(5) or m.group(6)
        value = Fraction(int(whole + fixed), 10 ** len(fixed)) + Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"

    return _REPEATING_RE.sub(exact, s)

_SPACING_RE = re.compile(r"\\(?:[,;:! >]|q?quad|enspace|thinspace|medspace|thickspace)|~")
_DROP_COMMANDS_RE = re.compile(
    r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg|"
    r"middle|mathopen|mathclose|hfill|phantom\{[^{}]*\})(?![a-zA-Z])"
)
_LEFT_RIGHT_RE = re.compile(r"\\(?:left|right)(?![a-zA-Z])\s*(\.|\\\{|\\\}|\\lbrace|\\rbrace|\\langle|\\rangle|\\lvert|\\rvert|\\vert|\\\||[()\[\]|])?")
_DEGREES_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|\^\s*\{\s*\}|\bdegrees?\b")
_PERCENT_RE = re.compile(r"\\%|%|\bper\s*cent(?:age)?\b|\bpercent(?:age)?\b|\bpct\b")
_CURRENCY_RE = re.compile(r"\\\$|\$|\\euro|\u20ac|\u00a3|\u00a5|\bUSD\b|\bdollars?\b|\bcents?\b|\beuros?\b|\\text\{\s*(?:dollars?|USD)\s*\}")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|textit|textrm|texttt|textnormal|mathrm|mathbf|mathit|mathsf|mathtt|mathnormal|boldsymbol|bm|mbox|operatorname\*?)\s*\{([^{}]*)\}")
_UNIT_WORDS = (
    "cm|mm|km|m|meters?|metres?|centimeters?|millimeters?|kilometers?|inches|inch|in|feet|foot|ft|yards?|yd|miles?|mi|"
    "units?|sq|square|cubic|cu|kg|g|grams?|kilograms?|pounds?|lbs?|lb|ounces?|oz|liters?|litres?|l|ml|gallons?|"
    "seconds?|sec|s|minutes?|min|hours?|hrs?|h|days?|weeks?|months?|years?|mph|km/h|m/s|"
    "people|persons?|students?|apples?|cookies|eggs?|books?|marbles|ways|times|points?|items?|pieces?|boxes|"
    "cups?|pages?|cars?|tickets?|trees?|rows?|bags?|balls?|coins?|steps?|games?|questions?|hats?|pairs?|numbers?"
)
_UNIT_SUFFIX_RE = re.compile(r"(?<=[\d}.)])\s*(?:(?:square|sq\.?|cubic)\s+)?(?:" + _UNIT_WORDS + r")\.?(?:\s*\^\s*\{?[23]\}?)?\s*$", re.I)
_UNIT_BEFORE_COMMA_RE = re.compile(r"(?<=\d)\s+(?:" + _UNIT_WORDS + r")\.?(?:\s*\^\s*\{?[23]\}?)?(?=\s*[,}])", re.I)
# Words that are values or change the value: never stripped as a unit ("3 cubed", "7 tenths").
_VALUE_WORDS = re.compile(
    r"(?i)^(?:squared|cubed|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|halves|thirds?|quarters?|"
    r"\w+ths?|percent|percentage|infinity|infinite|inf|undefined|none|no|not|sqrt|pi|over|plus|minus|factorial|"
    r"and|or|to|for|where|when|if|with|is|are|of|only|exactly|at|least|most|more|less|than|each|per|every|all|"
    r"rad|rads|radians?|k|bn|mn|mil|lakhs?|crores?|arcmin|arcsec|tens|scores?|gross|grosses|grand|units? digits?)$")
# One letter after a number that scales it (39K, 2M, 5B): never a unit to strip.
# \text{...} after a value, followed by the end or a list separator: unit text ("5\text{ digits}",
# "40 \text{ chocolate candies}, 60 ..."). Words only; connectives and value words are kept.
_UNIT_TEXT_RE = re.compile(
    r"(?<=[\d}.)\]])(\s*)\\(?:text|textrm|mathrm|mbox|textit)\s*\{\s*([A-Za-z][A-Za-z .'-]{0,60}?)\s*\}"
    r"(?:\s*\^\s*\{?[23]\}?)?(?=\s*(?:$|[,;]|\\cr\b|\\quad|\\text\{\s*(?:and|or)\s*\}))")
# A trailing word after a plain number ("5 digits", "18 eggs"): stripped only when what remains is a number.
_TRAILING_WORDS_RE = re.compile(r"^([-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s+([A-Za-z][a-z]{2,}(?:[ -][a-z]{3,}){0,2})\.?$")
_ORDINAL_SUP_RE = re.compile(
    r"(?<=\d)\s*(?:\^\s*)?(?:\{\s*)?\\(?:mathrm|text|textrm|rm)\s*\{\s*(?:st|nd|rd|th)\s*\}(?:\s*\})?|(?<=\d)\s*\^\s*\{\s*(?:st|nd|rd|th)\s*\}")
_GROUP_COMMA_RE = re.compile(r"\s*\{\s*,\s*\}\s*")
# "or"/"and" glued between two items: after a digit or closing bracket, before a capital, bracket or sign.
_GLUED_CONNECTIVE_RE = re.compile(r"(?<=[\d)}\]])\s*(?:or|and)(?=[A-Z(\[{\\-]|\d)")
_THOUSANDS_RE = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d])")
_THOUSANDS_SPACE_RE = re.compile(r"^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$")
_PLAIN_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_LEAD_LABEL_RE = re.compile(
    r"^(?:(?:the\s+)?(?:final\s+)?answer\s*(?:is)?\s*[:=]?\s*|\\text\{\s*(?:final\s+)?answer\s*:?\s*\}\s*)", re.I
)


@dataclass(frozen=True)
class Normalized:
    """A normalized answer string plus what was stripped from it."""

    text: str
    percent: bool = False
    degrees: bool = False
    parameters: tuple[str, ...] = ()  # names declared arbitrary ("for some integer t", "k \\in \\mathbb{Z}")
    units: tuple[str, ...] = ()  # canonical units stripped from the value ("km", "$", "candy"): compared by the caller


def strip_math_delimiters(s: str) -> str:
    s = s.strip()
    for _ in range(3):
        before = s
        if s.startswith("$$") and s.endswith("$$") and len(s) >= 4:
            s = s[2:-2].strip()
        elif s.startswith("$") and s.endswith("$") and len(s) >= 2:
            s = s[1:-1].strip()
        elif (s.startswith(r"\[") and s.endswith(r"\]")) or (s.startswith(r"\(") and s.endswith(r"\)")):
            s = s[2:-2].strip()
        if s == before:
            break
    return s


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORD = {w: i for i, w in enumerate(_ONES)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_WORDED_NUMBER_RE = re.compile(
    r"^(" + "|".join(_TENS) + r")[ -](" + "|".join(_ONES[1:10]) + r")\b|^(" + "|".join(_ONES + _TENS) + r")\b", re.I)


def _number_words(s: str) -> str:
    """'twelve apples' -> '12 apples', 'forty-two' -> '42': a whole answer that is a number in words."""
    m = _WORDED_NUMBER_RE.match(s)
    if not m or "\\" in s or not re.fullmatch(r"[A-Za-z -]*", s) or len(s.split()) > 4:
        return s
    if m.group(1):
        value = _NUMBER_WORD[m.group(1).lower()] + _NUMBER_WORD[m.group(2).lower()]
    else:
        value = _NUMBER_WORD[m.group(3).lower()]
    return f"{value}{s[m.end():]}"


_UNIT_WORD_RE = re.compile(r"(?i)^(?:" + _UNIT_WORDS + r")\.?$")


def _is_unit_phrase(words: list[str]) -> bool:
    """'digits', 'chocolate candies', 'cm': a count noun (plural) or a known unit, after optional
    adjectives. 'below zero', 'BC', 'score', 'if n is even' change or qualify the value: kept."""
    if not words or any(_VALUE_WORDS.match(w.strip(".")) for w in words):
        return False
    last = words[-1].strip(".").lower()
    if last in _NUMBER_WORD or last.rstrip("s") in _NUMBER_WORD or last.endswith("es") and last[:-2] in _NUMBER_WORD:
        return False  # "three fours", "five sixes": a count of numbers, not a unit
    plural = len(last) >= 3 and last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return plural or bool(_UNIT_WORD_RE.match(last))


_SCALE = {"hundred": 10**2, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_SCALED_RE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:\\text\{\s*)?(hundred|thousand|million|billion|trillion)\s*\}?"
                        r"((?:\s+[a-z]+){0,3})$", re.I)


def _scale_words(s: str) -> str:
    """'5 hundred' -> '500', '1.2 million dollars' -> '1200000 dollars': a number times a scale word, exactly."""
    from decimal import Decimal, localcontext

    m = _SCALED_RE.match(s)
    if not m:
        return s
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(m.group(1)) * _SCALE[m.group(2).lower()]
    return format(value, "f") + m.group(3)


_UNIT_SYNONYMS = {}
for _canon, _names in {
    "m": "m meter meters metre metres", "cm": "cm centimeter centimeters centimetre centimetres",
    "mm": "mm millimeter millimeters", "km": "km kilometer kilometers kilometre kilometres",
    "in": "in inch inches", "ft": "ft foot feet", "yd": "yd yard yards", "mi": "mi mile miles",
    "s": "s sec secs second seconds", "min": "min mins minute minutes", "h": "h hr hrs hour hours",
    "day": "day days", "week": "week weeks", "month": "month months", "year": "year years",
    "g": "g gram grams", "kg": "kg kilogram kilograms", "lb": "lb lbs pound pounds", "oz": "oz ounce ounces",
    "l": "l liter liters litre litres", "ml": "ml milliliter milliliters", "gal": "gallon gallons",
    "$": "$ \\$ dollar dollars usd", "cent": "cent cents", "euro": "euro euros \u20ac \\euro", "pound-sterling": "\u00a3",
    "yen": "\u00a5", "mph": "mph", "km/h": "km/h", "m/s": "m/s", "sq": "sq square", "cu": "cu cubic",
}.items():
    for _name in _names.split():
        _UNIT_SYNONYMS[_name] = _canon
_UNITS_SEEN = __import__("threading").local()


def _record_unit(text: str) -> None:
    """Remember a stripped unit in canonical form; two answers with different units are not compared blind."""
    seen = getattr(_UNITS_SEEN, "units", None)
    if seen is None:
        return
    power = re.search(r"\^\s*\{?([23])", text)
    text = re.sub(r"\^\s*\{?[23]\}?", " ", text)
    words = re.sub(r"\\(?:text|mathrm|textrm|mbox)\s*\{|\}|\{|\.", " ", text).split()
    if not words:
        return
    head = words[-1].lower()
    canon = _UNIT_SYNONYMS.get(head) or _UNIT_SYNONYMS.get(words[-1]) or (head[:-3] + "y" if head.endswith("ies")
                                                                          else head.rstrip("s") or head)
    squared = " ".join(words[:-1]).lower() in ("square", "sq") and "^2" or " ".join(words[:-1]).lower() in (
        "cubic", "cu") and "^3" or ""
    unit = canon + (f"^{power.group(1)}" if power else squared)
    if not seen or seen[-1] != unit:
        seen.append(unit)  # in order: '5 km, 3 hours' is not '5 hours, 3 km'


def _drop_unit_text(match: re.Match) -> str:
    if _is_unit_phrase(match.group(2).split()):
        _record_unit(match.group(0))
        return " "
    return match.group(0)


def _is_numeric_text(s: str) -> bool:
    """No letters outside LaTeX commands: '5\\sqrt{2}', '(1, 2)', not '\\frac{3}{2}n'."""
    return not re.search(r"[A-Za-z]", re.sub(r"\\[a-zA-Z]+", "", s))


def _strip_unit_suffix(s: str) -> str:
    """'15 cm^2' -> '15'; a letter that may be a variable ('... + \\frac{1}{2}m') or a multiplier (39K) stays."""
    m = _UNIT_SUFFIX_RE.search(s)
    if m is None or m.group(0).strip() in ("M", "B", "G", "T", "K"):
        return s
    if len(m.group(0).strip().rstrip(".")) == 1 and not m.group(0)[:1].isspace():
        return s  # "5m", "\\frac{1}{2}m": a glued letter may be a variable; "5 m" is a unit
    stripped = s[: m.start()].strip()
    if stripped != s and _is_numeric_text(stripped):
        _record_unit(m.group(0))
        return stripped
    return s


def _unwrap_text(match: re.Match) -> str:
    inner = match.group(1).strip()
    if re.fullmatch(r"(?i)and|or|&", inner):
        return ","
    return " " + inner + " "


_CONTROL_ESCAPES = {"\x0c": "\\f", "\x08": "\\b", "\x07": "\\a", "\x0b": "\\v"}
_DOUBLED_COMMAND_RE = re.compile(
    r"\\\\(?=(?:frac|dfrac|tfrac|pi|sqrt|left|right|cdot|times|bigg|big|text|mathrm|circ|infty|leq?|geq?|sin|cos|tan|"
    r"log|ln)(?![a-zA-Z]))"
)
# "for some integer t", "where k is an integer", "k \\in \\mathbb{Z}": a name the answer declares arbitrary.
_DECLARED_RE = re.compile(
    r"(?:for\s+(?:some|all|any|every|each)\s+(?:(?:positive|negative|nonnegative|non-negative|real)\s+)?"
    r"(?:integers?|numbers?|reals?|constants?)\s*\}?\s*\$?\s*\\?([a-zA-Z]|ell)\b"
    r"|\b([a-zA-Z])\s*\\in\s*\\mathbb\s*\{?\s*[ZR]\b)")
# A declaration of the answer's names ("for all positive integers n", "where k is an integer"); conditions
# that change the value ("if n is even", "with remainder 3", "when x > 0") are kept.
_CONDITION_RE = re.compile(r"\\text\{\s*(?:for\s+(?:all|every|any|each|some)|where\s+[a-zA-Z]\s+(?:is|are|\\in)|"
                           r"such that\s+[a-zA-Z]\s+(?:is|\\in)|and\s+[a-z]+\s+is\s+(?:an?\s+)?(?:integer|constant|real))\b.*$",
                           re.I | re.S)
_ORDINAL_RE = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")


def repair_escapes(s: str) -> str:
    """Undo JSON damage: '\\frac' read as form feed + 'rac', doubled backslashes before commands."""
    for bad, good in _CONTROL_ESCAPES.items():
        s = s.replace(bad, good)
    s = re.sub(r"\t(?=(?:imes|ext|heta|an|frac|au)(?![a-z]))", r"\\t", s)
    s = re.sub(r"\r(?=(?:ight|ho|m)(?![a-z]))", r"\\r", s)
    return _DOUBLED_COMMAND_RE.sub(lambda m: "\\", s)


def normalize_answer(s: str) -> Normalized:
    """Canonical string form of one extracted answer (idempotent), with the units it stripped."""
    _UNITS_SEEN.units = []
    try:
        result = _normalize(s)
        units = tuple(_UNITS_SEEN.units)
        if len(units) > 1:  # several items: each item's units, in the order the items are written
            items = _split_items(s)
            if len(items) > 1:
                per_item = []
                for item in items:
                    _UNITS_SEEN.units = []
                    _normalize(item)
                    per_item.append("+".join(_UNITS_SEEN.units))
                units = tuple(per_item)
    finally:
        _UNITS_SEEN.units = None
    return Normalized(result.text, result.percent, result.degrees, result.parameters, units)


def _normalize(s: str) -> Normalized:
    s = repair_escapes(s)
    if re.search(r"\\\$|\\text\{\s*\$|\bUSD\b|\bdollars?\b", s):
        _record_unit("$")  # an escaped \$ is currency; a bare $ is a math delimiter
    s = _SUPERSCRIPT_RUN_RE.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPTS) + "}", s)  # x\u00b2\u00b3 is x^{23}
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s)
    s = _repeating_decimals(s)
    if re.search(r"\\frac\s*\{\s*d\s*[a-zA-Z]?\s*\}\s*\{\s*d\s*[a-zA-Z]\s*\}|(?<![a-zA-Z])d\s*/\s*d[a-zA-Z]\b", s):
        s = s + r" \derivative"  # d/dx is an operator, not a fraction: outside the grammar (undecided)
    s = s.replace("\\\\", r" \cr ")  # row separator; must not read as the spacing command "\ "
    s = strip_math_delimiters(s)
    s = s.replace("$", " $ ").strip()
    s = _LEAD_LABEL_RE.sub("", s)
    s = _parts(s)
    s = _based_numbers(s)
    s = _percent_inside(s)
    s = re.sub(r"<sup>(.{1,40}?)</sup>", r"^{\1}", s)  # HTML superscripts: 3<sup>x</sup>
    s = re.sub(r"<sub>(.{1,40}?)</sub>", r"_{\1}", s)
    parameters = tuple(sorted({a or b for a, b in _DECLARED_RE.findall(s)}))
    s = re.sub(r"(?:,|;|\\text\{\s*(?:for|where|with)\s*\})?\s*[a-zA-Z]\s*\\in\s*\\mathbb\s*\{?\s*[ZN]\s*\}?\s*\.?\s*$",
               "", s)  # "x = k\\pi, k \\in \\mathbb{Z}": the declaration is not part of the value
    s = _CONDITION_RE.sub("", s)  # "(n, 1) \\text{ for all positive integers } n"
    s = _ORDINAL_SUP_RE.sub("", s)  # 12^{\mathrm{th}}, 3^{rd}, 21\text{st}
    s = _ORDINAL_RE.sub("", s)
    s = re.sub(r"(?<![\d\\])\.(?=\s*[\])}])", "", s)  # "\\sqrt{2}.]"
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\[dt]binom", r"\\binom", s)
    s = s.replace(r"\lbrace", r"\{").replace(r"\rbrace", r"\}")
    s = _LEFT_RIGHT_RE.sub(lambda m: m.group(1) if m.group(1) and m.group(1) != "." else "", s)
    s = re.sub(r"\\[lr]?vert|\\mid(?![a-z])", "|", s)
    s = s.replace(r"\lt", "<").replace(r"\gt", ">").replace(r"\leqslant", r"\le").replace(r"\geqslant", r"\ge")
    s = re.sub(r"\\(le|ge|ne)q(?![a-zA-Z])", r"\\\1", s)
    s = re.sub(r"\\(?:cupdot|sqcup|uplus)(?![a-zA-Z])", r"\\cup ", s)  # disjoint unions are unions
    s = re.sub(r",\\!\s*", ",", s)  # 11,\!111 is a thousands separator, not a list
    s = re.sub(r"\\(?:ldots|cdots|dots[bcmio]?|dotsc)(?![a-zA-Z])|\.{3,}|\u2026", r" \\ldots ", s)  # an ellipsis:
    # "1, 2, 3, \ldots" is endless, "5..." is not 5; kept, so only the same text matches it
    s = _SPACING_RE.sub(" ", s)
    s = _DROP_COMMANDS_RE.sub("", s)
    s = _GROUP_COMMA_RE.sub(",", s).replace("{.}", ".")  # 10{,}000 and the spaced 14 {, }916
    s = _GLUED_CONNECTIVE_RE.sub(" or ", s)  # "W(x)=1orW(x)=-1": a list written without spaces
    if re.search(r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])", s):
        # \sin 30^\circ: a degree sign inside a function is pi/180, never dropped
        s = re.sub(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|"
                   r"\\text\s*\{\s*degrees?\s*\}|\bdegrees?\b|\bdeg\b)", r"(\1\\pi/180)", s)
    if re.search(r"[<>]|\\[lg]e\b", s) and re.search(r"\\text\{\s*and\s*\}|\band\b", s):
        s = re.sub(r"\\text\{\s*and\s*\}|\band\b", r" \\land ", s)  # x > 1 and x < 5 is not a list
    degrees = bool(_DEGREES_RE.search(s))
    if degrees:
        _record_unit("deg")
    s = _DEGREES_RE.sub(" ", s)
    percent = bool(_PERCENT_RE.search(s))
    if percent:
        _record_unit("%")
    s = _PERCENT_RE.sub(" ", s)
    s = _CURRENCY_RE.sub(lambda m: (m.group(0).strip() != "$" and _record_unit(m.group(0).strip())) or " ", s)
    s = _UNIT_TEXT_RE.sub(_drop_unit_text, s)
    for _ in range(3):
        s = _TEXT_CMD_RE.sub(_unwrap_text, s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"(?i)^(?:only|exactly|just)\s+(?=[\w\\(\[{-])", "", s)  # "only x=0"
    # Trailing punctuation and unit words after a number ("15 cm^2", "18 eggs.").
    s = _number_words(s)
    s = _scale_words(s)
    for _ in range(3):
        s = re.sub(r"(?:\s|\\\\)*(?:[.,;:?]|(?<![\w)}\]!])!)+$", "", s).strip()  # "5!" is a factorial
        s = _strip_unit_suffix(s)
        m = _TRAILING_WORDS_RE.match(s)
        if m and _is_unit_phrase(re.split(r"[ -]", m.group(2))):
            _record_unit(m.group(2))
            s = m.group(1)
    if "," in s:  # units after each item of a list: "35 cm, 4 cm"
        s = _UNIT_BEFORE_COMMA_RE.sub(lambda m: _record_unit(m.group(0)) or "", s)
    s = strip_math_delimiters(s)
    if re.fullmatch(r"\{[^{}]*\}", s) and "," not in s:
        s = s[1:-1].strip()
    # Thousands separators: "10,000", "1,234,567.5", "1 000"; a lone "1,200" inside a tuple stays a tuple.
    if re.fullmatch(r"-?0,\d+|-?\d{4,},\d{1,2}", s):  # decimal comma: 0,111 and 1000,99
        s = s.replace(",", ".")
    if _THOUSANDS_SPACE_RE.match(s):
        s = s.replace(" ", "")
    stripped = s.replace(",", "")
    if _THOUSANDS_RE.fullmatch(s.split(".")[0].lstrip("+-")) and _PLAIN_NUMBER_RE.match(stripped):
        s = stripped
    else:
        s = re.sub(r"(?<![\d.])\d{1,3}(?:,\d{3}){2,}(?![\d])", _ungroup_outside_brackets, s)
    s = re.sub(r"\s*([=<>+*/^_(){}\[\],-])\s*", r"\1", s)
    s = re.sub(r",(?:\s*,)+", ",", s)  # "19, 46, \text{and} 82"
    if _PLAIN_NUMBER_RE.match(s):
        s = canonical_number(s)
    return Normalized(s, percent, degrees, parameters)


def _ungroup_outside_brackets(m: re.Match) -> str:
    """'1,234,567' is one number at the top level; inside (), [] or \\{\\} commas separate items."""
    before = m.string[: m.start()]
    depth = before.count("(") + before.count("[") + before.count("\\{") - before.count(")") - before.count("]") \
        - before.count("\\}")
    return m.group(0) if depth > 0 else m.group(0).replace(",", "")


def list_reading(s: str) -> str | None:
    """The answer read with every comma as a list separator ('312,123,231' as three numbers), when
    normalization read some commas as thousands separators; None when there is no such comma."""
    raw = strip_math_delimiters(s.strip())
    if not re.search(r"\d,\d{3}(?!\d)", raw):
        return None
    return ", ".join(part.strip() for part in raw.split(","))  # spaced: never read as thousands


def written_places(q) -> int:
    """Decimal places of a terminating rational (Fraction or sympy Rational) without trailing zeros
    (0.3125 -> 4); 40 when it has more or does not terminate."""
    for k in range(40):
        if (q * 10**k).denominator == 1:
            return k
    return 40


def canonical_number(s: str) -> str:
    """'+007.50' -> '7.5'; '-0' -> '0'. Keeps exactness (no float round trip)."""
    s = s.lstrip("+")
    sign = ""
    if s.startswith("-"):
        sign, s = "-", s[1:]
    if "e" in s.lower():
        return sign + s.lower()
    if "." in s:
        whole, frac = s.split(".", 1)
        # trailing zeros are kept: they are written places (0.3333330 is not 1/3 to 7 places)
        whole = whole.lstrip("0") or "0"
        s = whole + ("." + frac if frac else "")
    else:
        s = s.lstrip("0") or "0"
    return "" + s if s == "0" else sign + s


def is_plain_number(s: str) -> bool:
    return bool(_PLAIN_NUMBER_RE.match(s))
