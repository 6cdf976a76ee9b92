"""Where each verifier runs: memory estimates from specs, and a packing plan over GPUs in waves.

The reference loads every model with ``device_map="auto"`` across all GPUs, one after the
other: every model holds the whole machine for its turn. Here each model gets the memory it
needs and no more: models are packed onto GPUs first-fit-decreasing into *waves* (all
placements of a wave run at the same time, each in its own worker with ``CUDA_VISIBLE_DEVICES``
set to ``Placement.gpu_ids``), spread over idle GPUs within a wave, and models too big for one
GPU get the smallest tensor-parallel degree that fits and divides their attention and KV heads.

Estimates are planning figures, not promises: weights at their storage dtype, activations at
batch x max_length, KV cache for vLLM judges, a CUDA context per process, plus 10% headroom.
Nothing here imports torch unless ``detect_gpus`` falls back to it.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable, Sequence

from toolkit.errors import InputError
from verifiers.specs import VerifierSpec

GIB = 1024 ** 3
HEADROOM = 1.10
CUDA_CONTEXT_GIB = {"transformers": 0.5, "vllm": 1.0}
# Peak working set of one forward pass, in hidden-size units per token: residual stream, attention
# in/out, and the MLP's up/gate projections (~3.5x hidden, twice) live at once.
ACTIVATION_HIDDEN_FACTOR = 11
VLLM_MAX_BATCHED_TOKENS = 8192
CPU_PARAMS_LIMIT_B = 1.0


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: its index (what ``CUDA_VISIBLE_DEVICES`` names) and total memory in GiB."""

    id: int
    total_gib: float
    name: str = ""


@dataclass(frozen=True)
class MemoryEstimate:
    """Per-GPU GiB for one model at one tensor-parallel degree, by part."""

    weights: float
    activations: float
    kv_cache: float
    cuda_context: float
    total: float


@dataclass(frozen=True)
class Placement:
    """One verifier's slot in the plan."""

    name: str
    gpu_ids: tuple[int, ...]
    tp: int
    est_gib: float
    """Estimated GiB on each of its GPUs (0 on CPU / API)."""
    wave: int
    device: str = "cuda"
    """``cuda``, ``cpu`` (small models, llama.cpp) or ``api`` (no local compute)."""
    note: str = ""

    @property
    def cuda_visible_devices(self) -> str:
        """Value for the worker's ``CUDA_VISIBLE_DEVICES`` (empty: hide every GPU)."""
        return ",".join(str(i) for i in self.gpu_ids)

    def gpu_memory_fraction(self, gpus: Sequence[GpuInfo]) -> float:
        """Share of its GPUs' memory this placement may take (vLLM ``gpu_memory_utilization``)."""
        if not self.gpu_ids:
            return 0.0
        smallest = min(g.total_gib for g in gpus if g.id in self.gpu_ids)
        return round(min(0.95, self.est_gib / smallest), 3)


@dataclass(frozen=True)
class Unplaceable:
    name: str
    reason: str


