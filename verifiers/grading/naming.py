"""Names in answers: labels ('x = 5', 'P(A): 0.3', '(x, y) = ...'), the symbols an answer uses, and the
renaming of a free integer parameter ('k\\pi' vs 'n\\pi'). Pure structure work over parsed answers."""
from __future__ import annotations

import sympy as sp

from .latex_parse import Matrix, Rel, Seq, SetOf, Tup, Union


def _is_symbol_like(e) -> bool:
    from sympy.core.function import AppliedUndef

    return isinstance(e, sp.Symbol) or isinstance(e, AppliedUndef)


def _is_label(e, colon: bool = False) -> bool:
    """A name on the left of '=' or ':' ("x", "f(n)", "AB", "(f(n), g(n))"); "Sequence 2" only before ':',
    so that '2 area = 8' is never read as a label."""
    if _is_symbol_like(e):
        return True
    if colon and isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0].is_Number \
            and isinstance(e.args[1], sp.Symbol) and len(e.args[1].name) >= 3:
        return True
    if isinstance(e, sp.Expr) and not isinstance(e, sp.Add) and e.free_symbols and not e.atoms(sp.Number) - {
            sp.Integer(-1)} and all(len(s.name) == 1 and s.name.isupper() for s in e.free_symbols) \
            and not e.could_extract_minus_sign() and not (isinstance(e, sp.Pow) and e.exp.is_negative):
        return True  # AB = 4, NO/BO = 1/sqrt(6), |AB| = 1: named lengths and ratios (not -A, not 1/A)
    return isinstance(e, Tup) and all(_is_symbol_like(x) for x in e.items)


def _letter(name) -> str:
    """A name for ordering checks: (k, \\ell) is in order, (y, x) is not."""
    return {"ell": "l"}.get(str(name), str(name))


def _same_name(a, b) -> bool:
    if isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol):
        return a == b
    from sympy.core.function import AppliedUndef

    if isinstance(a, AppliedUndef) and isinstance(b, AppliedUndef):
        return a.func == b.func  # f(x) names the same thing as f(t)
    return a == b  # AB is not AC


# Names an answer gives an arbitrary integer or constant ("x = k\pi" vs "n\pi", "2C x" vs "2c x").
_PARAMETER_NAMES = {"k", "n", "m", "t", "c", "C", "K", "N", "M", "ell", "l", "j"}


def _node_symbols(node) -> set:
    if isinstance(node, sp.Basic):
        return set(node.free_symbols)
    parts = getattr(node, "items", None) or getattr(node, "exprs", None) or getattr(node, "parts", None)
    if parts is None and isinstance(node, Matrix):
        parts = [x for row in node.rows for x in row]
    return set().union(*(_node_symbols(x) for x in parts)) if parts else set()


def _substitute(node, mapping):
    if isinstance(node, sp.Basic):
        return node.xreplace(mapping)
    if isinstance(node, (Seq, SetOf)):
        return type(node)([_substitute(x, mapping) for x in node.items])
    if isinstance(node, Tup):
        return Tup([_substitute(x, mapping) for x in node.items], node.left, node.right)
    if isinstance(node, Rel):
        return Rel([_substitute(x, mapping) for x in node.exprs], node.ops)
    if isinstance(node, Union):
        return Union([_substitute(x, mapping) for x in node.parts], node.op)
    if isinstance(node, Matrix):
        return Matrix([[_substitute(x, mapping) for x in row] for row in node.rows])
    return node


def _value_of(node):
    if isinstance(node, Rel) and len(node.ops) == 1 and node.ops[0] == "=" and _is_label(node.exprs[0]):
        return node.exprs[-1]
    return node


def _rename_parameter(g, p, declared: set = frozenset()):
    """The prediction with its one free parameter renamed to the gold's, when each side has exactly
    one parameter-like name the other lacks (k vs n, C vs c); otherwise None."""
    gv, pv = _value_of(g), _value_of(p)
    if isinstance(gv, sp.Symbol) or isinstance(pv, sp.Symbol):
        return None  # a bare name against another name: nothing but the name to compare
    gs, ps = _node_symbols(gv), _node_symbols(pv)
    only_g, only_p = gs - ps, ps - gs
    if len(only_g) != 1 or len(only_p) != 1:
        return None
    (a,), (b,) = only_g, only_p
    if not (str(a) in _PARAMETER_NAMES and str(b) in _PARAMETER_NAMES or str(a) in declared or str(b) in declared):
        return None  # a name declared arbitrary ("for some integer t") may stand for any other
    return _substitute(p, {b: a})
