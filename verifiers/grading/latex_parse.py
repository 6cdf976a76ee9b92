"""A whitelist tokenizer and recursive-descent parser: normalized answer text -> sympy objects.

Model text never reaches ``eval``/``exec``/``sympify``/``parse_expr``: every token is
matched against a fixed grammar and every sympy object is built by a direct constructor
call. Size guards refuse what would take unbounded time or memory to build
(``9^{9^{9^{9}}}``, ``10**10**10**10``, ``100000!``): they raise :class:`TooLarge`.

Results are sympy expressions or the small structure classes of ``latex_tokens`` (answer lists, tuples,
sets, intervals, matrices, relations), which ``compare`` knows how to compare.
"""
from __future__ import annotations

import sympy as sp

from .latex_commands import CommandsMixin
from .latex_tokens import (  # noqa: F401 - re-exported: the public names of the parser
    MAX_ALTERNATIVES,
    MAX_DEPTH,
    MAX_FACTORIAL,
    MAX_NUMBER_DIGITS,
    MAX_RESULT_DIGITS,
    MAX_TOKENS,
    _RELOPS,
    Matrix,
    Multi,
    ParseError,
    Rel,
    Seq,
    SetOf,
    TooLarge,
    Tup,
    Union,
    _finish,
    _label_value,
    _map1,
    _map2,
    _number,
    guarded_factorial,
    guarded_pow,
    tokenize,
)


class Parser(CommandsMixin):
    """Recursive descent over the token list; commands and functions live in ``CommandsMixin``."""

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
        node = self.parse_expr()
        while self.at(r"\cup", r"\cap", "U", r"\setminus", r"\backslash"):
            op = {r"\cap": "cap", r"\setminus": "minus", r"\backslash": "minus"}.get(self.next()[1], "cup")
            rhs = self.parse_expr()
            if isinstance(node, Union) and node.op == op and op != "minus":
                node = Union(node.parts + [rhs], op)
            else:
                node = Union([node, rhs], op)
        return node

    def parse_expr(self):
        self.enter()
        node = self.parse_term()
        while self.at("+", "-", r"\pm", r"\mp"):
            op = self.next()[1]
            rhs = self.parse_term()
            if op == "+":
                node = _map2(node, rhs, lambda a, b: a + b)
            elif op == "-" and (_is_set_like(node) or _is_set_like(rhs)):
                node = Union([node, rhs], "minus")  # {x | x < 3/2} - {-6}: a set difference
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
                                                        r"\cap", r"\cr", r"\}", r"\end", r"\%", r"\,",
                                                        r"\rceil", r"\rfloor")
        return val in ("(", "{")

    def parse_term(self):
        node = self.parse_unary()
        while True:
            if self.at("*", r"\cdot", r"\times", "/", r"\div"):
                op = self.next()[1]
                rhs = self.parse_unary()
                node = _map2(node, rhs, (lambda a, b: a / b) if op in ("/", r"\div") else (lambda a, b: a * b))
            elif self._starts_atom():
                if self.peek()[0] == "num" and self.toks[self.i - 1][0] == "num" or \
                        self.toks[self.i - 1][0] == "num" and self._improper_mixed_ahead():
                    # "3 4", "2\,5", "2 1/2", "2\frac{3}{2}": side by side, numbers are not a product
                    raise ParseError("two numbers side by side")
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
            if not isinstance(val, (sp.Basic, Multi)):
                raise ParseError("plus-minus before a tuple, interval or set")  # \pm(1, 2) is two tuples
            return Multi([val, -val]) if isinstance(val, sp.Basic) else Multi(val.items + [-x for x in val.items])
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
                if not isinstance(node, sp.Symbol):
                    raise ParseError("a prime after a value (minutes or feet?)")  # 90' is not 90
                node = sp.Symbol(str(node) + "'")
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
        if closer in ("}", r"\}"):
            return SetOf(_expand_alternatives(items))
        return Seq(items)

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
            self.enter()
            items = self.parse_list((r"\}",))
            self.expect(r"\}")
            self.depth -= 1
            return SetOf(_expand_alternatives(items)), None  # {1 \pm \sqrt{2}} lists both; {\emptyset} has one element
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

    def _improper_mixed_ahead(self) -> bool:
        """2\\frac{3}{2}: a whole number before a fraction of digits that is not a proper mixed number."""
        toks = [v for _, v in self.toks[self.i : self.i + 7]]
        return (len(toks) >= 7 and toks[0] == r"\frac" and toks[1] == "{" and toks[2].isdigit() and toks[3] == "}"
                and toks[4] == "{" and toks[5].isdigit() and toks[6] == "}" and int(toks[2]) >= int(toks[5]))

    def _set_builder_ahead(self) -> bool:
        kind, _ = self.peek()
        return kind == "word" and self.peek(1)[1] in ("|", ":")


def _is_set_like(node) -> bool:
    return isinstance(node, (SetOf, Union)) or isinstance(node, Rel) and node.ops[0] in ("<", ">", "<=", ">=") or \
        isinstance(node, Tup) and len(node.items) == 2 and (node.left, node.right) != ("(", ")")


def _expand_alternatives(items: list) -> list:
    """{1 \\pm 2, 5} lists each plus-minus alternative as an element."""
    out = []
    for item in items:
        out.extend(item.items if isinstance(item, Multi) else [item])
    return out


def parse_answer(text: str):
    """Parse one normalized answer string; raises ParseError / TooLarge."""
    if not text.strip():
        raise ParseError("empty answer")
    try:
        return Parser(text).parse()
    except RecursionError:
        raise TooLarge("nesting too deep") from None

