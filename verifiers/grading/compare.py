"""Equivalence of two parsed answers (runs inside a bounded worker: it may call sympy freely).

Structures: answer lists and sets compare unordered, tuples and intervals ordered with their
brackets, matrices element-wise (a column vector equals the same tuple), relations by their
normalized difference, expressions exactly (``exact``). Names and labels live in ``naming``,
answers read as sets of reals in ``sets``, values too large to build in ``towers``.
"""
from __future__ import annotations

import contextvars
import re

import sympy as sp

from . import exact
from .exact import Undecided
from .latex_parse import Matrix, Rel, Seq, SetOf, TooLarge, Tup, Union, parse_answer
from .latex_tokens import collect_decimals
from .naming import _is_label, _is_symbol_like, _letter, _node_symbols, _rename_parameter, _same_name
from .sets import _FLIP, _constant, _sets_equal
from .towers import _huge

_RNG_POINTS = [sp.Rational(n, d) for n, d in ((7, 5), (13, 11), (23, 7), (5, 17), (31, 9), (2, 3))]


def _strip_label(node):
    """'x = 5' / 'Paolo: 18' / 'f(x) = 2x' as a list item -> its value (lhs names a thing)."""
    if isinstance(node, Rel) and node.ops[0] in ("=", ":", "in") and _is_label(node.exprs[0], node.ops[0] == ":"):
        node = _single(node)
        if len(node.ops) == 1 and node.ops[0] in ("=", ":", "in"):
            return node.exprs[-1]
    return node


def _labels(node) -> dict | None:
    """{name: value} when every item is 'name = value' or 'name: value' with distinct names
    ('x', 'P(A)', 'Paolo'), or the node is '(x, y) = (1, 2)'."""
    if isinstance(node, Rel) and node.ops == ["="] and isinstance(node.exprs[0], Tup) and \
            isinstance(node.exprs[1], Tup) and len(node.exprs[0].items) == len(node.exprs[1].items) and \
            all(_is_symbol_like(x) for x in node.exprs[0].items):
        node = Seq([Rel([k, v], ["="]) for k, v in zip(node.exprs[0].items, node.exprs[1].items)])
    items = node.items if isinstance(node, (Seq, SetOf)) else [node]
    out = {}
    for item in items:
        if not (isinstance(item, Rel) and len(item.ops) == 1 and item.ops[0] in ("=", ":")
                and _is_symbol_like(item.exprs[0])) or item.exprs[0] in out:
            return None
        out[item.exprs[0]] = item.exprs[1]
    return out if len(out) >= 2 else None


def _labelled_match(g, p) -> bool | None:
    """'x=8, y=-16' against 'y=-16, x=8' by name; against an unlabelled '8, -16' or '(8, -16)' in the
    gold's order (another order is undecided); a tuple gold against labelled values in the order
    written. None when neither side is such a labelled list."""
    gl = _labels(g)
    if gl is None:
        pl = _labels(p)
        if pl is not None and isinstance(g, Tup) and g.left == "(" and len(g.items) == len(pl):
            if [_letter(k) for k in pl] != sorted(_letter(k) for k in pl):
                raise Undecided("labelled values in an order the gold's tuple may not share ((y, x) = ...)")
            return _ordered_equal(list(g.items), list(pl.values()))
        return None
    pl = _labels(p)
    if pl is not None:
        if set(pl) != set(gl):
            if not set(pl) & set(gl):
                raise Undecided("the answers name their parts differently")
            return False
        return _ordered_equal([gl[k] for k in gl], [pl[k] for k in gl])
    items = p.items if isinstance(p, Seq) else p.items if isinstance(p, Tup) and p.left == "(" else None
    if items and all(isinstance(x, Rel) and x.ops in (["="], [":"]) and _is_symbol_like(x.exprs[0]) for x in items):
        return False  # labelled, but not one value per gold name: 'x=1, x=2' against 'x=1, y=2'
    if not items or len(items) != len(gl) or any(isinstance(x, Rel) for x in items):
        return None
    if _ordered_equal(list(gl.values()), list(items)):
        return True
    if _unordered_equal(list(gl.values()), list(items)):
        raise Undecided("the values are right but listed in another order than the gold's names")
    return False


