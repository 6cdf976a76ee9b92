"""Answers read as sets of reals: intervals, unions and differences, inequalities ('x > 2', '1 <= |z| <= 3/2',
'x > 1 and x < 5'), finite sets; compared as point sets with sympy's exact set arithmetic."""
from __future__ import annotations

import sympy as sp

from .latex_parse import Rel, Seq, SetOf, Tup, Union
from .naming import _is_symbol_like, _node_symbols

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}

def _as_interval(node):
    """'a <= x < b', 'x > 5', 'x in [a,b]' -> Tup interval form, else None."""
    if not isinstance(node, Rel):
        return None
    if node.ops == ["in"]:  # x in [a, b]; '-x in (2, oo)' or 'x^2 in [..]' is another set
        ok = isinstance(node.exprs[0], sp.Symbol) and isinstance(node.exprs[1], (Tup, Union))
        return node.exprs[1] if ok else None
    ex, ops = node.exprs, node.ops
    lower, upper = ("<", "<="), (">", ">=")
    if len(ops) == 2 and _is_symbol_like(ex[1]) and _constant(ex[0]) and _constant(ex[2]):
        if ops[0] in lower and ops[1] in lower:
            return Tup([ex[0], ex[2]], "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]")
        if ops[0] in upper and ops[1] in upper:
            return Tup([ex[2], ex[0]], "(" if ops[1] == ">" else "[", ")" if ops[0] == ">" else "]")
    if len(ops) == 1 and ops[0] in lower + upper:
        var, val, op = ex[0], ex[1], ops[0]
        if not isinstance(var, sp.Symbol):
            var, val, op = ex[1], ex[0], _FLIP[op]
        if isinstance(var, sp.Symbol) and _constant(val):
            if op in lower:
                return Tup([-sp.oo, val], "(", ")" if op == "<" else "]")
            return Tup([val, sp.oo], "(" if op == ">" else "[", ")")
    return None


_INEQUALITY = {"<": sp.StrictLessThan, "<=": sp.LessThan, ">": sp.StrictGreaterThan, ">=": sp.GreaterThan}


def _abs_inequality_set(rel: Rel):
    """'1 <= |z| <= 3/2' or '|x - 1| < 2': the real solution set, for one variable under |.|."""
    if not rel.ops or any(op not in _INEQUALITY for op in rel.ops) or len(rel.exprs) > 3:
        return None
    if not all(isinstance(e, sp.Expr) for e in rel.exprs) or not any(e.has(sp.Abs) for e in rel.exprs):
        return None
    free = set().union(*(e.free_symbols for e in rel.exprs))
    if len(free) != 1:
        return None
    var = next(iter(free))
    result = sp.Reals
    for lhs, op, rhs in zip(rel.exprs, rel.ops, rel.exprs[1:]):
        part = sp.solveset(_INEQUALITY[op](lhs, rhs), var, sp.Reals)
        if isinstance(part, sp.ConditionSet):
            return None
        result = sp.Intersection(result, part)
    return result


def _constant(e) -> bool:
    return isinstance(e, sp.Expr) and not e.free_symbols


def _to_set(node):
    """A sympy Set for interval-like answers (intervals, unions, inequalities, 'or' lists), else None."""
    if isinstance(node, Tup) and len(node.items) == 2 and all(_constant(x) for x in node.items):
        lo, hi = node.items
        if not (lo.is_real or lo.is_infinite) or not (hi.is_real or hi.is_infinite):
            return None
        if (hi - lo).is_nonpositive:
            return None  # (3, 1) is no interval: never read as the empty set
        return sp.Interval(lo, hi, node.left == "(", node.right == ")")
    if isinstance(node, SetOf) and all(_constant(x) for x in node.items):
        return sp.FiniteSet(*node.items)
    if isinstance(node, Union):
        parts = [_to_set(x) for x in node.parts]
        if any(x is None for x in parts):
            return None
        if node.op == "minus":
            return sp.Complement(parts[0], sp.Union(*parts[1:]))
        return sp.Union(*parts) if node.op == "cup" else sp.Intersection(*parts)
    if isinstance(node, Rel) and "and" in node.ops:  # x > 1 and x < 5: both hold
        k = node.ops.index("and")
        left, right = Rel(node.exprs[: k + 1], node.ops[:k]), Rel(node.exprs[k + 1 :], node.ops[k + 1 :])
        parts = [_to_set(x) if x.ops else None for x in (left, right)]
        return None if any(x is None for x in parts) else sp.Intersection(*parts)
    if isinstance(node, Rel):
        interval = _as_interval(node)
        if interval is not None:
            return _to_set(interval)
        abs_set = _abs_inequality_set(node)
        if abs_set is not None:
            return abs_set
        if len(node.ops) == 1 and node.ops[0] in ("=", "!=") and isinstance(node.exprs[0], sp.Symbol) \
                and _constant(node.exprs[1]):
            point = sp.FiniteSet(node.exprs[1])
            return point if node.ops[0] == "=" else sp.Complement(sp.Reals, point)
        return None
    if isinstance(node, Seq) and any(isinstance(x, Rel) for x in node.items):
        parts = [_to_set(x) for x in node.items]
        return None if any(x is None for x in parts) else sp.Union(*parts)
    return None


def _sets_equal(g, p) -> bool | None:
    """Compare as point sets when one side reads as a set of reals; None when that does not apply."""
    setlike = (Union, Rel)
    if not (isinstance(g, setlike) or isinstance(p, setlike) or _rel_seq(g) or _rel_seq(p)):
        return None
    gs, ps = _node_symbols(g), _node_symbols(p)
    if gs and ps and gs != ps:
        return None  # y' = 6 is not y = 6: as point sets the names would be lost
    sg, sp_ = _to_set(g), _to_set(p)
    if sg is None or sp_ is None:
        return None
    return bool(sg == sp_) or bool(sp.simplify(sp.SymmetricDifference(sg, sp_)) == sp.EmptySet)


def _rel_seq(node) -> bool:
    return isinstance(node, Seq) and any(isinstance(x, Rel) and x.ops[0] != "=" for x in node.items)
