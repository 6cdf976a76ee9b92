"""GPU placement planner: inventories, TP degrees, packing invariants, CPU fallback, --plan output."""
from __future__ import annotations

import json
import subprocess
from collections import defaultdict

import pytest

from toolkit.errors import InputError
from verifiers import placement as placement_module
from verifiers.catalog import VERIFIERS, judge_names, reward_model_names
from verifiers.placement import (GpuInfo, Placement, describe_gpus, detect_gpus, estimate_memory, parse_gpus,
                                 plan)
from verifiers.specs import VerifierSpec

RMS = [VERIFIERS.get(n) for n in reward_model_names()]
BIG = ("INFORM", "Qwen72B", "Qwen72BPRM")


def check_invariants(result):
    """Every wave fits in memory, TP groups divide heads and sit on same-size GPUs."""
    size = {g.id: g.total_gib for g in result.gpus}
    used = defaultdict(float)
    for p in result.placements:
        spec = VERIFIERS.get(p.name) if p.name in VERIFIERS else None
        if p.device != "cuda":
            assert p.gpu_ids == () and p.est_gib == 0.0
            continue
        assert len(p.gpu_ids) == p.tp == len(set(p.gpu_ids))
        assert len({size[i] for i in p.gpu_ids}) == 1
        if spec is not None:
            assert spec.num_attention_heads % p.tp == 0 and spec.num_kv_heads % p.tp == 0
        for gid in p.gpu_ids:
            used[(p.wave, gid)] += p.est_gib
    for (wave, gid), gib in used.items():
        assert gib <= size[gid] + 0.1, (wave, gid, gib)
    placed = {p.name for p in result.placements}
    assert not placed & {u.name for u in result.unplaceable}
    waves = [p.wave for p in result.placements]
    assert sorted(set(waves)) == list(range(len(set(waves))))  # no empty wave in between


def test_parse_gpus():
    assert [g.total_gib for g in parse_gpus("8x80")] == [80.0] * 8
    mixed = parse_gpus("2x80,4x24")
    assert [g.id for g in mixed] == list(range(6)) and [g.total_gib for g in mixed] == [80, 80, 24, 24, 24, 24]
    assert parse_gpus("cpu") == [] and parse_gpus("") == []
    assert parse_gpus("1x16GB")[0].total_gib == 16 and len(parse_gpus("40")) == 1
    assert describe_gpus(mixed) == "2x80+4x24 GiB" and describe_gpus([]) == "CPU only"
    for bad in ("eight", "8x", "0x80", "8x80,x"):
        with pytest.raises(InputError):
            parse_gpus(bad)


def test_8x80_places_all_22_in_few_waves_with_tp2_for_70b():
    result = plan(RMS, parse_gpus("8x80"), batch_size=4)
    check_invariants(result)
    assert not result.unplaceable and len(result.placements) == 22
    for name in BIG:
        assert result.placement(name).tp == 2
    assert result.placement("GRM").tp == 1 and result.placement("SkyworksGemma").tp == 1
    assert len(result.waves()) <= 3 < 22


def test_4x24_gives_27b_tp4_and_lists_70b_as_unplaceable_with_reasons():
    result = plan(RMS, parse_gpus("4x24"), batch_size=4)
    check_invariants(result)
    assert {u.name for u in result.unplaceable} == set(BIG)
    for u in result.unplaceable:
        assert "TP 8" in u.reason and "4x24" in u.reason
    assert result.placement("SkyworksGemma").tp == 4
    assert result.placement("InternLM2RewardModel").tp == 2
    assert result.placement("GRM").tp == 1


def test_1x16_runs_only_the_small_reward_models():
    result = plan(RMS, parse_gpus("1x16"), batch_size=4)
    check_invariants(result)
    assert {p.name for p in result.placements} == {"GRMLlama32", "GRMGemma"}
    reason = {u.name: u.reason for u in result.unplaceable}["GRM"]
    assert "TP 2" in reason and "16" in reason


def test_mixed_inventory_keeps_tp_groups_on_the_big_gpus():
    result = plan(RMS, parse_gpus("2x80,4x24"), batch_size=4)
    check_invariants(result)
    assert not result.unplaceable
    for name in BIG:
        assert result.placement(name).gpu_ids == (0, 1)
    assert len(result.waves()) < 22


def test_batch_and_length_change_the_estimate_and_the_plan():
    spec = VERIFIERS.get("GRM")
    small, large = estimate_memory(spec, 1, 1, 1024), estimate_memory(spec, 1, 32, 8192)
    assert small.total < large.total and small.weights == large.weights
    assert estimate_memory(spec, 2).weights == pytest.approx(estimate_memory(spec, 1).weights / 2)
    assert plan([spec], parse_gpus("1x24"), batch_size=32, max_length=8192).unplaceable