def _flatten(node) -> list:
    items = node.items if isinstance(node, (Seq, SetOf)) else [node]
    out = []
    for item in items:
        stripped = _strip_label(item)
        if len(items) == 1 and stripped is not item and isinstance(item.exprs[0], Tup) and isinstance(stripped, Tup) \
                and len(stripped.items) == len(item.exprs[0].items):
            out.extend(stripped.items)  # (f(n), g(n)) = (n, 1) names two answers
        elif isinstance(stripped, Seq):
            out.extend(_flatten(stripped))
        else:
            out.append(stripped)
    return out


# (float_rounding, values written as decimals in the gold, in the prediction) for this comparison
_PLACES: contextvars.ContextVar[tuple] = contextvars.ContextVar(
    "places", default=(exact.DECIMAL_PLACES, frozenset(), frozenset()))
_DECIMAL_RE = re.compile(r"^-?(?:\d+\.\d*|\.\d+)$")


def _written_decimal(text: str | None) -> bool:
    return bool(text) and bool(_DECIMAL_RE.match(text.strip()))


def _pair_equal(a, b, a_decimal: bool, b_decimal: bool) -> bool | None:
    """Exact equality, except a written decimal against an exact constant (rounded to 6 places)."""
    if a_decimal != b_decimal:
        exact_side, written = (b, a) if a_decimal else (a, b)
        if isinstance(written, sp.Expr) and written.is_Rational and isinstance(exact_side, sp.Expr) \
                and not exact_side.free_symbols:
            if exact_side.is_Rational and exact_side == written:
                return True
            return exact.rounds_to(exact_side, written, _PLACES.get()[0])
    return exact.equal(a, b)


def expr_equal(a, b, pred_text: str | None = None, percent: bool = False, degrees: bool = False,
               gold_text: str | None = None) -> bool:
    """Exact equality of two expressions; raises ``Undecided`` when it cannot be settled."""
    if not isinstance(a, sp.Basic) or not isinstance(b, sp.Basic):
        return False
    if a.has(sp.nan, sp.zoo) or b.has(sp.nan, sp.zoo):
        raise Undecided("an undefined value (0/0, infinity minus infinity)")
    if a == b:
        return True
    if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)):
        return False
    _, gold_decimals, pred_decimals = _PLACES.get()
    gd = _written_decimal(gold_text) or a.is_Rational and a in gold_decimals and b not in gold_decimals
    pd = _written_decimal(pred_text) or b.is_Rational and b in pred_decimals and a not in pred_decimals
    candidates = [(a, b)]
    if percent == "gold":  # a gold of 50% against 0.5 or 50
        candidates.append((a, b * 100))
    elif percent == "pred":
        candidates.append((a * 100, b))
    if degrees and not (a.free_symbols or b.free_symbols):  # 30 degrees against pi/6
        candidates += [(a, b * sp.pi / 180), (a * sp.pi / 180, b)]
    undecided = False
    for x, y in candidates:
        verdict = _pair_equal(x, y, gd, pd)
        if verdict:
            return True
        undecided = undecided or verdict is None
    if undecided:
        raise Undecided("equality could not be proven or refuted")
    return False


def _point_values(d1, d2):
    """Exact values of d1, d2 at rational points where both are defined."""
    free = sorted(d1.free_symbols | d2.free_symbols, key=str)
    for shift in range(4):
        point = {s: _RNG_POINTS[(i + shift) % len(_RNG_POINTS)] + i for i, s in enumerate(free)}
        try:
            v1, v2 = d1.xreplace(point), d2.xreplace(point)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if v1.has(sp.zoo, sp.nan) or v2.has(sp.zoo, sp.nan) or v1.free_symbols or v2.free_symbols:
            continue
        yield v1, v2


