"""Stage 1's options, defined once: the CLI's flags, defaults and help all come from here."""
from __future__ import annotations

import argparse
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from toolkit.errors import InputError


def opt(default, help: str, required: bool = False):  # noqa: A002 - mirrors argparse
    return field(default=default, metadata={"help": help, "required": required})


@dataclass
class GenerationConfig:
    # Weaver's flags, same meanings.
    model: str = opt("smollm2", "model name: smollm2 (embedded default), an API model (gpt-4o, claude-3-5-sonnet-latest, "
                                "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo), or a local folder / hub id for vLLM")
    dataset: str = opt(None, "math, gpqa, gpqa_diamond, mmlu, mmlu_pro, or a .jsonl/.parquet/save_to_disk folder/hub id",
                       required=True)
    output_path: str = opt(None, "where the save_to_disk dataset goes (progress is kept in <output_path>.progress/)",
                           required=True)
    max_rows: int | None = opt(None, "only the first N problems (default: all)")
    samples_per_instruction: int = opt(1, "samples per problem (k); raising it later adds only the missing ones")
    temperature: float = opt(0.7, "sampling temperature")
    top_p: float = opt(1.0, "nucleus sampling top_p")
    max_new_tokens: int = opt(2048, "maximum tokens per sample")
    batch_size: int = opt(64, "prompts per batch handed to an in-process engine (vLLM)")
    tensor_parallel_size: int = opt(1, "GPUs per model for the vllm provider")
    gpu_memory_utilization: float = opt(0.9, "share of GPU memory vLLM may use")
    # What a real user also needs.
    provider: str | None = opt(None, "openai, anthropic, together, openai_compatible, vllm or smollm2 "
                                     "(default: inferred from --model / --base_url)")
    base_url: str | None = opt(None, "an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM serve, SGLang, "
                                     "llama.cpp)")
    concurrency: int | None = opt(None, "requests in flight at once (default: per provider)")
    seed: int = opt(0, "base seed; each sample gets its own seed derived from it, the row id and its index")
    system_prompt: str | None = opt(None, "optional system message sent before each problem")
    dry_run: bool = opt(False, "print the call count (rows x k) and estimated tokens, call nothing")
    subjects: str | None = opt(None, "comma-separated subjects (mmlu configs such as college_physics; mmlu_pro "
                                     "categories; MATH subjects)")
    question_column: str | None = opt(None, "question column of a custom dataset (default: problem/question/instruction)")
    answer_column: str | None = opt(None, "gold answer column of a custom dataset (default: answer)")
    request_timeout: float = opt(600.0, "seconds to wait for one reply before retrying")
    max_retries: int = opt(6, "retries per request on rate limits, 5xx, timeouts and dropped connections")

    def validate(self) -> "GenerationConfig":
        checks = [
            (self.samples_per_instruction >= 1, "--samples_per_instruction must be at least 1"),
            (self.max_rows is None or self.max_rows >= 1, "--max_rows must be at least 1"),
            (self.temperature >= 0, "--temperature must be 0 or more"),
            (0 < self.top_p <= 1, "--top_p must be in (0, 1]"),
            (self.max_new_tokens >= 1, "--max_new_tokens must be at least 1"),
            (self.batch_size >= 1, "--batch_size must be at least 1"),
            (self.tensor_parallel_size >= 1, "--tensor_parallel_size must be at least 1"),
            (0 < self.gpu_memory_utilization <= 1, "--gpu_memory_utilization must be in (0, 1]"),
            (self.concurrency is None or self.concurrency >= 1, "--concurrency must be at least 1"),
            (self.request_timeout > 0, "--request_timeout must be positive"),
            (self.max_retries >= 0, "--max_retries must be 0 or more"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        if not self.dataset or not self.output_path:
            raise InputError("--dataset and --output_path are required")
        if Path(self.dataset).expanduser().resolve() == Path(self.output_path).expanduser().resolve():
            raise InputError("--output_path is the input dataset: inputs are never overwritten in place")
        return self

    def subject_list(self) -> list[str] | None:
        return [s.strip() for s in self.subjects.split(",") if s.strip()] if self.subjects else None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2 via run_cli, like every other input error
        raise InputError(message)


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = _Parser(description=description)
    for f in fields(GenerationConfig):
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        if f.default is False:
            parser.add_argument(f"--{f.name}", action="store_true", help=f.metadata["help"])
            continue
        convert = int if kind.startswith("int") else float if kind.startswith("float") else str
        default = None if f.default is MISSING else f.default
        suffix = "" if default is None else f" (default: {default})"
        parser.add_argument(f"--{f.name}", type=convert, default=default, required=f.metadata["required"],
                            help=f.metadata["help"] + suffix)
    return parser


def config_from_args(args: argparse.Namespace) -> GenerationConfig:
    return GenerationConfig(**{f.name: getattr(args, f.name) for f in fields(GenerationConfig)}).validate()