def test_judges_get_kv_cache_and_the_405b_needs_tp8():
    judges = [VERIFIERS.get(n) for n in judge_names()]
    result = plan(judges, parse_gpus("8x80"), batch_size=4)
    check_invariants(result)
    assert not result.unplaceable
    assert result.placement("Meta-Llama-3.1-405B-Instruct-quantized.w8a16").tp == 8
    assert result.placement("GPT-4o").device == "api" and result.placement("smollm2").device == "cpu"
    assert estimate_memory(VERIFIERS.get("Llama-3.1-8B-Instruct")).kv_cache > 0
    assert estimate_memory(VERIFIERS.get("GRM")).kv_cache == 0
    small = plan(judges, parse_gpus("4x24"), batch_size=4)
    assert "Meta-Llama-3.1-405B-Instruct-quantized.w8a16" in {u.name for u in small.unplaceable}


def _tiny_spec(name="tiny-rm", params_b=0.01):
    return VerifierSpec(name=name, hub_id=f"local/{name}", family="seq_cls", params_b=params_b, num_layers=2,
                        hidden_size=64, num_attention_heads=4, num_kv_heads=2, vocab_size=1000, description="t")


def test_cpu_only_runs_small_models_and_explains_the_rest():
    specs = [_tiny_spec(), VERIFIERS.get("GRM"), VERIFIERS.get("smollm2"), VERIFIERS.get("GPT-4o-mini")]
    result = plan(specs, parse_gpus("cpu"))
    check_invariants(result)
    devices = {p.name: p.device for p in result.placements}
    assert devices == {"tiny-rm": "cpu", "smollm2": "cpu", "GPT-4o-mini": "api"}
    assert "needs a GPU" in result.unplaceable[0].reason and result.unplaceable[0].name == "GRM"
    forced = plan(specs, [], allow_large_on_cpu=True)
    assert not forced.unplaceable and forced.placement("GRM").note and forced.warnings
    cpu_waves = [p.wave for p in forced.placements if p.device == "cpu" and p.name != "smollm2"]
    assert len(set(cpu_waves)) == len(cpu_waves)  # one CPU model at a time


def test_spreads_to_idle_gpus_within_a_wave():
    specs = [_tiny_spec(f"rm{i}") for i in range(4)]
    result = plan(specs, parse_gpus("4x24"))
    assert len(result.waves()) == 1
    assert sorted(p.gpu_ids for p in result.placements) == [(0,), (1,), (2,), (3,)]


def test_unknown_size_is_planned_as_8b_with_a_note():
    spec = VerifierSpec(name="adhoc", hub_id="org/adhoc", family="seq_cls", params_b=0.0)
    result = plan([spec], parse_gpus("1x80"))
    assert result.placement("adhoc").note.startswith("size unknown")


def test_plan_table_and_json_shape():
    result = plan(RMS + [VERIFIERS.get("GPT-4o")], parse_gpus("4x24"), batch_size=4)
    table = result.to_table()
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["wave", "model", "GPUs", "TP", "est"]
    assert any(line.startswith("not placed: INFORM:") for line in lines)
    assert lines[-1].endswith("on 4x24 GiB") and "wave(s)" in lines[-1]
    data = json.loads(result.to_json())
    assert set(data) >= {"gpus", "placements", "unplaceable", "waves", "gpu_waves", "batch_size"}
    row = data["placements"][0]
    assert set(row) >= {"name", "gpu_ids", "tp", "est_gib", "wave", "device", "gpu_memory_fraction"}
    assert 0 < row["gpu_memory_fraction"] <= 0.98
    assert {u["name"] for u in data["unplaceable"]} == set(BIG)


def test_placement_worker_env():
    p = Placement("x", (2, 3), 2, 30.0, 0)
    assert p.cuda_visible_devices == "2,3"
    assert Placement("y", (), 1, 0.0, 0, device="cpu").cuda_visible_devices == ""
    assert p.gpu_memory_fraction([GpuInfo(2, 40.0), GpuInfo(3, 40.0)]) == 0.75


def test_detect_gpus_reads_nvidia_smi(monkeypatch):
    monkeypatch.setattr(placement_module.shutil, "which", lambda _: "/usr/bin/nvidia-smi")

    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 0, stdout="0, 81559, NVIDIA H100 80GB HBM3\n1, 24564, NVIDIA A10\n")

    monkeypatch.setattr(placement_module.subprocess, "run", fake_run)
    gpus = detect_gpus()
    assert [(g.id, g.total_gib) for g in gpus] == [(0, 79.6), (1, 24.0)] and gpus[0].name.startswith("NVIDIA")


def test_detect_gpus_without_gpus_is_empty(monkeypatch):
    monkeypatch.setattr(placement_module.shutil, "which", lambda _: None)
    assert isinstance(detect_gpus(), list)
