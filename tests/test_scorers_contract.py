"""Every registered reward model / PRM has a scorer class that can read its score (no weights loaded)."""
from __future__ import annotations

import pytest

from toolkit.errors import InputError
from verifiers.catalog import VERIFIERS
from verifiers.scorers import SCORERS, load_scorer, scorer_class
from verifiers.specs import JUDGE_FAMILIES

MODEL_SPECS = [spec for _, spec in VERIFIERS.items() if spec.family not in JUDGE_FAMILIES]


def test_the_22_reference_models_are_covered():
    assert len(MODEL_SPECS) >= 22
    assert set(SCORERS.names()) == {spec.family for spec in MODEL_SPECS}


@pytest.mark.parametrize("spec", MODEL_SPECS, ids=lambda s: s.name)
def test_each_model_spec_gets_a_scorer_that_reads_it(spec):
    scorer = load_scorer(spec, device="cuda", batch_size=8)  # nothing loads until the first score()
    assert scorer.family == spec.family and spec.score_reader in scorer.readers
    assert scorer.model is None and scorer.dtype == spec.dtype and scorer.batch_size == 8
    if spec.kind == "prm":
        assert spec.step_separator


def test_cpu_defaults_to_float32_and_bad_arguments_are_input_errors():
    spec = VERIFIERS.get("GRM")
    assert load_scorer(spec).dtype == "float32"
    with pytest.raises(InputError, match="batch_size"):
        load_scorer(spec, batch_size=0)
    with pytest.raises(InputError, match="dtype"):
        load_scorer(spec, dtype="int3")
    with pytest.raises(InputError, match="judges"):
        scorer_class("judge_api")
    from dataclasses import replace

    with pytest.raises(InputError, match="score_reader"):
        load_scorer(replace(spec, score_reader="armo_score"))
    with pytest.raises(InputError, match="prompts"):
        load_scorer(spec).score(["a"], [])


def test_importing_scorers_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, verifiers.scorers, verifiers.scorers.base, verifiers.scorers.gpm;"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
