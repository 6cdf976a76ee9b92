"""VERIFIERS.md is generated from the registry; this fails when they drift apart."""
from __future__ import annotations

from verifiers import docs
from verifiers.catalog import VERIFIERS


def test_verifiers_md_matches_the_registry():
    current = docs.DEFAULT_OUTPUT.read_text()
    assert current == docs.render(), "VERIFIERS.md is out of date: run python -m verifiers.docs"


def test_every_verifier_and_column_is_documented():
    text = docs.render()
    for name, spec in VERIFIERS.items():
        assert f"`{name}`" in text
        for column in spec.output_columns():
            assert f"`{column}`" in text


def test_check_flag_reports_drift(tmp_path):
    stale = tmp_path / "VERIFIERS.md"
    stale.write_text("old\n")
    assert docs.main(["--output", str(stale), "--check"]) == 1
    assert docs.main(["--output", str(stale)]) == 0
    assert docs.main(["--output", str(stale), "--check"]) == 0
