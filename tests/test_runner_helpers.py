"""Fakes shared by the stage-3 runner tests (importable by subprocess workers as ``test_runner_helpers``).

No tests live here. The fake scorer follows the real ``load_scorer`` contract: built from a
spec, ``score(prompts, responses) -> list[ScoreResult]``; ``POISON`` in a response makes that
one sample fail, and env variables inject a crash or a load failure.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

CALLS_FILE = "FAKE_SCORER_CALLS"  # env: file where every scored response is counted (one line each)
CRASH_AFTER = "FAKE_SCORER_CRASH_AFTER"  # env: raise KeyboardInterrupt after this many score() calls
FAIL_LOAD = "FAKE_SCORER_FAIL_LOAD"  # env: comma list of spec names whose load fails
PLACEMENT_LOG = "FAKE_SCORER_PLACEMENT_LOG"  # env: file where each loaded scorer logs its placement


class FakeScorer:
    def __init__(self, spec, device="cpu", batch_size=4):
        if spec.name in os.environ.get(FAIL_LOAD, "").split(","):
            raise RuntimeError(f"cannot load {spec.name}: weights missing")
        self.spec = spec
        self.calls = 0
        if os.environ.get(PLACEMENT_LOG):  # which GPUs and device a worker was given
            with open(os.environ[PLACEMENT_LOG], "a") as fh:
                fh.write(json.dumps({"name": spec.name, "device": device, "batch_size": batch_size,
                                     "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}) + "\n")

    def score(self, prompts, responses):
        from verifiers.scorers.base import ScoreResult

        limit = os.environ.get(CRASH_AFTER)
        if limit is not None and self.calls >= int(limit):
            raise KeyboardInterrupt("simulated crash")
        self.calls += 1
        if os.environ.get(CALLS_FILE):
            with open(os.environ[CALLS_FILE], "a") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in responses)
        out = []
        for p, r in zip(prompts, responses):
            if "POISON" in r:
                out.append(ScoreResult.failed("poisoned sample"))
            elif self.spec.kind == "prm":
                steps = [len(part) / 100 for part in r.split("\n\n")]
                out.append(ScoreResult(score=min(steps), step_scores=steps))
            else:
                out.append(ScoreResult(score=len(r) / 10 + (0.5 if self.spec.name.endswith("b") else 0.0)))
        return out


def fake_load_scorer(spec, device="cpu", batch_size=4):
    return FakeScorer(spec, device, batch_size)


def make_seq_cls_folder(path: Path, name_or_path_config: dict | None = None) -> Path:
    """A folder that ``resolve_verifier`` accepts as a seq-cls RM (config only; the fake never loads it)."""
    path.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["LlamaForSequenceClassification"], "model_type": "llama", "num_hidden_layers": 1,
              "hidden_size": 8, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 64,
              "num_labels": 1, "torch_dtype": "float32", **(name_or_path_config or {})}
    (path / "config.json").write_text(json.dumps(config))
    return path


def make_dataset(path: Path, rows: int = 10, samples: int = 3, poison: tuple[int, int] | None = None) -> Path:
    import datasets

    data = {"instruction": [f"Problem {i}: what is {i} + {i}?" for i in range(rows)],
            "samples": [[f"Step one.\n\nSo {i} + {i} = {2 * i + s}. The answer is: {2 * i + s}" for s in range(samples)]
                        for i in range(rows)],
            "answer": [str(2 * i) for i in range(rows)]}
    if poison:
        data["samples"][poison[0]][poison[1]] = "POISON " + data["samples"][poison[0]][poison[1]]
    datasets.Dataset.from_dict(data).save_to_disk(str(path))
    return path
