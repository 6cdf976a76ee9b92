"""Reading stage inputs and writing stage outputs.

Outputs are written atomically: the dataset goes to a temporary sibling folder, then is
renamed into place, so a crash never leaves a half-written dataset at the output path.
Every output carries ``toolkit_manifest.json``: stage, resolved config, versions, counts.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

MANIFEST_NAME = "toolkit_manifest.json"
_VERSIONED = ("datasets", "pyarrow", "transformers", "torch", "vllm", "llama_cpp_python", "sympy", "numpy")


_JSON_SCAN_CHUNK = 1 << 16


def _json_error(shown: str, lineno: int, exc: json.JSONDecodeError, colno: int | None = None) -> InputError:
    return InputError(f"{shown} line {lineno}: not valid JSON ({exc.msg}: column {colno or exc.colno})")


def _utf8_error(shown: str, lineno: int, exc: UnicodeDecodeError, column_offset: int = 0) -> InputError:
    bad = exc.object[exc.start:exc.start + 1]
    return InputError(f"{shown} line {lineno}: not UTF-8 (byte 0x{bad.hex()} at column "
                      f"{exc.start - column_offset + 1})")


def _type_name(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _first_byte(p: Path) -> bytes:
    """The first non-whitespace byte of the file (after a UTF-8 BOM), or b"" when there is none."""
    with open(p, "rb") as f:
        head = f.read(4096)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        while head:
            stripped = head.lstrip()
            if stripped:
                return stripped[:1]
            head = f.read(_JSON_SCAN_CHUNK)
    return b""


def _check_json_lines(p: Path, shown: str) -> tuple[int, InputError | None]:
    """Scan a JSON-lines file once, line by line: (rows, the first problem or None)."""
    rows = 0
    with open(p, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return rows, _utf8_error(shown, lineno, exc)
            if not line.strip():
                continue
            try:
                value = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                problem = _json_error(shown, lineno, exc, exc.pos + 1)
                problem.__cause__ = exc
                return rows, problem
            if not isinstance(value, dict):
                return rows, InputError(f"{shown} line {lineno}: {_type_name(value)}, not a JSON object "
                                        "(each line must be one row like {\"column\": value, ...})")
            rows += 1
    return rows, None


def _check_json_document(p: Path, shown: str) -> Any:
    """Parse a whole-file JSON document (an array of rows, or one object); problems name the line."""
    raw = p.read_bytes()
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        exc.start = offset
        exc.object = raw
        raise _utf8_error(shown, raw.count(b"\n", 0, offset) + 1, exc, line_start) from None
    del raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(shown, exc.lineno, exc) from None


def _check_json_file(p: Path, shown: str) -> None:
    """Cheap checks before ``datasets`` reads a ``.json``/``.jsonl`` file: one pass, one line at a time.

    JSON lines (the usual case) are streamed; a file that starts with ``[`` is a JSON array of rows;
    a single (pretty-printed) JSON object is left to ``datasets`` once it parses.
    """
    first = _first_byte(p)
    if not first:
        raise InputError(f"{shown} is empty: no rows")
    if first == b"[":
        value = _check_json_document(p, shown)
        if not isinstance(value, list) or not value:
            raise InputError(f"{shown} is an empty JSON array: no rows")
        kinds = {type(v) for v in value}
        if kinds != {dict} and kinds != {str}:
            i, bad = next((i, v) for i, v in enumerate(value) if not isinstance(v, dict))
            raise InputError(f"{shown} item {i} of the JSON array is {_type_name(bad)}, not a JSON object")
        return
    rows, problem = _check_json_lines(p, shown)
    if problem is None:
        if not rows:
            raise InputError(f"{shown} is empty: no rows")
        return
    if rows == 0 and first == b"{" and isinstance(problem.__cause__, json.JSONDecodeError):
        # Not JSON lines; perhaps one JSON object spread over several lines (datasets reads those).
        try:
            value = _check_json_document(p, shown)
        except InputError as doc_problem:
            raise (problem if _looks_like_json_lines(p) else doc_problem) from None
        if isinstance(value, dict):
            return
    raise problem


def _looks_like_json_lines(p: Path, limit: int = 1000) -> bool:
    """One non-blank line, or a later line that starts a new object: JSON lines, not one document."""
    seen = 0
    with open(p, "rb") as f:
        for _, raw in zip(range(limit), f):
            line = raw.strip()
            if not line:
                continue
            seen += 1
            if seen > 1 and line.startswith(b"{"):
                return True
    return seen <= 1


def _check_parquet_file(p: Path, shown: str) -> None:
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"{shown} is empty: no rows")
    with open(p, "rb") as f:
        head = f.read(4)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise InputError(f"{shown} is not a parquet file (it lacks the PAR1 markers a parquet file starts and "
                         "ends with); use .jsonl for JSON lines")
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(p).metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - a damaged footer; named in one line
        raise InputError(f"{shown} is not a readable parquet file ({_one_line(exc)})") from None
    if rows == 0:
        raise InputError(f"{shown} has no rows")


def _one_line(exc: BaseException) -> str:
    """``Type: message`` of the innermost cause (datasets wraps the useful error), on one line."""
    seen = 0
    while exc.__cause__ is not None and seen < 5:
        exc, seen = exc.__cause__, seen + 1
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _saved_row_counts(p: Path) -> list[int] | None:
    """Rows per data file listed by a ``save_to_disk`` folder's state.json files (None: not such a folder)."""
    states = [p / "state.json"] if (p / "state.json").is_file() else []
    if (p / "dataset_dict.json").is_file():
        try:
            splits = json.loads((p / "dataset_dict.json").read_text()).get("splits") or []
        except (OSError, ValueError, AttributeError):
            return None
        states += [p / s / "state.json" for s in splits if (p / s / "state.json").is_file()]
    if not states:
        return None
    counts = []
    for state in states:
        try:
            counts.append(len(json.loads(state.read_text()).get("_data_files") or []))
        except (OSError, ValueError, AttributeError):
            return None
    return counts


def _load_saved_folder(p: Path, path: str, split: str | None):
    import datasets as hf

    files = _saved_row_counts(p)
    if files is None:
        raise InputError(f"{path} is a folder but not a dataset saved with save_to_disk "
                         "(no state.json or dataset_dict.json in it)")
    try:
        obj = hf.load_from_disk(str(p))
    except Exception as exc:  # noqa: BLE001 - re-raised with the path named
        if files and not any(files):
            raise InputError(f"{path} has no rows (an empty dataset saved with save_to_disk)") from None
        raise InputError(f"{path} could not be loaded with load_from_disk ({_one_line(exc)})") from None
    if isinstance(obj, hf.DatasetDict):
        name = split or ("data" if "data" in obj else next(iter(obj)))
        if name not in obj:
            raise InputError(f"{path} has no split {name!r}; it has {', '.join(obj)}")
        obj = obj[name]
    if len(obj) == 0:
        raise InputError(f"{path} has no rows")
    return obj


def load_dataset_from_path(path: str, split: str | None = None):
    """Load a ``save_to_disk`` folder, ``.jsonl``/``.json``/``.parquet`` file, or hub id as a Dataset.

    Bad input is one ``InputError`` line naming the file and, for JSON, the line: malformed JSON,
    bytes that are not UTF-8, a row that is not an object, an empty file or dataset.
    """
    import datasets as hf

    p = Path(path)
    if p.is_dir():
        return _load_saved_folder(p, path, split)
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".parquet"):
        if not p.exists():
            raise InputError(f"input file {path} does not exist")
        kind = "parquet" if suffix == ".parquet" else "json"
        if kind == "json":
            _check_json_file(p, path)
        else:
            _check_parquet_file(p, path)
        try:
            obj = hf.load_dataset(kind, data_files=str(p), split="train")
        except Exception as exc:  # noqa: BLE001 - re-raised with the path named, in one line
            raise InputError(f"{path} could not be read as {kind} ({_one_line(exc)})") from None
        if len(obj) == 0:
            raise InputError(f"{path} has no rows")
        return obj
    if path.endswith(".hf") or os.sep in path and not _looks_like_hub_id(path):
        raise InputError(f"input dataset {path} does not exist")
    if not _looks_like_hub_id(path):
        raise InputError(f"{path!r} is neither an existing file/folder nor a hub id like org/name")
    try:
        obj = hf.load_dataset(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"could not load hub dataset {path!r}: {exc}") from exc
    name = split or ("data" if "data" in obj else next(iter(obj)))
    return obj[name]


