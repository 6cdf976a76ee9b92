"""Adversarial inputs, never-executed model text, pools and worker recovery."""
import builtins
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from verifiers.grading import answers_equivalent, grade, grade_batch
from verifiers.grading.bounded import WorkerPool, WorkerTimeout, get_pool

ADVERSARIAL = [
    "__import__('os').system('touch /tmp/pwned_grading')",
    "\\boxed{__import__('os').system('x')}",
    "\\boxed{exec('1')}",
    "\\boxed{lambda: 0}",
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{10**10**10**10}",
    "\\boxed{100000!}",
    "\\boxed{" + "(" * 400 + "1" + ")" * 400 + "}",
    "\\boxed{" + "9" * 5000 + "}",
    "\\boxed{}",
    "\\boxed{\\frac{1}{2}",
    "\\boxed{1}\\boxed{2}\\boxed{}",
    "}}}{{{\\boxed{{{",
    "\\boxed{\\begin{pmatrix}1&2\\\\3\\end{pmatrix}}",
    "\\boxed{x^{(x+1)^{100000}}}",
    "\\boxed{" + "x+" * 2000 + "1}",
]


@pytest.mark.parametrize("pred", ADVERSARIAL, ids=[f"adv{i}" for i in range(len(ADVERSARIAL))])
def test_adversarial_inputs_return_quickly(pred):
    t0 = time.monotonic()
    res = grade(pred, "5", timeout=3.0)
    assert res.correct is not True
    assert res.status in ("ok", "no_answer", "parse_error", "timeout", "undecided")
    assert time.monotonic() - t0 < 30  # generous: bounded, not a timing benchmark


def test_huge_towers_are_not_equal_fast():
    assert answers_equivalent("9^{9^{9^{9}}}", "9^{9^{9^{8}}}", timeout=3) is False
    assert answers_equivalent("10**10**10**10", "5", timeout=3) is False
    assert answers_equivalent("9^{9^{9^{9}}}", "9^{9^{9^{9}}}", timeout=3) is True  # identical text


def test_model_text_is_never_executed(monkeypatch, tmp_path):
    """In-process code must not call eval/exec/sympify/parse_expr on model text."""
    import sympy
    import sympy.parsing.sympy_parser as sympy_parser

    real_eval, real_exec = builtins.eval, builtins.exec

    def forbidden(*args, **kwargs):
        raise AssertionError(f"executed model text: {args[:1]!r}")

    def guard(real):
        def checked(source, *args, **kwargs):
            if isinstance(source, (str, bytes)):  # module imports exec code objects; text is forbidden
                forbidden(source)
            return real(source, *args, **kwargs)

        return checked

    from verifiers.grading import compare
    from verifiers.grading.latex_parse import parse_answer

    monkeypatch.setattr(builtins, "eval", guard(real_eval))
    monkeypatch.setattr(builtins, "exec", guard(real_exec))
    monkeypatch.setattr(sympy, "sympify", forbidden)
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden)
    marker = tmp_path / "pwned"
    code_like = [f"__import__('pathlib').Path('{marker}').touch()", "exec('1')", "eval('2')", "lambda: 0",
                 "open('/etc/passwd').read()", "__import__('os').system('x')", "x.__class__", "1 if 1 else 2"]
    safe = ["x^2+1", "(1,2)", "[0,1)", "\\frac{\\sqrt{3}}{2}", "x=5", "\\{1,2\\}", "9^{9^{9^{9}}}", "100000!"]
    from verifiers.grading.normalize import normalize_answer

    for text in code_like + safe + ADVERSARIAL:
        try:
            parse_answer(normalize_answer(text).text)  # tokenize + build: the only place text becomes sympy
        except ValueError:
            pass  # ParseError / TooLarge are fine; execution is not
    for text in code_like + safe:
        for gold in ("5", "x^2+1", "(1,2)"):
            compare.compare_texts(gold, normalize_answer(text).text)
    assert not marker.exists()


def test_worker_sees_no_executable_path():
    marker = "/tmp/grading_should_not_exist_%d" % time.time_ns()
    grade(f"\\boxed{{__import__('pathlib').Path('{marker}').touch()}}", "1", timeout=3)
    import os

    assert not os.path.exists(marker)


def test_thread_pool_use():
    pairs = [(f"\\boxed{{{i}/2}}", str(i / 2)) for i in range(20)]
    with ThreadPoolExecutor(max_workers=6) as ex:
        results = list(ex.map(lambda p: grade(*p), pairs))
    assert all(r.correct for r in results)
    assert all(r.correct for r in grade_batch(pairs))


def _grade_in_child(args):
    pred, gold = args
    return grade(pred, gold).correct


def test_process_pool_use():
    pairs = [("\\boxed{x^2+2x+1}", "(x+1)^2"), ("\\boxed{3}", "4"), ("\\boxed{\\frac{1}{2}}", "0.5")]
    with ProcessPoolExecutor(max_workers=2) as ex:
        assert list(ex.map(_grade_in_child, pairs)) == [True, False, True]


def test_stuck_worker_is_killed_and_replaced():
    pool = WorkerPool(size=1)
    try:
        assert pool.call({"gold": "1", "pred": "1"}, timeout=30)["verdict"] is True
        with pytest.raises(WorkerTimeout):
            pool.call({"op": "sleep", "seconds": 60}, timeout=0.5)
        assert pool.kills == 1
        assert pool.call({"gold": "x+1", "pred": "1+x"}, timeout=30)["verdict"] is True
    finally:
        pool.close()


def test_memory_limit_in_worker():
    pool = WorkerPool(size=1, memory_mb=600)
    try:
        reply = pool.call({"op": "allocate", "mb": 4000}, timeout=30)
        assert "memory" in reply.get("error", "")
        assert pool.call({"gold": "2", "pred": "2.0"}, timeout=30)["verdict"] is True
    finally:
        pool.close()


def test_timeout_status_from_grade(monkeypatch):
    from verifiers.grading import bounded

    def slow_call(self, payload, timeout):
        raise WorkerTimeout("no answer")

    monkeypatch.setattr(bounded.WorkerPool, "call", slow_call)
    res = grade("\\boxed{x^2}", "x*x", timeout=0.1)
    assert res.status == "timeout" and res.correct is None
    assert get_pool() is not None