def _ratio_constant(d1, d2, positive: bool) -> bool:
    """d1 = c * d2 for one constant c (c > 0 when positive is set), proven exactly."""
    if not isinstance(d1, sp.Expr) or not isinstance(d2, sp.Expr):
        return False
    if d2 == 0:
        return d1 == 0
    for v1, v2 in _point_values(d1, d2):
        if exact.constant_is_zero(v2) is not False:
            continue
        c = v1 / v2
        if exact.constant_is_zero(c) is not False:
            return False
        if positive and not c.is_positive:
            if c.is_positive is False:
                return False
            raise Undecided("the sign of the ratio cannot be decided")
        verdict = exact.is_zero(d1 - c * d2)
        if verdict is None:
            raise Undecided("relation could not be proven equivalent")
        return verdict
    raise Undecided("relation sides could not be evaluated")


def _relation_form(rel: Rel):
    """Single relation -> (op, difference) with op in {=, !=, >, >=}: lhs op rhs <=> diff op 0."""
    lhs, op, rhs = rel.exprs[0], rel.ops[0], rel.exprs[-1]
    if not isinstance(lhs, sp.Expr) or not isinstance(rhs, sp.Expr):
        return None
    if op in ("<", "<="):
        return _FLIP[op], rhs - lhs
    return op, lhs - rhs


def values_equal(g, p, pred_text: str | None = None, percent: bool = False, degrees: bool = False) -> bool:
    if isinstance(g, sp.MatrixBase):
        g = Matrix(g.tolist())
    if isinstance(p, sp.MatrixBase):
        p = Matrix(p.tolist())
    if isinstance(g, Seq) and len(g.items) == 1:
        g = g.items[0]
    if isinstance(p, Seq) and len(p.items) == 1:
        p = p.items[0]
    if isinstance(g, Rel):
        g = _single(g)
    if isinstance(p, Rel):
        p = _single(p)
    if _order_chain(g) and isinstance(p, Seq):
        return _order_matches(g, p)
    as_sets = _sets_equal(g, p)
    if as_sets:
        return True
    # Collections: answer lists and sets are unordered.
    g_coll = isinstance(g, (Seq, SetOf))
    p_coll = isinstance(p, (Seq, SetOf))
    if g_coll or p_coll:
        if isinstance(g, SetOf) and isinstance(p, Tup) or isinstance(p, SetOf) and isinstance(g, Tup):
            return False  # {1,3} is not the ordered pair (3,1)
        by_name = _labelled_match(g, p)
        if by_name is not None:
            return by_name
        gi = _flatten(g) if g_coll else _flatten(Seq([g]))
        pi = _flatten(p) if p_coll else _flatten(Seq([p]))
        if len(pi) == 1 and isinstance(pi[0], Tup) and pi[0].left == "(" and isinstance(g, SetOf) or \
                len(gi) == 1 and isinstance(gi[0], Tup) and gi[0].left == "(" and isinstance(p, SetOf):
            return False  # a set is not a tuple, labelled or not
        if len(gi) == 1 and len(pi) == 1:
            return values_equal(gi[0], pi[0], pred_text, percent, degrees)
        if len(gi) != len(pi):
            # "(1, 2)" against the list "1, 2": a parenthesised pair may list the answers, in its order.
            if len(gi) == 1 and isinstance(gi[0], Tup) and gi[0].left == "(" and gi[0].right == ")":
                return _ordered_equal(gi[0].items, pi, degrees)
            if len(pi) == 1 and isinstance(pi[0], Tup) and pi[0].left == "(" and pi[0].right == ")":
                return _ordered_equal(gi, pi[0].items, degrees)
        return _unordered_equal(gi, pi, degrees)
    if isinstance(g, Rel) or isinstance(p, Rel):
        return _relation_equal(g, p, pred_text, percent, degrees)
    if isinstance(g, Tup) and isinstance(p, Tup):
        return (g.left, g.right) == (p.left, p.right) and _ordered_equal(g.items, p.items, degrees)
    if isinstance(g, Matrix) or isinstance(p, Matrix):
        return _matrix_equal(g, p)
    if isinstance(g, Union) or isinstance(p, Union):
        if isinstance(g, Union) and isinstance(p, Union) and g.op == p.op:
            return _unordered_equal(g.parts, p.parts)
        return False
    if isinstance(g, Tup) or isinstance(p, Tup):
        return False
    return expr_equal(g, p, pred_text, percent, degrees)


