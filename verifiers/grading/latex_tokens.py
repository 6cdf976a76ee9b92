"""Tokens, answer structures and size guards for the LaTeX answer parser (see ``latex_parse``).

Everything model text can turn into is built here by direct constructor calls on tokens the
whitelist regex accepted; the guards refuse values that would be unbounded in time or memory
to build (``9^{9^{9^{9}}}``, ``100000!``) by raising :class:`TooLarge`.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field

import sympy as sp

MAX_TOKENS = 3000
MAX_DEPTH = 150
MAX_NUMBER_DIGITS = 400
MAX_RESULT_DIGITS = 20000
MAX_FACTORIAL = 3000
MAX_ALTERNATIVES = 16


class ParseError(ValueError):
    """The text is not in the grammar."""


class TooLarge(ParseError):
    """Building the value would be unbounded in time or memory."""


@dataclass
class Seq:
    """A top-level answer list ("1, 2", "x=1 and y=2"): unordered when compared."""
    items: list


@dataclass
class Tup:
    """A bracketed group with 2+ items: tuple, open/closed interval, or vector."""
    items: list
    left: str
    right: str


@dataclass
class SetOf:
    items: list


@dataclass
class Matrix:
    rows: list


@dataclass
class Rel:
    """A relation chain: exprs[0] ops[0] exprs[1] ops[1] ... (ops: = < > <= >= != in :)."""
    exprs: list
    ops: list


@dataclass
class Union:
    parts: list
    op: str = "cup"


@dataclass
class Multi:
    """Alternatives from plus-minus: 1 \\pm 2 -> [3, -1]."""
    items: list = field(default_factory=list)


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}\\|%,;!])|(?P<word>[a-zA-Z]+)"
    r"|(?P<op><=|>=|!=|==|\*\*|[-+*/^_!()\[\]{},;=<>|:'&.]))"
)
_RELOPS = {"=": "=", "==": "=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "!=": "!=", r"\le": "<=",
           r"\leq": "<=", r"\ge": ">=", r"\geq": ">=", r"\ne": "!=", r"\neq": "!=", r"\approx": "approx",
           r"\in": "in", ":": ":", r"\equiv": "=", r"\Rightarrow": "=", r"\implies": "=", r"\to": "to",
           r"\rightarrow": "to", r"\sim": "=", r"\land": "and"}
_FUNCS = {"sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
          "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
          "tanh": sp.tanh, "ln": sp.log, "log": sp.log, "exp": sp.exp, "sqrt": sp.sqrt, "abs": sp.Abs,
          "lg": lambda x: sp.log(x, 10), "asin": sp.asin, "acos": sp.acos, "atan": sp.atan}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
          "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
          "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega"}
_FUNCTION_LETTERS = {"f", "g", "h", "F", "G", "H", "P", "Q", "p", "q"}
_WRAPPERS = {r"\overline", r"\vec", r"\hat", r"\bar", r"\tilde", r"\mathbb", r"\mathcal", r"\widehat",
             r"\overrightarrow", r"\mathbf", r"\mathrm", r"\text", r"\mathit", r"\boldsymbol", r"\textbf",
             r"\operatorname", r"\boxed", r"\fbox"}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "matrix", "vmatrix", "Vmatrix", "Bmatrix", "smallmatrix", "array"}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ParseError(f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise TooLarge("too many tokens")
    return tokens


def _number(text: str) -> sp.Expr:
    if len(text) > MAX_NUMBER_DIGITS:
        raise TooLarge("number literal too long")
    if "." not in text:
        return sp.Integer(int(text))
    value = sp.Rational(text)
    seen = getattr(_LAZY, "decimals", None)
    if seen is not None:
        seen.add(value)  # the caller asked which values were written as decimals
    return value


class collect_decimals:
    """Within this block, every decimal literal parsed is added to the returned set."""

    def __enter__(self) -> set:
        _LAZY.decimals = set()
        return _LAZY.decimals

    def __exit__(self, *exc):
        _LAZY.decimals = None


def _digits(value: sp.Expr) -> float:
    """log10 of |value| for exact numbers (0 for anything else)."""
    if value.is_Integer:
        return len(str(abs(int(value))))
    if value.is_Rational:
        return max(_digits(sp.Integer(value.p)), _digits(sp.Integer(value.q)))
    return 0.0


@dataclass(frozen=True)
class Tower:
    """base^exp for an integer base > 1 whose value is too large to build (lazy parsing only).

    ``exp`` is a nonzero Integer or another Tower. Compared by structure in ``compare``.
    """
    base: int
    exp: object


_LAZY = threading.local()


class lazy_towers:
    """Within this block, powers too large to build become ``Tower`` values instead of raising."""

    def __enter__(self):
        _LAZY.on = True

    def __exit__(self, *exc):
        _LAZY.on = False


def _tower_or_raise(base, exp, why: str):
    if getattr(_LAZY, "on", False) and isinstance(base, sp.Expr) and base.is_Integer and base > 1 and (
            isinstance(exp, Tower) or isinstance(exp, sp.Expr) and exp.is_Integer and exp != 0):
        return Tower(int(base), exp if isinstance(exp, Tower) else int(exp))
    raise TooLarge(why)


def guarded_pow(base, exp):
    if isinstance(exp, Tower) or isinstance(base, Tower):
        return _tower_or_raise(base, exp, "power too large")
    if isinstance(exp, sp.Expr) and exp.is_Number and isinstance(base, sp.Expr):
        if base.is_Number:
            if abs(base) not in (0, 1):
                size = abs(float(exp)) * max(math.log10(max(abs(float(base)), 1e-300)), 1e-3) if abs(exp) < 10**9 else math.inf
                if size > MAX_RESULT_DIGITS or abs(exp) > 10**6:
                    return _tower_or_raise(base, exp, "power too large")
        elif abs(exp) > 10**5:
            raise TooLarge("exponent too large")
    if isinstance(base, sp.Expr) and base.is_Number and not (isinstance(exp, sp.Expr) and exp.is_Number):
        # A symbolic exponent over a huge base is fine to keep unevaluated.
        return sp.Pow(base, exp, evaluate=False) if _digits(base) > MAX_RESULT_DIGITS else sp.Pow(base, exp)
    return sp.Pow(base, exp)


def guarded_factorial(n):
    if n.is_Number and abs(n) > MAX_FACTORIAL:
        raise TooLarge("factorial too large")
    return sp.factorial(n)


def _map2(a, b, fn):
    if fn is guarded_pow and (isinstance(a, Tower) or isinstance(b, Tower)):
        return fn(a, b)
    if isinstance(a, Multi) or isinstance(b, Multi):
        xs = a.items if isinstance(a, Multi) else [a]
        ys = b.items if isinstance(b, Multi) else [b]
        out = [fn(x, y) for x in xs for y in ys]
        if len(out) > MAX_ALTERNATIVES:
            raise TooLarge("too many plus-minus alternatives")
        return Multi(out)
    if not isinstance(a, sp.Basic) or not isinstance(b, sp.Basic):
        raise ParseError("arithmetic on a non-expression")
    return fn(a, b)


def _map1(a, fn):
    if isinstance(a, Multi):
        return Multi([fn(x) for x in a.items])
    if not isinstance(a, sp.Basic):
        raise ParseError("function of a non-expression")
    return fn(a)



def _label_value(node):
    if isinstance(node, Rel) and node.ops == ["="] and isinstance(node.exprs[0], sp.Symbol):
        return node.exprs[1]
    return node


def _finish(node):
    if isinstance(node, Multi):
        return Seq(node.items)
    return node

