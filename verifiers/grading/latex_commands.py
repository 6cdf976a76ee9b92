"""Words, macros, functions, big operators and matrices: the command half of the parser.

``CommandsMixin`` is mixed into ``latex_parse.Parser``, which supplies the token helpers
(peek/next/at/expect) and the core grammar (parse_expr, parse_arg, ...). Kept apart so each
module stays small; nothing here evaluates text, it only dispatches on whitelisted names.
"""
from __future__ import annotations

import sympy as sp

from .latex_tokens import (
    _FUNCS,
    _FUNCTION_LETTERS,
    _GREEK,
    _MATRIX_ENVS,
    _WRAPPERS,
    Matrix,
    ParseError,
    Rel,
    SetOf,
    TooLarge,
    _finish,
    _map1,
    _map2,
    guarded_pow,
)


class CommandsMixin:
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
            if self.at("(") and (w in _FUNCTION_LETTERS and self._call_like() or self._names_function()):
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

    def _names_function(self) -> bool:
        """'W(x) = 1' opening an item: any letter applied to one variable and then defined."""
        toks, i = self.toks, self.i
        if i + 3 >= len(toks) or toks[i + 1][0] != "word" or len(toks[i + 1][1]) != 1 or toks[i + 2][1] != ")" \
                or toks[i + 3][1] != "=":
            return False
        return i < 2 or toks[i - 2][1] in (",", ";", "and", "or", r"\cr")

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
        # \sin 2x is sin(2x), \ln 2x is ln(2x), \sin 2\pi is sin(2 pi): the argument runs through
        # implicitly multiplied numbers, letters and constants, up to an operator or another function.
        arg = self.parse_power()
        while self._continues_argument():
            arg = _map2(arg, self.parse_power(), lambda a, b: a * b)
        return arg

    def _continues_argument(self) -> bool:
        kind, val = self.peek()
        if kind == "num":
            return True
        if kind == "word":
            return val not in ("and", "or", "U") and val not in _FUNCS
        return kind == "cmd" and (val[1:] in _GREEK or val in (r"\pi",))

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
        if name in ("lceil", "lfloor"):  # \lceil x \rceil, \lfloor x \rfloor
            inner = self.parse_expr()
            self.expect("\\rceil" if name == "lceil" else "\\rfloor")
            return _map1(inner, sp.ceiling if name == "lceil" else sp.floor)
        if name == "pi":
            return sp.pi
        if name == "infty" or name == "infin":
            return sp.oo
        if name in ("emptyset", "varnothing"):
            return SetOf([])
        if name in _GREEK or name == "ell":
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
                    sub = type(self)(words).parse() if words else SetOf([])
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
        if env == "vmatrix":  # |...| is a determinant, a number
            if len(rows) != len(rows[0]) or not all(isinstance(c, sp.Expr) for r in rows for c in r):
                raise ParseError("a determinant needs a square matrix of expressions")
            return sp.ImmutableMatrix(rows).det()
        if env == "Vmatrix":
            raise ParseError("a norm is not supported")
        if all(isinstance(c, sp.Expr) for r in rows for c in r):
            return sp.ImmutableMatrix(rows)  # supports A + B, A B in answers
        return Matrix(rows)