def _order_chain(node) -> bool:
    """'b < a < d < c': an ordering of named quantities (3+ symbols, one strict direction)."""
    return isinstance(node, Rel) and len(node.exprs) >= 3 and len(set(node.ops)) == 1 and node.ops[0] in ("<", ">") \
        and all(isinstance(e, sp.Symbol) for e in node.exprs)


def _order_matches(chain: Rel, listed: Seq) -> bool:
    """The chain's names listed in the order written; listed backwards is ambiguous (undecided)."""
    names = list(listed.items)
    if len(names) != len(chain.exprs) or not all(isinstance(x, sp.Symbol) for x in names):
        return False
    if names == chain.exprs:
        return True
    if names == chain.exprs[::-1]:
        raise Undecided("the ordering is listed in the other direction")
    return False


def _relation_equal(g, p, pred_text, percent, degrees) -> bool:
    if isinstance(g, Rel) and "and" in g.ops or isinstance(p, Rel) and "and" in p.ops:
        raise Undecided("a conjunction of relations that is not a set of reals")
    if isinstance(g, Rel) and isinstance(p, Rel):
        if g.ops[0] == "=" and p.ops[0] == "=" and len(g.ops) == 1 and len(p.ops) == 1:
            gl, pl = g.exprs[0], p.exprs[0]
            if _is_label(gl) and _is_label(pl):
                return _same_name(gl, pl) and _rhs_equal(gl, g.exprs[1], pl, p.exprs[1], pred_text, percent)
            fg, fp = _relation_form(g), _relation_form(p)
            return bool(fg and fp) and _ratio_constant(fg[1], fp[1], positive=False)
        if g.ops[0] in ("in", ":") or p.ops[0] in ("in", ":"):
            return g.ops == p.ops and _ordered_equal(g.exprs, p.exprs, degrees)
        if len(g.ops) != 1 or len(p.ops) != 1:
            return g.ops == p.ops and _ordered_equal(g.exprs, p.exprs, degrees)
        fg, fp = _relation_form(g), _relation_form(p)
        if not fg or not fp or fg[0] != fp[0]:
            return False
        return _ratio_constant(fg[1], fp[1], positive=fg[0] not in ("!=", "="))
    # One side is a relation, the other a value: 'x = 5' vs '5', 'y + 1 = 2x' vs '2x - 1'.
    rel, val, rel_is_gold = (g, p, True) if isinstance(g, Rel) else (p, g, False)
    if rel.ops[0] in ("=", ":", "in") and _is_label(rel.exprs[0]):
        names = [_letter(x) for x in rel.exprs[0].items] if isinstance(rel.exprs[0], Tup) else None
        if names and names != sorted(names) and isinstance(val, Tup):
            raise Undecided("labelled values in an order the other tuple may not share ((y, x) = ...)")
        value = rel.exprs[-1] if len(rel.ops) == 1 else Rel(rel.exprs[1:], rel.ops[1:])
        return values_equal(value, val, pred_text, percent, degrees) if rel_is_gold \
            else values_equal(val, value, pred_text, percent, degrees)
    if rel.ops == ["="] and isinstance(val, sp.Expr) and val.free_symbols \
            and all(isinstance(x, sp.Expr) for x in rel.exprs):
        # 'y + 1 = 2x' against '2x - 1'; an equation against a constant ('x + 3 = 8' for 5) commits to nothing
        extra = (rel.exprs[0].free_symbols | rel.exprs[1].free_symbols) - val.free_symbols
        if len(extra) == 1:  # the equation defines the one variable the value leaves out
            solutions = sp.solve(sp.Eq(rel.exprs[0], rel.exprs[1]), next(iter(extra)))
            return len(solutions) == 1 and expr_equal(solutions[0], val)
    return False


