"""Stage-3 CLI without models: --help, --plan / --plan_json load nothing, bad input exits 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "generation" / "unified_RMs_and_LM_Judges.py"

PROBE = """
import json, sys
sys.argv = ["x"] + json.loads(sys.argv[1])
sys.path.insert(0, {root!r})
import runpy
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "transformers", "vllm", "datasets", "pyarrow", "llama_cpp") if m in sys.modules)
print("HEAVY=" + json.dumps(heavy))
sys.exit(code)
"""


def _run(args, cwd=ROOT):
    code = PROBE.format(root=str(ROOT), script=str(SCRIPT))
    return subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_help_is_instant_and_lists_weaver_flags():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60,
                         cwd=ROOT / "generation")
    assert out.returncode == 0
    for flag in ("--dataset_path", "--output_path", "--reward_models", "--lm_judges", "--batch_size",
                 "--verdicts_per_sample", "--max_rows", "--max_samples", "--start_row", "--end_row",
                 "--sequential_rm_processing", "--push_to_hub", "--plan", "--plan_json", "--gpus", "--overwrite",
                 "--judge_base_url", "--judge_model", "--critique", "--temperature", "--max_new_tokens",
                 "--concurrency"):
        assert flag in out.stdout


def test_plan_prints_table_and_writes_json_without_loading_anything(tmp_path):
    plan_json = tmp_path / "plan.json"
    out = _run(["--plan", "--reward_models", "GRM,ArmorRM,QwenPRM,INFORM,Qwen72BPRM",
                "--lm_judges", "GPT-4o-mini,smollm2", "--gpus", "8x80", "--plan_json", str(plan_json)])
    assert out.returncode == 0, out.stderr
    assert "HEAVY=[]" in out.stdout
    for name in ("GRM", "ArmorRM", "QwenPRM", "INFORM", "Qwen72BPRM", "GPT-4o-mini", "smollm2"):
        assert name in out.stdout
    assert "wave" in out.stdout and "TP" in out.stdout
    plan = json.loads(plan_json.read_text())
    by_name = {p["name"]: p for p in plan["placements"]}
    assert by_name["INFORM"]["tp"] >= 2 and by_name["Qwen72BPRM"]["tp"] >= 2
    assert by_name["GPT-4o-mini"]["device"] == "api" and by_name["smollm2"]["device"] == "cpu"
    assert not plan["unplaceable"]


def test_plan_json_alone_exits_without_output_path_from_inside_generation(tmp_path):
    plan_json = tmp_path / "p.json"
    out = _run(["--plan_json", str(plan_json), "--reward_models", "GRM", "--gpus", "1x24"], cwd=ROOT / "generation")
    assert out.returncode == 0, out.stderr
    assert "HEAVY=[]" in out.stdout
    assert json.loads(plan_json.read_text())["placements"][0]["name"] == "GRM"


def test_plan_on_cpu_lists_big_models_as_not_placed():
    out = _run(["--plan", "--reward_models", "GRM", "--lm_judges", "smollm2", "--gpus", "cpu"])
    assert out.returncode == 0
    assert "not placed: GRM" in out.stdout and "smollm2" in out.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    out = _run(["--plan", "--reward_models", "GRMM"])
    assert out.returncode == 2 and "Did you mean" in out.stderr and "Traceback" not in out.stderr
    out = _run(["--plan"])
    assert out.returncode == 2 and "nothing to score" in out.stderr
    out = _run(["--dataset_path", str(tmp_path / "missing.hf"), "--output_path", str(tmp_path / "o.hf"),
                "--lm_judges", "smollm2", "--batch_size", "0"])
    assert out.returncode == 2 and "--batch_size" in out.stderr
    out = _run(["--plan", "--lm_judges", "GRM"])
    assert out.returncode == 2 and "--reward_models" in out.stderr