@dataclass
class Plan:
    """Placements grouped in waves, plus what could not be placed and why."""

    placements: list[Placement]
    unplaceable: list[Unplaceable]
    gpus: list[GpuInfo]
    batch_size: int
    max_length: int | None = None
    warnings: list[str] = field(default_factory=list)

    def waves(self) -> list[list[Placement]]:
        """Placements per wave, wave 0 first."""
        count = max((p.wave for p in self.placements), default=-1) + 1
        return [[p for p in self.placements if p.wave == w] for w in range(count)]

    @property
    def num_gpu_waves(self) -> int:
        """How many waves need a GPU (CPU/API placements run beside them)."""
        return len({p.wave for p in self.placements if p.device == "cuda"})

    @property
    def gpu_waves(self) -> int:
        """Sum over waves of the GPUs busy in that wave (the GPU-time the plan holds)."""
        return sum(len({i for p in wave for i in p.gpu_ids}) for wave in self.waves())

    def placement(self, name: str) -> Placement:
        for p in self.placements:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "gpus": [asdict(g) for g in self.gpus],
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "waves": len(self.waves()),
            "gpu_waves": self.gpu_waves,
            "placements": [dict(asdict(p), gpu_ids=list(p.gpu_ids),
                                gpu_memory_fraction=p.gpu_memory_fraction(self.gpus))
                           for p in self.placements],
            "unplaceable": [asdict(u) for u in self.unplaceable],
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_table(self) -> str:
        """The ``--plan`` printout: one row per model, then what could not be placed."""
        header = ("wave", "model", "GPUs", "TP", "est GiB/GPU", "note")
        rows = [(str(p.wave), p.name, p.cuda_visible_devices or p.device, str(p.tp),
                 f"{p.est_gib:.1f}" if p.device == "cuda" else "-", p.note) for p in self.placements]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
        lines += [fmt.format(*r).rstrip() for r in rows]
        for u in self.unplaceable:
            lines.append(f"not placed: {u.name}: {u.reason}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        inventory = describe_gpus(self.gpus)
        lines.append(f"{len(self.waves())} wave(s), {self.gpu_waves} GPU-wave(s) on {inventory}")
        return "\n".join(lines)


# ------------------------------------------------------------------ inventory
_GROUP = re.compile(r"^\s*(?:(\d+)\s*[xX*]\s*)?(\d+(?:\.\d+)?)\s*(?:gb|gib|g)?\s*$", re.IGNORECASE)


def parse_gpus(text: str) -> list[GpuInfo]:
    """``"8x80"``, ``"4x24"``, ``"2x80,4x24"``, ``"1x16"``, ``"80"`` or ``"cpu"`` -> GPUs (ids in order).

    Sizes are the card's nominal memory, taken as GiB (an "80 GB" H100 reports ~79.6 GiB).
    """
    text = (text or "").strip()
    if text.lower() in ("cpu", "none", "0", ""):
        return []
    gpus: list[GpuInfo] = []
    for part in text.split(","):
        match = _GROUP.match(part)
        if not match:
            raise InputError(f"cannot read GPU inventory {text!r}: expected e.g. 8x80, 4x24, 2x80,4x24 or cpu")
        count, size = int(match.group(1) or 1), float(match.group(2))
        if count < 1 or size <= 0:
            raise InputError(f"GPU inventory {text!r}: count and size must be positive")
        gpus += [GpuInfo(id=len(gpus) + i, total_gib=size) for i in range(count)]
    return gpus


def detect_gpus() -> list[GpuInfo]:
    """The GPUs of this machine: nvidia-smi if present, else torch.cuda; [] when there are none."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=index,memory.total,name", "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=20, check=True).stdout
            gpus = []
            for line in out.strip().splitlines():
                index, mib, name = (x.strip() for x in line.split(",", 2))
                gpus.append(GpuInfo(id=int(index), total_gib=round(float(mib) / 1024, 1), name=name))
            return gpus
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [GpuInfo(id=i, total_gib=round(torch.cuda.get_device_properties(i).total_memory / GIB, 1),
                    name=torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]


def describe_gpus(gpus: Sequence[GpuInfo]) -> str:
    """``8x80 GiB`` / ``2x80+4x24 GiB`` / ``CPU only``."""
    if not gpus:
        return "CPU only"
    groups: list[list] = []
    for g in gpus:
        if groups and groups[-1][1] == g.total_gib:
            groups[-1][0] += 1
        else:
            groups.append([1, g.total_gib])
    return "+".join(f"{n}x{size:g}" for n, size in groups) + " GiB"


# ------------------------------------------------------------------ memory
def estimate_memory(spec: VerifierSpec, tp: int = 1, batch_size: int = 4,
                    max_length: int | None = None) -> MemoryEstimate:
    """Per-GPU GiB for ``spec`` split over ``tp`` GPUs at this batch size and max length."""
    seq = max_length or spec.max_length
    params = (spec.params_b + spec.reference_params_b) * 1e9
    weights = params * spec.weight_bytes_per_param / GIB
    kv = 0.0
    if spec.runtime == "vllm":
        # vLLM never materializes full-vocab logits for all tokens; it budgets a chunk of prefill
        # tokens for activations and a KV cache for batch_size full-length sequences.
        act_tokens = min(VLLM_MAX_BATCHED_TOKENS, batch_size * seq)
        kv_per_token = 2 * spec.num_layers * spec.num_kv_heads * spec.effective_head_dim * spec.act_bytes
        kv = kv_per_token * batch_size * seq / GIB
        logits = 0.0
    else:
        act_tokens = batch_size * seq
        # Implicit PRMs need per-token log-probs over the vocabulary (bf16 logits + fp32 log-softmax).
        logits = (act_tokens * spec.vocab_size * (spec.act_bytes + 4) / GIB
                  if spec.family == "prm_implicit" else 0.0)
    activations = act_tokens * spec.hidden_size * ACTIVATION_HIDDEN_FACTOR * spec.act_bytes / GIB + logits
    context = CUDA_CONTEXT_GIB.get(spec.runtime, 0.0)
    per_gpu = (weights + activations + kv) / tp
    total = per_gpu * HEADROOM + context
    return MemoryEstimate(weights=weights / tp, activations=activations / tp, kv_cache=kv / tp,
                          cuda_context=context, total=round(total, 2))


def valid_tp_degrees(spec: VerifierSpec, limit: int) -> list[int]:
    """TP degrees up to ``limit`` that divide the attention heads and the KV heads."""
    heads, kv = spec.num_attention_heads, spec.num_kv_heads or spec.num_attention_heads
    if not heads:
        return [1]
    return [d for d in range(1, limit + 1) if heads % d == 0 and kv % d == 0]


# ------------------------------------------------------------------ planning
@dataclass(frozen=True)
class _Option:
    """One way to run a model: ``tp`` GPUs of the ``capacity`` size class, ``per_gpu`` GiB each."""

    capacity: float
    tp: int
    per_gpu: float


@dataclass
class _Item:
    spec: VerifierSpec
    options: list[_Option]  # preferred first: fewest GPUs, then the smallest GPUs that fit
    note: str = ""

    @property
    def weight(self) -> float:
        first = self.options[0]
        return first.tp * first.per_gpu


def plan(specs: Iterable[VerifierSpec], gpus: Sequence[GpuInfo], batch_size: int = 4,
         max_length: int | None = None, allow_large_on_cpu: bool = False) -> Plan:
    """Pack ``specs`` onto ``gpus`` in waves; API and llama.cpp judges need no GPU.

    ``max_length`` overrides each RM/PRM spec's own max length for the estimate (None: the spec's);
    judges keep their context length.
    Without GPUs, models under ~1B parameters run on the CPU; ``allow_large_on_cpu`` puts every
    model there (with a warning) instead of listing the big ones as unplaceable.
    """
    specs = list(specs)
    gpus = list(gpus)
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    placements: list[Placement] = []
    unplaceable: list[Unplaceable] = []
    warnings: list[str] = []
    gpu_items: list[_Item] = []
    cpu_wave = 0
    for spec in specs:
        if spec.runtime == "api":
            placements.append(Placement(spec.name, (), 1, 0.0, 0, device="api"))
        elif spec.runtime == "llama_cpp":
            placements.append(Placement(spec.name, (), 1, 0.0, 0, device="cpu"))
        elif not gpus:
            if (spec.params_b and spec.params_b < CPU_PARAMS_LIMIT_B) or allow_large_on_cpu:
                note = "" if spec.params_b and spec.is_small else "large model on CPU: slow"
                if note:
                    warnings.append(f"{spec.name} ({spec.params_b:g}B) runs on the CPU; expect it to be slow")
                # One CPU model at a time: they share the same cores and RAM.
                placements.append(Placement(spec.name, (), 1, 0.0, cpu_wave, device="cpu", note=note))
                cpu_wave += 1
            else:
                unplaceable.append(Unplaceable(spec.name, f"{spec.params_b:g}B parameters needs a GPU and none "
                                                          "is available (only models under 1B run on the CPU)"))
        else:
            # A judge's max length is its context (prompt + verdict), not the RMs' truncation length.
            item = _size_for_gpus(spec, gpus, batch_size, None if spec.kind == "judge" else max_length)
            if isinstance(item, Unplaceable):
                unplaceable.append(item)
            else:
                gpu_items.append(item)
    # Try a few greedy variants and keep the one with the fewest waves, then the fewest GPU-waves.
    candidates = [_pack(gpu_items, gpus, spread, alternatives)
                  for alternatives in (True, False) for spread in (True, False)]
    best = min(candidates, key=lambda placed: (_wave_count(placed), _gpu_wave_count(placed)))
    placements = _spread_to_idle(best, gpus) + placements
    order = {s.name: i for i, s in enumerate(specs)}
    placements.sort(key=lambda p: (p.wave, p.device != "cuda", order[p.name]))
    return Plan(placements=placements, unplaceable=unplaceable, gpus=gpus, batch_size=batch_size,
                max_length=max_length, warnings=warnings)


def _wave_count(placed: list[Placement]) -> int:
    return max((p.wave for p in placed), default=-1) + 1


def _gpu_wave_count(placed: list[Placement]) -> int:
    return len({(p.wave, gid) for p in placed for gid in p.gpu_ids})


def _spread_to_idle(placed: list[Placement], gpus: Sequence[GpuInfo]) -> list[Placement]:
    """Within each wave, move single-GPU models off shared GPUs onto GPUs that would sit idle.

    Packing minimizes waves; this keeps the wave count and uses the GPUs packing left empty, so
    fewer models share one GPU's compute.
    """
    size = {g.id: g.total_gib for g in gpus}
    result = list(placed)
    for wave in {p.wave for p in placed}:
        while True:
            on_gpu: dict[int, list[int]] = {g.id: [] for g in gpus}
            for index, p in enumerate(result):
                if p.wave == wave:
                    for gid in p.gpu_ids:
                        on_gpu[gid].append(index)
            idle = [gid for gid, held in on_gpu.items() if not held]
            movable = [i for held in on_gpu.values() if len(held) > 1 for i in held if result[i].tp == 1]
            move = None
            for index in sorted(movable, key=lambda i: -result[i].est_gib):
                target = next((gid for gid in sorted(idle, key=lambda g: size[g]) if size[gid] >= result[index].est_gib),
                              None)
                if target is not None:
                    move = (index, target)
                    break
            if move is None:
                break
            index, target = move
            result[index] = replace(result[index], gpu_ids=(target,))
    return result


def _size_for_gpus(spec: VerifierSpec, gpus: Sequence[GpuInfo], batch_size: int,
                   max_length: int | None) -> _Item | Unplaceable:
    """Per GPU size class, the smallest TP degree (dividing the heads) at which the model fits."""
    note = ""
    sized = spec
    if not spec.params_b or not spec.num_layers:
        sized = _assumed_8b(spec)
        note = "size unknown: planned as an 8B Llama"
    sizes = sorted({g.total_gib for g in gpus})
    options = []
    for size in sizes:
        count = sum(1 for g in gpus if g.total_gib == size)
        for tp in valid_tp_degrees(sized, count):
            need = estimate_memory(sized, tp, batch_size, max_length).total
            if need <= size:
                options.append(_Option(size, tp, need))
                break
    if options:
        options.sort(key=lambda o: (o.tp, o.capacity))
        return _Item(spec, options, note)
    one_gpu = estimate_memory(sized, 1, batch_size, max_length).total
    biggest = sizes[-1]
    count = sum(1 for g in gpus if g.total_gib == biggest)
    fits = [tp for tp in valid_tp_degrees(sized, 64)
            if estimate_memory(sized, tp, batch_size, max_length).total <= biggest]
    wanted = f"; TP {fits[0]} over {fits[0]} GPUs of {biggest:g} GiB would fit" if fits else ""
    return Unplaceable(spec.name, f"needs ~{one_gpu:.0f} GiB on one GPU; no TP degree dividing its "
                                  f"{sized.num_attention_heads} heads fits on {count}x{biggest:g} GiB{wanted}")


def _assumed_8b(spec: VerifierSpec) -> VerifierSpec:
    return replace(spec, params_b=8.03, num_layers=32, hidden_size=4096, num_attention_heads=32,
                   num_kv_heads=8, vocab_size=128256)


def _pack(items: list[_Item], gpus: Sequence[GpuInfo], spread: bool, alternatives: bool) -> list[Placement]:
    """First-fit-decreasing into waves.

    Within a wave, ``spread`` picks the emptiest GPUs (idle GPUs first) instead of the fullest;
    ``alternatives`` lets a model take another GPU size class (e.g. TP 4 over small GPUs while the
    big ones are busy) before a new wave is opened.
    """
    ordered = sorted(items, key=lambda it: (it.weight, it.options[0].per_gpu), reverse=True)
    waves: list[dict[int, float]] = []  # wave -> gpu id -> free GiB
    placements = []
    for item in ordered:
        options = item.options if alternatives else item.options[:1]
        for wave_index in range(len(waves) + 1):
            if wave_index == len(waves):
                waves.append({g.id: g.total_gib for g in gpus})
            chosen = None
            for option in options:
                chosen = _choose_gpus(option, gpus, waves[wave_index], spread)
                if chosen:
                    break
            if chosen:
                for gid in chosen:
                    waves[wave_index][gid] -= option.per_gpu
                placements.append(Placement(item.spec.name, tuple(sorted(chosen)), option.tp,
                                            round(option.per_gpu, 1), wave_index, note=item.note))
                break
    return placements


def _choose_gpus(option: _Option, gpus: Sequence[GpuInfo], free: dict[int, float],
                 spread: bool) -> list[int] | None:
    """``option.tp`` GPUs with room; a TP group stays within one size class, a single GPU may be bigger."""
    for size in sorted({g.total_gib for g in gpus}):
        if size < option.capacity or (option.tp > 1 and size != option.capacity):
            continue
        fitting = [g.id for g in gpus if g.total_gib == size and free[g.id] >= option.per_gpu]
        if len(fitting) >= option.tp:
            fitting.sort(key=lambda gid: (-free[gid], gid) if spread else (free[gid], gid))
            return fitting[: option.tp]
    return None