def _single(rel: Rel):
    """A chain 'x = 5+5+1 = 11' keeps its first and last sides; '... = 1/3 approx 0.33' drops the estimate.

    As in Math-Verify, the last value of a chain of evaluations is the committed one ('x = 5+5+1 = 7 = 11'
    is 11) and an estimate after the exact value is not part of the answer ('x = 1/3 \\approx 1.3' is 1/3)."""
    if "approx" in rel.ops:
        k = rel.ops.index("approx")
        if k == 0 and _is_label(rel.exprs[0]):
            rel = Rel(rel.exprs, ["="] + rel.ops[1:])
            if "approx" in rel.ops:
                k = rel.ops.index("approx")
                rel = Rel(rel.exprs[: k + 1], rel.ops[:k])
        elif k == 0:
            return rel.exprs[0]
        else:
            rel = Rel(rel.exprs[: k + 1], rel.ops[:k])
    if len(rel.ops) == 1 and rel.ops[0] == ":" and _is_ratio(rel):
        return rel.exprs[0] / rel.exprs[1]
    if all(op == "=" for op in rel.ops) and _constant(rel.exprs[0]) and _constant(rel.exprs[-1]):
        return rel.exprs[-1]  # "1/2 = 10/9" written as a chain of evaluations: the last value
    if len(rel.ops) > 1 and all(op == "=" for op in rel.ops):
        return Rel([rel.exprs[0], rel.exprs[-1]], ["="])
    return rel


def _is_ratio(rel: Rel) -> bool:
    a, b = rel.exprs
    return (isinstance(a, sp.Expr) and isinstance(b, sp.Expr) and a.is_number and b.is_number and b != 0
            and not _is_label(a))


def _rhs_equal(gl, gr, pl, pr, pred_text, percent) -> bool:
    """f(x) = 2x vs f(t) = 2t: rename the function's arguments before comparing."""
    if not isinstance(gl, sp.Symbol) and not isinstance(pl, sp.Symbol):
        if len(gl.args) != len(pl.args):
            return False
        mapping = {pa: ga for pa, ga in zip(pl.args, gl.args) if isinstance(pa, sp.Symbol)}
        if isinstance(pr, sp.Basic):
            captured = {ga for pa, ga in mapping.items() if pa != ga} & _node_symbols(pr)
            if captured:
                return False  # f(t) = 6x^2 is constant in t: renaming t to x would change it
            pr = pr.xreplace(mapping)
    return values_equal(gr, pr, pred_text, percent)


def _try_equal(x, y, degrees: bool) -> bool | None:
    try:
        return values_equal(x, y, degrees=degrees)
    except Undecided:
        return None


def _ordered_equal(a: list, b: list, degrees: bool = False) -> bool:
    if len(a) != len(b):
        return False
    undecided = False
    for x, y in zip(a, b):
        verdict = _try_equal(x, y, degrees)
        if verdict is False:
            return False  # one component proven different: the whole differs
        undecided = undecided or verdict is None
    if undecided:
        raise Undecided("a component could not be decided")
    return True


def _dedupe(items: list, degrees: bool) -> list:
    out = []
    for x in items:
        if not any(_try_equal(x, y, degrees) for y in out):
            out.append(x)
    return out


def _unordered_equal(a: list, b: list, degrees: bool = False) -> bool:
    if len(a) != len(b) and len(a) <= 40 and len(b) <= 40 and len(_dedupe(a, degrees)) == len(a):
        b = _dedupe(b, degrees)  # a repeated solution is still the same set (a gold's repeats are multiplicities)
    if len(a) != len(b):
        return False
    remaining, undecided = list(b), False
    for x in a:
        for k, y in enumerate(remaining):
            verdict = _try_equal(x, y, degrees)
            if verdict:
                del remaining[k]
                break
            undecided = undecided or verdict is None
        else:
            if undecided:
                raise Undecided("an element could not be matched or ruled out")
            return False
    return True


def _matrix_equal(g, p) -> bool:
    def cells(node):
        if isinstance(node, Matrix):
            return node.rows
        if isinstance(node, Tup) and node.left == "(":
            return [[x] for x in node.items]
        return None

    a, b = cells(g), cells(p)
    if a is None or b is None:
        return False
    if isinstance(g, Tup) or isinstance(p, Tup):  # a tuple equals a row or a column vector
        a = [x for row in a for x in row] if len(a) == 1 or len(a[0]) == 1 else None
        b = [x for row in b for x in row] if b and (len(b) == 1 or len(b[0]) == 1) else None
        return a is not None and b is not None and _ordered_equal(a, b)
    return len(a) == len(b) and all(_ordered_equal(r, s) for r, s in zip(a, b))


