"""A whitelist tokenizer and recursive-descent parser: normalized answer text -> sympy objects.

Model text never reaches ``eval``/``exec``/``sympify``/``parse_expr``: every token is
matched against a fixed grammar and every sympy object is built by a direct constructor
call. Size guards refuse what would take unbounded time or memory to build
(``9^{9^{9^{9}}}``, ``10**10**10**10``, ``100000!``): they raise :class:`TooLarge`.

Results are sympy expressions or the small structure classes below (answer lists, tuples,
sets, intervals, matrices, relations), which ``compare`` knows how to compare.
"""
from __future__ import annotations

import math
import re
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
           r"\rightarrow": "to", r"\sim": "="}
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
_MATRIX_ENVS = {"pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix", "array"}


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
    return sp.Integer(int(text)) if "." not in text else sp.Rational(text)


def _digits(value: sp.Expr) -> float:
    """log10 of |value| for exact numbers (0 for anything else)."""
    if value.is_Integer:
        return len(str(abs(int(value))))
    if value.is_Rational:
        return max(_digits(sp.Integer(value.p)), _digits(sp.Integer(value.q)))
    return 0.0


def guarded_pow(base, exp):
    if isinstance(exp, sp.Expr) and exp.is_Number and isinstance(base, sp.Expr):
        if base.is_Number:
            if abs(base) not in (0, 1):
                size = abs(float(exp)) * max(math.log10(max(abs(float(base)), 1e-300)), 1e-3) if abs(exp) < 10**9 else math.inf
                if size > MAX_RESULT_DIGITS or abs(exp) > 10**6:
                    raise TooLarge("power too large")
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


