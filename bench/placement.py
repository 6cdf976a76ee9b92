"""GPU placement for all 22 reference RMs/PRMs: our plan vs the reference's loading strategy.

The reference loads each model with ``device_map="auto"`` across every GPU, one model at a
time: one model per wave, every GPU held for each wave. A fairer baseline gives each model its
own GPU(s) (the TP degree our planner picks) with no sharing, packing those into waves. Ours
packs several models per GPU by estimated memory. Printed per inventory: waves (load-and-run
rounds), GPU-waves (sum over waves of GPUs held) and the ratios. No GPU or download needed:
this compares plans built from the specs' architecture numbers.

    python bench/placement.py [--gpus 8x80 4x24] [--batch_size 4]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifiers.catalog import VERIFIERS, reward_model_names  # noqa: E402
from verifiers.placement import describe_gpus, estimate_memory, parse_gpus, plan  # noqa: E402


def reference_device_map_auto(specs, gpus, batch_size):
    """One model per wave across all GPUs; a model that exceeds all GPUs together fails."""
    total = sum(g.total_gib for g in gpus)
    loaded = [s for s in specs if estimate_memory(s, len(gpus), batch_size).total * len(gpus) <= total * 1.0]
    return len(loaded), len(loaded) * len(gpus), len(loaded)


def one_model_per_gpu(ours, gpus):
    """Each placed model alone on its GPU(s) at our TP degree, first-fit-decreasing into waves."""
    waves: list[set[int]] = []
    size = {g.id: g.total_gib for g in gpus}
    for p in sorted((p for p in ours.placements if p.device == "cuda"), key=lambda p: -p.tp):
        need_size = size[p.gpu_ids[0]]
        for busy in waves + [None]:
            if busy is None:
                busy = set()
                waves.append(busy)
            free = [g.id for g in gpus if g.id not in busy and size[g.id] >= need_size
                    and (p.tp == 1 or size[g.id] == need_size)]
            if len(free) >= p.tp:
                busy.update(free[: p.tp])
                break
    return len(waves), sum(len(w) for w in waves)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", nargs="+", default=["8x80", "4x24"])
    parser.add_argument("--batch_size", type=int, default=4)
    args = parser.parse_args(argv)
    specs = [VERIFIERS.get(n) for n in reward_model_names()]
    for inventory in args.gpus:
        gpus = parse_gpus(inventory)
        ours = plan(specs, gpus, batch_size=args.batch_size)
        placed = sum(1 for p in ours.placements if p.device == "cuda")
        our_waves, our_gpu_waves = len(ours.waves()), ours.gpu_waves
        ref_waves, ref_gpu_waves, ref_loaded = reference_device_map_auto(specs, gpus, args.batch_size)
        solo_waves, solo_gpu_waves = one_model_per_gpu(ours, gpus)
        print(f"== {len(specs)} RMs/PRMs on {describe_gpus(gpus)}, batch {args.batch_size} ==")
        print(ours.to_table())
        print()
        print(f"{'approach':<42}{'models':>7}{'waves':>7}{'GPU-waves':>11}")
        print(f"{'reference: device_map=auto, 1 model/wave':<42}{ref_loaded:>7}{ref_waves:>7}{ref_gpu_waves:>11}")
        print(f"{'one model per GPU (our TP), no sharing':<42}{placed:>7}{solo_waves:>7}{solo_gpu_waves:>11}")
        print(f"{'ours: packed waves':<42}{placed:>7}{our_waves:>7}{our_gpu_waves:>11}")
        if our_waves:
            print(f"ratio reference/ours: waves {ref_waves / our_waves:.1f}x, GPU-waves "
                  f"{ref_gpu_waves / our_gpu_waves:.1f}x; one-per-GPU/ours: waves {solo_waves / our_waves:.1f}x, "
                  f"GPU-waves {solo_gpu_waves / our_gpu_waves:.1f}x")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
