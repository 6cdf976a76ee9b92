"""The toolkit's Python API: the four stages as methods of a ``Run``, and the grader as a function.

    import weaver_toolkit as wt

    run = wt.load("math", max_rows=10)           # a benchmark, a .jsonl/.parquet file, a folder, a Dataset
    run = run.generate(k=4)                      # stage 1 (default model: the embedded SmolLM2)
    run = run.grade()                            # stage 2
    run = run.score(lm_judges=["smollm2"])       # stage 3
    best = run.select("weak_supervision", train_split=1.0)   # stage 4
    best.results["methods"]["weak_supervision"]["test"]["select_at_1"]
    best.save("outputs/math_selected.hf")

    wt.grade("... so the answer is $\\boxed{\\frac{1}{2}}$", "0.5").correct   # True

Each stage method calls the same library function as the stage's CLI and returns a NEW Run;
options are the CLI's flags as keyword arguments. Importing this package is cheap: datasets,
pyarrow, torch, vllm and sympy load only when a function needs them.
"""
from __future__ import annotations

from toolkit.errors import InputError
from weaver_toolkit.grading import grade
from weaver_toolkit.run import Run, load

__all__ = ["GradeResult", "InputError", "Run", "grade", "load"]


def __getattr__(name: str):
    if name == "GradeResult":  # the grader's own result type (importing it loads the grader)
        from verifiers.grading.result import GradeResult

        return GradeResult
    raise AttributeError(f"module 'weaver_toolkit' has no attribute {name!r}")