class Parser:
    def __init__(self, text: str):
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.next()
        if tok[1] != value:
            raise ParseError(f"expected {value!r}, got {tok[1]!r}")

    def at(self, *values: str) -> bool:
        return self.peek()[1] in values

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooLarge("nesting too deep")

    # -- grammar -------------------------------------------------------------------------
    def parse(self):
        groups = self._semicolon_groups()
        if groups is not None:
            return groups
        items = self.parse_list(("end",))
        if self.peek()[0] != "end":
            raise ParseError(f"unexpected {self.peek()[1]!r}")
        return _finish(items[0]) if len(items) == 1 else Seq([_finish(x) for x in items])

    def _semicolon_groups(self):
        """'p=5,q=2; p=7,q=2' lists two solutions (5, 2) and (7, 2)."""
        depth, cuts = 0, []
        for j, (_, val) in enumerate(self.toks):
            depth += (val in ("(", "[", "{", r"\{")) - (val in (")", "]", "}", r"\}"))
            if depth == 0 and val == ";":
                cuts.append(j)
        if not cuts or not any(v == "," for _, v in self.toks):
            return None
        groups, start = [], 0
        for end in cuts + [len(self.toks)]:
            sub = Parser.__new__(Parser)
            sub.toks, sub.i, sub.depth = self.toks[start:end], 0, 0
            items = sub.parse_list(("end",))
            if sub.peek()[0] != "end":
                raise ParseError("unexpected token in a solution group")
            groups.append(Tup([_label_value(x) for x in items], "(", ")") if len(items) > 1 else _finish(items[0]))
            start = end + 1
        return Seq(groups)

    def parse_list(self, closers) -> list:
        items = [self.parse_relation()]
        while self.at(",", ";", r"\cr") or (self.peek()[0] == "word" and self.peek()[1] in ("and", "or")):
            self.next()
            if self.peek()[1] in closers or self.peek()[0] in closers:
                break
            if self.peek()[0] == "word" and self.peek()[1] == "and":
                self.next()
            items.append(self.parse_relation())
        return items

    def parse_relation(self):
        exprs, ops = [self.parse_union()], []
        while self.peek()[1] in _RELOPS:
            ops.append(_RELOPS[self.next()[1]])
            exprs.append(self.parse_union())
        return exprs[0] if not ops else Rel(exprs, ops)

    def parse_union(self):
        parts = [self.parse_expr()]
        op = None
        while self.at(r"\cup", r"\cap", "U") :
            op = self.next()[1]
            parts.append(self.parse_expr())
        return parts[0] if len(parts) == 1 else Union(parts, "cap" if op == r"\cap" else "cup")

    def parse_expr(self):
        self.enter()
        node = self.parse_term()
        while self.at("+", "-", r"\pm", r"\mp"):
            op = self.next()[1]
            rhs = self.parse_term()
            if op == "+":
                node = _map2(node, rhs, lambda a, b: a + b)
            elif op == "-":
                node = _map2(node, rhs, lambda a, b: a - b)
            else:
                sign = 1 if op == r"\pm" else -1
                node = _map2(node, Multi([rhs, -rhs] if sign == 1 else [-rhs, rhs]) if isinstance(rhs, sp.Basic)
                             else rhs, lambda a, b: a + b)
        self.depth -= 1
        return node

    def _starts_atom(self) -> bool:
        kind, val = self.peek()
        if kind in ("num", "word"):
            return val not in ("and", "or", "U")
        if kind == "cmd":
            return val not in _RELOPS and val not in (r"\cdot", r"\times", r"\div", r"\pm", r"\mp", r"\cup",
                                                        r"\cap", r"\cr", r"\}", r"\end", r"\%", r"\,")
        return val in ("(", "{")

    def parse_term(self):
        node = self.parse_unary()
        while True:
            if self.at("*", r"\cdot", r"\times", "/", r"\div"):
                op = self.next()[1]
                rhs = self.parse_unary()
                node = _map2(node, rhs, (lambda a, b: a / b) if op in ("/", r"\div") else (lambda a, b: a * b))
            elif self._starts_atom():
                rhs = self.parse_power()
                node = _map2(node, rhs, lambda a, b: a * b)
            else:
                return node

    def parse_unary(self):
        if self.at("-"):
            self.next()
            return _map1(self.parse_unary(), lambda a: -a)
        if self.at("+"):
            self.next()
            return self.parse_unary()
        if self.at(r"\pm", r"\mp"):
            self.next()
            val = self.parse_unary()
            return Multi([val, -val]) if isinstance(val, sp.Basic) else val
        return self.parse_power()

    def parse_power(self):
        base = self.parse_postfix()
        if self.at("^", "**"):
            self.next()
            self.enter()
            if self.at("-"):
                self.next()
                exp = _map1(self.parse_power(), lambda a: -a)
            elif self.at("{"):
                exp = self.parse_postfix()
                if self.at("^", "**"):  # x^{a}^{b}
                    self.next()
                    exp = _map2(exp, self.parse_power(), guarded_pow)
            else:
                exp = self.parse_power()
            self.depth -= 1
            return _map2(base, exp, guarded_pow)
        return base

    def parse_postfix(self):
        node, raw = self.parse_primary()
        while True:
            if self.at("!"):
                self.next()
                node = _map1(node, guarded_factorial)
            elif self.at("'"):
                self.next()
                node = sp.Symbol(str(node) + "'") if isinstance(node, sp.Symbol) else node
            elif self.at("_"):
                self.next()
                sub = self.parse_subscript()
                if raw is not None and sub.isdigit() and 2 <= int(sub) <= 36:
                    try:
                        node = sp.Integer(int(raw, int(sub)))
                    except ValueError:
                        raise ParseError("digit out of range for base") from None
                elif isinstance(node, (sp.Symbol, sp.Function, sp.core.function.AppliedUndef)) or isinstance(node, sp.Basic):
                    node = sp.Symbol(f"{node}_{sub}")
                raw = None
            else:
                return node

    def parse_subscript(self) -> str:
        if self.at("{"):
            self.next()
            start = self.i
            depth = 1
            while depth:
                kind, val = self.next()
                if kind == "end":
                    raise ParseError("unbalanced subscript")
                depth += (val == "{") - (val == "}")
            return "".join(v for _, v in self.toks[start : self.i - 1])
        kind, val = self.next()
        if kind == "end":
            raise ParseError("empty subscript")
        if kind == "num" and len(val) > 1 and "." not in val:
            self.toks.insert(self.i, ("num", val[1:]))  # x_12 in LaTeX is x_1 2
            return val[0]
        return val

    def parse_arg(self):
        """One macro argument: {group}, or a single digit / letter / command."""
        kind, val = self.peek()
        if val == "{":
            self.next()
            inner = self.parse_group_body("}")
            return inner
        if kind == "num" and len(val) > 1:
            self.next()
            self.toks.insert(self.i, ("num", val[1:]))
            return sp.Integer(int(val[0])) if val[0] != "." else _number("0" + val[:2])
        if kind == "word" and len(val) > 1:
            self.next()
            self.toks.insert(self.i, ("word", val[1:]))
            return self.word_value(val[0])
        return self.parse_postfix()

    def parse_group_body(self, closer: str):
        self.enter()
        items = self.parse_list((closer,))
        self.expect(closer)
        self.depth -= 1
        if len(items) == 1:
            return items[0]
        return SetOf(items) if closer in ("}", r"\}") else Seq(items)

    def parse_primary(self):
        kind, val = self.next()
        if kind == "num":
            if "." not in val and self.peek() == ("cmd", r"\frac") and self._mixed_fraction_ahead():
                self.next()
                num, den = self.parse_arg(), self.parse_arg()
                return _number(val) + num / den, None  # 21\frac{13}{14} is a mixed number
            return _number(val), val
        if kind == "word":
            return self.parse_word(val), None
        if val in ("(", "["):
            self.enter()
            items = self.parse_list((")", "]"))
            closer = self.next()[1]
            if closer not in (")", "]"):
                raise ParseError("unbalanced bracket")
            self.depth -= 1
            if len(items) == 1 and val + closer in ("()", "[]"):
                return items[0], None
            return Tup(items, val, closer), None
        if val == "{":
            return self.parse_group_body("}"), None
        if val == r"\{":
            if self.at(r"\}"):
                self.next()
                return SetOf([]), None
            if self._set_builder_ahead():
                self.parse_expr()
                self.next()  # '|' or ':'
                cond = self.parse_list((r"\}",))
                self.expect(r"\}")
                return (cond[0] if len(cond) == 1 else Seq(cond)), None  # {x | x < 3} means x < 3
            body = self.parse_group_body(r"\}")
            return (body if isinstance(body, SetOf) else SetOf([body])), None
        if val == "|":
            inner = self.parse_expr()
            self.expect("|")
            return _map1(inner, sp.Abs), None
        if kind == "cmd":
            return self.parse_command(val), None
        raise ParseError(f"unexpected {val!r}")

    def _mixed_fraction_ahead(self) -> bool:
        toks = [v for _, v in self.toks[self.i + 1 : self.i + 7]]
        return (len(toks) >= 6 and toks[0] == "{" and toks[1].isdigit() and toks[2] == "}" and toks[3] == "{"
                and toks[4].isdigit() and toks[5] == "}" and int(toks[1]) < int(toks[4]))

    def _set_builder_ahead(self) -> bool:
        kind, _ = self.peek()
        return kind == "word" and self.peek(1)[1] in ("|", ":")

    def word_value(self, w: str):
        if w == "e":
            return sp.E
        if w == "i":
            return sp.I
        return sp.Symbol(w)

    def parse_word(self, w: str):
        if w in _FUNCS and self.at("(", "{", "^") or w in ("sqrt", "ln", "log", "sin", "cos", "tan") and self._starts_atom():
            return self.apply_function(w)
        if w in ("pi",):
            return sp.pi
        if w in ("oo", "inf", "infty", "infinity", "Infinity"):
            return sp.oo
        if len(w) == 1:
            if w in _FUNCTION_LETTERS and self.at("(") and self._call_like():
                self.next()
                args = self.parse_list((")",))
                self.expect(")")
                return sp.Function(w)(*[a for a in args if isinstance(a, sp.Basic)])
            return self.word_value(w)
        if len(w) >= 3:
            return sp.Symbol(w)
        # "xy" is x*y: push the letters back one by one.
        for ch in reversed(w[1:]):
            self.toks.insert(self.i, ("word", ch))
        return self.word_value(w[0])

    def _call_like(self) -> bool:
        """f(x) is a call when the parenthesis holds a short argument list of symbols/numbers."""
        depth, j = 0, self.i
        while j < len(self.toks) and j < self.i + 40:
            val = self.toks[j][1]
            depth += (val == "(") - (val == ")")
            if depth == 0:
                inner = self.toks[self.i + 1 : j]
                return 0 < len(inner) <= 9
            j += 1
        return False

    def apply_function(self, name: str):
        fn = _FUNCS[name]
        power = None
        if self.at("^"):
            self.next()
            power = self.parse_arg()
        if name == "log" and self.at("_"):
            self.next()
            base = self.parse_arg()
            arg = self.parse_fn_arg()
            val = _map2(arg, base, lambda a, b: sp.log(a, b))
        else:
            arg = self.parse_fn_arg()
            inverse = {"sin": sp.asin, "cos": sp.acos, "tan": sp.atan, "cot": sp.acot, "sec": sp.asec, "csc": sp.acsc}
            if power is not None and power == -1 and name in inverse:  # \tan^{-1} x is arctan
                return _map1(arg, inverse[name])
            val = _map1(arg, fn)
        return _map2(val, power, guarded_pow) if power is not None else val

    def parse_fn_arg(self):
        if self.at("("):
            self.next()
            inner = self.parse_expr()
            self.expect(")")
            return inner
        if self.at("{"):
            return self.parse_arg()
        return self.parse_power()

    def parse_command(self, cmd: str):
        name = cmd[1:]
        if name == "frac" or name == "cfrac":
            num, den = self.parse_arg(), self.parse_arg()
            return _map2(num, den, lambda a, b: a / b)
        if name == "binom":
            n, k = self.parse_arg(), self.parse_arg()
            if isinstance(n, sp.Basic) and n.is_Number and abs(n) > 10**5:
                raise TooLarge("binomial too large")
            return _map2(n, k, sp.binomial)
        if name == "sqrt":
            index = None
            if self.at("["):
                self.next()
                index = self.parse_expr()
                self.expect("]")
            arg = self.parse_arg()
            return _map1(arg, sp.sqrt) if index is None else _map2(arg, index, lambda a, b: sp.root(a, b))
        if name in _FUNCS:
            return self.apply_function(name)
        if name in ("sum", "prod"):
            return self.parse_big_operator(sp.Sum if name == "sum" else sp.Product)
        if name == "pi":
            return sp.pi
        if name == "infty" or name == "infin":
            return sp.oo
        if name in ("emptyset", "varnothing"):
            return SetOf([])
        if name in _GREEK:
            return sp.Symbol(name)
        if cmd in _WRAPPERS:
            if self.at("{"):
                self.next()
                start, depth = self.i, 1
                while depth:
                    kind, val = self.next()
                    if kind == "end":
                        raise ParseError("unbalanced braces")
                    depth += (val == "{") - (val == "}")
                words = "".join(v for _, v in self.toks[start : self.i - 1])
                if name in ("text", "mathrm", "textbf", "operatorname", "mathbf", "boxed", "fbox"):
                    sub = Parser(words).parse() if words else SetOf([])
                    return sub
                return sp.Symbol(f"{name}({words})")
            return self.parse_arg()
        if name == "begin":
            return self.parse_matrix()
        if name in ("mathrm", "operatorname"):
            return self.parse_arg()
        raise ParseError(f"unsupported command {cmd}")

    def parse_big_operator(self, kind):
        """\\sum_{k=0}^{n} body -> an unevaluated Sum/Product (never expanded here)."""
        self.expect("_")
        self.expect("{")
        bound = self.parse_relation()
        self.expect("}")
        if not (isinstance(bound, Rel) and bound.ops == ["="] and isinstance(bound.exprs[0], sp.Symbol)):
            raise ParseError("unsupported summation bounds")
        self.expect("^")
        upper = self.parse_arg()
        body = self.parse_term()
        if not all(isinstance(x, sp.Expr) for x in (bound.exprs[1], upper, body)):
            raise ParseError("unsupported summation")
        return kind(body, (bound.exprs[0], bound.exprs[1], upper))

    def parse_matrix(self):
        self.expect("{")
        env = self.next()[1]
        self.expect("}")
        if env not in _MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.at("{"):
            while not self.at("}"):
                if self.next()[0] == "end":
                    raise ParseError("unbalanced array spec")
            self.next()
        rows, row = [], []
        while True:
            if self.at(r"\end"):
                self.next()
                self.expect("{")
                self.next()
                self.expect("}")
                break
            if self.peek()[0] == "end":
                raise ParseError("unterminated matrix")
            row.append(_finish(self.parse_expr()))
            if self.at("&"):
                self.next()
            elif self.at(r"\cr"):
                self.next()
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        if all(isinstance(c, sp.Expr) for r in rows for c in r):
            return sp.ImmutableMatrix(rows)  # supports A + B, A B in answers
        return Matrix(rows)


def _label_value(node):
    if isinstance(node, Rel) and node.ops == ["="] and isinstance(node.exprs[0], sp.Symbol):
        return node.exprs[1]
    return node


def _finish(node):
    if isinstance(node, Multi):
        return Seq(node.items)
    return node


def parse_answer(text: str):
    """Parse one normalized answer string; raises ParseError / TooLarge."""
    if not text.strip():
        raise ParseError("empty answer")
    try:
        return Parser(text).parse()
    except RecursionError:
        raise TooLarge("nesting too deep") from None
