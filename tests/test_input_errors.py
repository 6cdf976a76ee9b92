"""Bad input files are one line that names the file (and for JSON the line), never a traceback.

``load_dataset_from_path`` checks JSON-lines files in one streaming pass before ``datasets`` sees
them; the stage CLIs print its ``InputError`` as one line and exit 2.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.dataset_io import load_dataset_from_path
from toolkit.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
GOOD_ROW = b'{"instruction": "What is 1 + 1?", "samples": ["2"], "answer": "2"}\n'


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_dataset_from_path(str(path))
    message = str(info.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------------ malformed input, one line each
def test_malformed_jsonl_line_names_file_line_and_column(tmp_path):
    path = _write(tmp_path, "data.jsonl", GOOD_ROW * 16 + b'{"instruction": "x" "samples": []}\n' + GOOD_ROW)
    message = _error(path)
    assert message.startswith(f"{path} line 17: not valid JSON (")
    assert "Expecting ',' delimiter: column 21" in message


def test_truncated_last_line_is_named(tmp_path):
    path = _write(tmp_path, "data.jsonl", GOOD_ROW * 2 + b'{"instruction": "cut off')
    assert "line 3: not valid JSON" in _error(path)


def test_broken_first_line_of_json_lines_is_named(tmp_path):
    path = _write(tmp_path, "data.jsonl", b'{"a": 1\n{"a": 2}\n')
    assert _error(path) == f"{path} line 1: not valid JSON (Expecting ',' delimiter: column 8)"


@pytest.mark.parametrize("data", [b"", b"\n  \n\n"])
def test_empty_file(tmp_path, data):
    path = _write(tmp_path, "data.jsonl", data)
    assert _error(path) == f"{path} is empty: no rows"


def test_non_utf8_bytes_name_line_byte_and_column(tmp_path):
    path = _write(tmp_path, "data.jsonl", GOOD_ROW * 2 + b'{"a"\xff: 1}\n')
    assert _error(path) == f"{path} line 3: not UTF-8 (byte 0xff at column 5)"


def test_non_utf8_in_a_json_array_names_the_line(tmp_path):
    path = _write(tmp_path, "data.json", b'[\n{"a": "x"},\n{"a": "\xe9"}\n]')
    assert _error(path) == f"{path} line 3: not UTF-8 (byte 0xe9 at column 8)"


@pytest.mark.parametrize("line, kind", [(b"[1, 2]", "a list"), (b'"text"', "a string"), (b"3", "a number"),
                                        (b"null", "null")])
def test_valid_json_that_is_not_an_object_is_named(tmp_path, line, kind):
    path = _write(tmp_path, "data.jsonl", GOOD_ROW + line + b"\n")
    message = _error(path)
    assert message.startswith(f"{path} line 2: {kind}, not a JSON object")


def test_malformed_json_array_names_line(tmp_path):
    path = _write(tmp_path, "data.json", b'[{"a": 1},\n {"a": 2,}]')
    assert _error(path).startswith(f"{path} line 2: not valid JSON (Expecting property name")


def test_empty_json_array(tmp_path):
    assert "no rows" in _error(_write(tmp_path, "data.json", b"[]"))


def test_json_array_item_that_is_not_an_object(tmp_path):
    assert "item 1 of the JSON array is a number, not a JSON object" in _error(
        _write(tmp_path, "data.json", b'[{"a": 1}, 3]'))


def test_empty_save_to_disk_dataset_has_no_rows(tmp_path):
    import datasets

    path = tmp_path / "empty.hf"
    datasets.Dataset.from_dict({"instruction": [], "samples": []}).save_to_disk(str(path))
    assert _error(path) == f"{path} has no rows (an empty dataset saved with save_to_disk)"


def test_folder_that_is_not_a_dataset(tmp_path):
    folder = tmp_path / "plain.hf"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    assert "is a folder but not a dataset saved with save_to_disk" in _error(folder)


def test_file_that_is_not_parquet(tmp_path):
    path = _write(tmp_path, "data.parquet", GOOD_ROW * 3)
    assert _error(path).startswith(f"{path} is not a parquet file")


def test_damaged_and_empty_parquet(tmp_path):
    import datasets

    good = tmp_path / "good.parquet"
    datasets.Dataset.from_dict({"a": [1, 2]}).to_parquet(str(good))
    raw = good.read_bytes()
    damaged = _write(tmp_path, "damaged.parquet", raw[:4] + b"x" * 40 + raw[-4:])
    assert _error(damaged).startswith(f"{damaged} is not a readable parquet file")
    empty = tmp_path / "empty.parquet"
    datasets.Dataset.from_dict({"a": []}).to_parquet(str(empty))
    assert _error(empty) == f"{empty} has no rows"


# ------------------------------------------------------------------ good files load as before
def test_good_files_load_unchanged(tmp_path):
    import datasets

    rows = [{"instruction": f"q{i}", "samples": [f"s{i}", None], "answer": str(i)} for i in range(5)]
    lines = "".join(json.dumps(r) + "\n" for r in rows).encode()
    files = {
        "rows.jsonl": lines,
        "lines.json": lines,  # JSON lines in a .json file
        "array.json": json.dumps(rows, indent=1).encode(),  # a JSON array, pretty-printed
        "bom.jsonl": b"\xef\xbb\xbf" + lines,
        "blank_lines.jsonl": lines.replace(b"\n", b"\n\n", 2),
    }
    for name, data in files.items():
        ds = load_dataset_from_path(str(_write(tmp_path, name, data)))
        assert ds.column_names == ["instruction", "samples", "answer"], name
        assert ds.to_list() == rows, name
    saved = tmp_path / "saved.hf"
    datasets.Dataset.from_list(rows).save_to_disk(str(saved))
    assert load_dataset_from_path(str(saved)).to_list() == rows
    parquet = tmp_path / "rows.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(parquet))
    assert load_dataset_from_path(str(parquet)).to_list() == rows
    # one JSON object spread over several lines (columns -> lists) is read by datasets as before
    columns = {"instruction": ["q0", "q1"], "answer": ["0", "1"]}
    ds = load_dataset_from_path(str(_write(tmp_path, "columns.json", json.dumps(columns, indent=2).encode())))
    assert len(ds) >= 1


def test_strings_array_keeps_the_text_column(tmp_path):
    ds = load_dataset_from_path(str(_write(tmp_path, "texts.json", b'["a", "b"]')))
    assert ds["text"] == ["a", "b"]


# ------------------------------------------------------------------ through the real CLIs
def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_stage2_cli_malformed_jsonl_is_one_line(tmp_path):
    path = _write(tmp_path, "data.jsonl", GOOD_ROW * 16 + b'{"instruction": "x" "samples": []}\n')
    line = _one_line_error(_cli([ROOT / "generation" / "unified_evaluation.py", "--input_path", path,
                                 "--output_path", tmp_path / "out.hf", "--dataset_type", "math"], tmp_path))
    assert line == f"error: {path} line 17: not valid JSON (Expecting ',' delimiter: column 21)"
    assert not (tmp_path / "out.hf").exists()


def test_stage2_cli_empty_dataset_is_one_line(tmp_path):
    import datasets

    path = tmp_path / "empty.hf"
    datasets.Dataset.from_dict({"instruction": [], "samples": []}).save_to_disk(str(path))
    line = _one_line_error(_cli([ROOT / "generation" / "unified_evaluation.py", "--input_path", path,
                                 "--output_path", tmp_path / "out.hf", "--dataset_type", "math"], tmp_path))
    assert line == f"error: {path} has no rows (an empty dataset saved with save_to_disk)"


def test_selection_cli_non_utf8_is_one_line(tmp_path):
    path = _write(tmp_path, "scores.jsonl", GOOD_ROW * 2 + b'{"a": "\xff"}\n')
    line = _one_line_error(_cli([ROOT / "selection" / "run.py", f"data_cfg.dataset_path={path}",
                                 f"output_dir={tmp_path / 'sel'}"], ROOT))
    assert line == f"error: {path} line 3: not UTF-8 (byte 0xff at column 8)"


def test_stage1_cli_row_that_is_not_an_object_is_one_line(tmp_path):
    path = _write(tmp_path, "problems.jsonl", GOOD_ROW + b"[1, 2]\n")
    line = _one_line_error(_cli([ROOT / "generation" / "generate_reasoning_samples.py", "--model", "smollm2",
                                 "--dataset", path, "--output_path", tmp_path / "out.hf", "--dry_run"], tmp_path))
    assert line.startswith(f"error: {path} line 2: a list, not a JSON object")
