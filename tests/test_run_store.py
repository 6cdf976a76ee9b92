"""The run store every stage shares: one lock per output, crash-safe replacement, identity vs the output.

Real processes, real locks: a holder subprocess is killed with SIGKILL, a swap is crashed with
SIGKILL between its two renames, and the stage-2 CLI is refused while another run holds the lock.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from toolkit import run_store
from toolkit.dataset_io import MANIFEST_NAME, read_manifest, save_dataset_atomic
from toolkit.errors import InputError
from toolkit.run_store import check_output_identity, output_lock, recover

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
       "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def _ds(tag: str, n: int = 3):
    import datasets as hf

    return hf.Dataset.from_dict({"x": list(range(n)), "tag": [tag] * n})


def _tags(path: Path) -> list[str]:
    import datasets as hf

    return hf.load_from_disk(str(path))["tag"]


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _holder(out: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from toolkit.run_store import output_lock
        with output_lock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    assert proc.stdout.readline().strip() == "locked"
    return proc


# ------------------------------------------------------------------ the lock
def test_second_run_is_refused_naming_the_holder_until_it_dies(tmp_path):
    out = tmp_path / "out.hf"
    proc = _holder(out)
    try:
        with pytest.raises(InputError) as info:
            with output_lock(out):
                pass
        message = str(info.value)
        assert f"pid {proc.pid}" in message and str(out) in message and "--output_path" in message
        assert "\n" not in message
        holder = json.loads((tmp_path / ".out.hf.lock").read_text())
        assert holder["pid"] == proc.pid and holder["host"] and holder["started"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / ".out.hf.lock").exists()  # a dead holder's file stays ...
    with output_lock(out) as lock:  # ... and is simply taken over: the kernel dropped the lock
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".out.hf.lock").exists()  # released and removed
    with output_lock(out):  # and can be taken again
        pass


def test_a_forked_child_does_not_keep_a_dead_holders_lock(tmp_path):
    out = tmp_path / "out.hf"
    code = textwrap.dedent(f"""
        import os, time
        from toolkit.run_store import output_lock
        with output_lock({str(out)!r}):
            child = os.fork()                 # e.g. a multiprocessing worker or an engine process
            if child == 0:
                time.sleep(120)
                os._exit(0)
            print(child, flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    child = int(proc.stdout.readline())
    try:
        with pytest.raises(InputError, match=f"pid {proc.pid}"):
            with output_lock(out):
                pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with output_lock(out):  # the orphaned child is still alive, the lock is not
            os.kill(child, 0)
    finally:
        for pid in (child, proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


def test_lock_is_per_output_path(tmp_path):
    with output_lock(tmp_path / "a.hf"), output_lock(tmp_path / "b.hf"):
        with pytest.raises(InputError, match=f"pid {os.getpid()}"):
            with output_lock(tmp_path / "a.hf"):
                pass


# ------------------------------------------------------------------ replacing an output
def test_exchange_replaces_without_a_missing_moment_and_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out.hf"
    save_dataset_atomic(_ds("old"), out, {"stage": "t"})
    used: list[bool] = []
    real = run_store.exchange_paths
    monkeypatch.setattr(run_store, "exchange_paths", lambda a, b: used.append(real(a, b)) or used[-1])
    missing: list[int] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if not os.path.lexists(out):
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(4):
            save_dataset_atomic(_ds(f"new{i}"), out, {"stage": "t"})
    finally:
        stop.set()
        watcher.join()
    if not all(used):
        pytest.skip("this filesystem cannot RENAME_EXCHANGE (the journalled fallback is tested below)")
    assert _tags(out) == ["new3"] * 3 and read_manifest(out)["stage"] == "t"
    assert not missing
    assert _leftovers(out) == []


def test_fallback_rename_failure_is_undone_in_process(tmp_path, monkeypatch):
    out = tmp_path / "out.hf"
    save_dataset_atomic(_ds("old"), out)
    monkeypatch.setattr(run_store, "exchange_paths", lambda a, b: False)
    real, calls = run_store._rename, []

    def second_fails_once(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(run_store, "_rename", second_fails_once)
    with pytest.raises(InputError, match=r"Input/output error \(errno 5\); the previous output is untouched"):
        save_dataset_atomic(_ds("new"), out)
    assert _tags(out) == ["old"] * 3 and _leftovers(out) == []
    save_dataset_atomic(_ds("new"), out)  # the fallback itself works
    assert _tags(out) == ["new"] * 3 and _leftovers(out) == []


def test_crash_between_the_two_renames_is_finished_by_recover(tmp_path):
    out = tmp_path / "out.hf"
    save_dataset_atomic(_ds("old"), out)
    code = textwrap.dedent(f"""
        import os, signal
        import datasets as hf
        from toolkit import run_store
        from toolkit.dataset_io import save_dataset_atomic
        run_store.exchange_paths = lambda a, b: False     # a filesystem without RENAME_EXCHANGE
        real, calls = run_store._rename, []
        def rename(src, dst):
            calls.append(src)
            if len(calls) == 2:                            # old moved aside, new not yet in: die here
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst)
        run_store._rename = rename
        save_dataset_atomic(hf.Dataset.from_dict({{"x": [0, 1, 2], "tag": ["new"] * 3}}), {str(out)!r},
                            {{"stage": "t"}})
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not out.exists()
    assert (tmp_path / ".out.hf.swap.json").exists()
    with output_lock(out):
        done = recover(out)
    assert done and "moved the finished new output into place" in done[0]
    assert _tags(out) == ["new"] * 3 and read_manifest(out)["stage"] == "t"
    assert _leftovers(out) == []


def test_recover_puts_the_old_output_back_when_the_new_one_is_gone(tmp_path):
    out = tmp_path / "out.hf"
    save_dataset_atomic(_ds("old"), out)
    old = tmp_path / ".out.hf.old-0123abcd"
    os.replace(out, old)
    (tmp_path / ".out.hf.tmp-89abcdef").mkdir()  # an unfinished temp folder (no journal: never moved in)
    (tmp_path / ".out.hf.tmp-x.tmp-01234567").mkdir()  # another output's leftover: not ours to touch
    recover(out)
    assert _tags(out) == ["old"] * 3
    assert _leftovers(out) == [".out.hf.tmp-x.tmp-01234567"]


def test_recover_with_nothing_to_do_is_a_no_op(tmp_path):
    assert recover(tmp_path / "nothing.hf") == []
    assert recover(tmp_path / "missing_parent" / "out.hf") == []


# ------------------------------------------------------------------ failures while writing
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")])
def test_disk_full_is_one_line_and_the_previous_output_is_untouched(tmp_path, monkeypatch, error):
    out = tmp_path / "out.hf"
    save_dataset_atomic(_ds("old"), out, {"stage": "t"})
    new = _ds("new")

    def full(path, *args, **kwargs):
        Path(path).mkdir()
        (Path(path) / "data-00000-of-00001.arrow").write_bytes(b"half")
        raise error

    monkeypatch.setattr(new, "save_to_disk", full)
    with pytest.raises(InputError) as info:
        save_dataset_atomic(new, out, {"stage": "t"})
    message = str(info.value)
    assert message == (f"could not write {out}: No space left on device (errno 28); "
                       "the previous output is untouched")
    assert _tags(out) == ["old"] * 3 and read_manifest(out)["stage"] == "t"
    assert _leftovers(out) == []


def test_manifest_write_failure_removes_the_temp_folder(tmp_path, monkeypatch):
    out = tmp_path / "out.hf"
    real = Path.write_text

    def failing(self, *args, **kwargs):
        if self.name == MANIFEST_NAME:
            raise OSError(122, "Disk quota exceeded")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(InputError, match=r"Disk quota exceeded \(errno 122\); nothing was written"):
        save_dataset_atomic(_ds("new"), out, {"stage": "t"})
    assert not out.exists() and _leftovers(out) == []


# ------------------------------------------------------------------ identity vs the finished output
def test_identity_is_checked_against_the_manifest(tmp_path):
    out = tmp_path / "out.hf"
    check_output_identity(out, "t", {"a": 1}, "things")  # no output yet: nothing to compare
    save_dataset_atomic(_ds("old"), out, {"stage": "t", "run_identity": {"a": 1, "b": [1, 2]}})
    check_output_identity(out, "t", {"a": 1, "b": (1, 2)}, "things")  # same settings (JSON-equal)
    with pytest.raises(InputError, match=r"a: was 1, now 2\).*delete .*or use another --output_path"):
        check_output_identity(out, "t", {"a": 2, "b": [1, 2]}, "things")
    with pytest.raises(InputError, match=r"pass --overwrite to replace it"):
        check_output_identity(out, "t", {"a": 2, "b": [1, 2]}, "things", overwrite_flag="--overwrite")
    check_output_identity(out, "t", {"a": 2}, "things", overwrite=True)
    save_dataset_atomic(_ds("older"), tmp_path / "plain.hf", {"stage": "t"})  # written before identities
    check_output_identity(tmp_path / "plain.hf", "t", {"a": 2}, "things")


ROWS = [{"id": i, "instruction": f"q{i}", "answer": "ABCD"[i % 4],
         "samples": [f"The answer is ({'ABCD'[i % 4]}).", "Answer: B"]} for i in range(4)]


@pytest.fixture
def stage2_input(tmp_path):
    import datasets as hf

    path = tmp_path / "in.hf"
    hf.Dataset.from_list(ROWS).save_to_disk(str(path))
    return path


def test_stage2_rerun_with_other_settings_is_refused_after_the_progress_folder_is_gone(stage2_input, tmp_path):
    from generation.evaluation import EvaluationConfig, evaluate

    out = tmp_path / "out.hf"

    def config(**kw):
        return EvaluationConfig(input_path=str(stage2_input), output_path=str(out), dataset_type="mmlu",
                                no_llm=True, **kw)

    evaluate(config())
    assert read_manifest(out)["run_identity"]["dataset_type"] == "mmlu"
    shutil.rmtree(tmp_path / "out.hf.progress")
    with pytest.raises(InputError, match=r"holds grades made with other settings \(float_rounding: was 6, now 3\)"):
        evaluate(config(float_rounding=3))
    assert not (tmp_path / "out.hf.progress").exists()  # the refused run wrote nothing
    report = evaluate(config())  # the same settings are welcome
    assert report.rows == 4 and _leftovers(out) == []


def test_stage2_cli_refuses_a_second_concurrent_run(stage2_input, tmp_path):
    out = tmp_path / "out.hf"
    with output_lock(out):
        proc = subprocess.run([sys.executable, str(ROOT / "generation" / "unified_evaluation.py"),
                               "--input_path", str(stage2_input), "--output_path", str(out),
                               "--dataset_type", "mmlu", "--no_llm"],
                              env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: another run (pid ") and str(out) in lines[0]
    assert f"pid {os.getpid()}," in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "out.hf.progress").exists()