def _compare_nodes(g, p, pred_text, percent, degrees, gold_text):
    if isinstance(g, sp.Expr) and isinstance(p, sp.Expr) and not isinstance(g, sp.MatrixBase) \
            and not isinstance(p, sp.MatrixBase):
        return expr_equal(g, p, pred_text, percent, degrees, gold_text)
    return values_equal(g, p, pred_text, percent, degrees)


_TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")


def _ends_in_unknown(node) -> bool:
    """'4 + 4 = X', '7 + 1 = y': an equation whose last side is a bare unknown commits to no value."""
    return isinstance(node, Rel) and node.ops[-1] == "=" and _is_symbol_like(node.exprs[-1]) \
        and not _is_label(node.exprs[0])


def compare_texts(gold: str, pred: str, gold_percent: bool = False, pred_percent: bool = False,
                  degrees: bool = False, places: int = exact.DECIMAL_PLACES,
                  parameters: tuple[str, ...] = ()) -> tuple[bool | None, str]:
    """Entry point used by the worker: normalized strings in, (verdict, detail) out.

    The verdict is None when the comparison cannot be settled exactly (values too large to
    build, equalities that cannot be proven or refuted, text the grammar does not cover).
    """
    try:
        with collect_decimals() as gold_decimals:
            g = parse_answer(gold)
    except TooLarge as exc:
        return _huge(gold, pred, f"gold too large ({exc})")
    except ValueError as exc:
        return _as_text(gold, pred, f"gold not parsed ({exc})")
    try:
        with collect_decimals() as pred_decimals:
            p = parse_answer(pred)
    except TooLarge as exc:
        return _huge(gold, pred, f"prediction too large ({exc})")
    except ValueError as exc:
        return _as_text(gold, pred, f"prediction not parsed ({exc})")
    if _TIME_RE.match(gold.strip()) and _loose_text(gold) != _loose_text(pred):
        return None, "undecided: h:mm may be a time of day or a ratio"
    if _ends_in_unknown(p) and not isinstance(g, Rel):
        return False, "the equation ends in an unknown: no value committed"
    pred_text = pred if not isinstance(p, (Seq, Tup, SetOf, Rel)) else None
    percent = True if gold_percent and pred_percent else "gold" if gold_percent else "pred" if pred_percent else False
    token = _PLACES.set((places, frozenset(gold_decimals), frozenset(pred_decimals)))
    try:
        g = _single(g) if isinstance(g, Rel) else g
        p = _single(p) if isinstance(p, Rel) else p
        try:
            verdict, why = _compare_nodes(g, p, pred_text, percent, degrees, gold), None
        except Undecided as exc:
            verdict, why = None, exc
        if verdict is not True:
            renamed = _rename_parameter(g, p, set(parameters))
            try:
                if renamed is not None and _compare_nodes(g, renamed, None, percent, degrees, gold) is True:
                    return True, "compared after renaming the free parameter"
            except Undecided:
                pass
        if why is not None:
            raise why
        return verdict, "compared"
    except TooLarge as exc:
        return None, f"undecided: too large ({exc})"
    except Undecided as exc:
        return None, f"undecided: {exc}"
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, NotImplementedError, RecursionError) as exc:
        return None, f"comparison failed: {type(exc).__name__}"
    finally:
        _PLACES.reset(token)


def _as_text(gold: str, pred: str, why: str) -> tuple[bool | None, str]:
    """Outside the grammar: the same text is the same answer; anything else is undecided."""
    if _loose_text(gold) == _loose_text(pred) and _loose_text(gold):
        return True, f"{why}; same text"
    return None, f"undecided: {why}"


def _loose_text(s: str) -> str:
    """Text outside the grammar, compared as written: case, '|' and '#' kept; a space between two
    word characters kept ('1 2' is not '12'); other spaces and x^{2}/x^2 braces dropped."""
    s = re.sub(r"([\^_])\{\s*(\w)\s*\}", r"\1\2", s)
    s = re.sub(r"\s+", " ", s.strip())
    return re.sub(r"(?<!\w) | (?!\w)", "", s)