def _looks_like_hub_id(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and all(parts) and not path.startswith((".", "/"))


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            continue
    return out


def git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_manifest(stage: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The manifest dict; config and extras pass through ``toolkit.secrets.redact`` (no key reaches disk)."""
    from toolkit.secrets import redact

    return {
        "stage": stage,
        "created_unix": time.time(),
        "config": redact(config),
        "versions": package_versions(),
        "git_revision": git_revision(),
        **redact(extra),
    }


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``toolkit_manifest.json`` of a saved output; None when absent, unreadable or not an object."""
    f = Path(path) / MANIFEST_NAME
    try:
        value = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def save_dataset_atomic(dataset, output_path: str | os.PathLike, manifest: dict[str, Any] | None = None,
                        input_path: str | os.PathLike | None = None) -> Path:
    """Write ``dataset`` to ``output_path`` atomically, with the manifest beside its files.

    Earlier stages' manifests are kept under ``history`` so one folder tells the whole story.
    """
    out = Path(output_path).resolve()
    if input_path is not None and Path(input_path).resolve() == out:
        raise InputError(f"output path {output_path} is the input path: inputs are never overwritten in place")
    from toolkit.run_store import swap_into_place, temp_sibling

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"could not write {out}: {_os_error_text(exc)}") from exc
    tmp = temp_sibling(out)
    try:
        dataset.save_to_disk(str(tmp))
        if manifest is not None:
            history = []
            if input_path is not None:
                previous = read_manifest(input_path)
                if previous:
                    history = previous.pop("history", []) + [previous]
            manifest = {**manifest, "history": history}
            (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
        # No moment without an output: an atomic exchange, or journalled renames recover() can finish.
        swap_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        untouched = "the previous output is untouched" if out.exists() else "nothing was written"
        raise InputError(f"could not write {out}: {_os_error_text(exc)}; {untouched}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _os_error_text(exc: OSError) -> str:
    """``No space left on device (errno 28)``: one line, also for pyarrow's errno-in-the-message errors."""
    import re

    code = exc.errno
    if not code:
        found = re.search(r"errno:? ?(\d+)", str(exc), re.IGNORECASE)
        code = int(found.group(1)) if found else None
    if code:
        return f"{exc.strerror or os.strerror(code)} (errno {code})"
    return " ".join(str(exc).split()) or type(exc).__name__
