"""Tiny random-weight checkpoints for every scorer family, written to a folder in seconds.

Used by tests and benches so no hub is ever needed. The tokenizer is byte-level (256 byte
tokens + ChatML specials) with pad == eos == ``<|im_end|>`` and a chat template that ENDS
with ``<|im_end|>``: the case where pooling by searching for the pad id picks the wrong token.
Remote-code families get a small ``modeling_tiny_rm.py`` written beside the weights and an
``auto_map`` in config.json, so ``trust_remote_code`` loading is exercised for real.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>"
    "{% if not loop.last %}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}\n<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=1024)


def build_tokenizer(folder: str | Path, extra_specials: tuple[str, ...] = ()):
    """Byte-level tokenizer with ChatML template and pad == eos; saved into ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {ch: i for i, ch in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|im_end|>")
    tok.add_special_tokens({"additional_special_tokens": list(SPECIALS) + list(extra_specials)})
    tok.chat_template = CHATML_TEMPLATE
    tok.save_pretrained(str(folder))
    return tok


def _config(arch: str, tok, **overrides):
    import transformers

    names = {"llama": "LlamaConfig", "qwen2": "Qwen2Config", "gemma2": "Gemma2Config", "mistral": "MistralConfig"}
    kwargs = dict(TINY, vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                  bos_token_id=None)
    if arch == "gemma2":
        kwargs.update(head_dim=8, sliding_window=64)
    kwargs.update(overrides)
    return getattr(transformers, names[arch])(**kwargs)


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def build_seq_cls(folder: str | Path, arch: str = "llama", num_labels: int = 1, seed: int = 0, **config_kw) -> Path:
    """``<Arch>ForSequenceClassification`` with random weights (``arch``: llama, qwen2, gemma2, mistral)."""
    import transformers

    folder = Path(folder)
    tok = build_tokenizer(folder)
    config = _config(arch, tok, num_labels=num_labels, **config_kw)
    cls = {"llama": "LlamaForSequenceClassification", "qwen2": "Qwen2ForSequenceClassification",
           "gemma2": "Gemma2ForSequenceClassification", "mistral": "MistralForSequenceClassification"}[arch]
    _seed(seed)
    getattr(transformers, cls)(config).save_pretrained(str(folder))
    return folder


def build_backbone_heads(folder: str | Path, heads: dict, seed: int = 0, arch: str = "llama") -> Path:
    """A backbone plus named heads (GPM value/prompt heads, INF-ORM's MLP ``score``)."""
    from verifiers.scorers.custom_head import backbone_head_class

    folder = Path(folder)
    tok = build_tokenizer(folder)
    config = _config(arch, tok, num_labels=1)
    _seed(seed)
    backbone_head_class(config, heads)(config).save_pretrained(str(folder))
    return folder


def build_token_cls_prm(folder: str | Path, separator: str = "<extra_0>", seed: int = 0) -> Path:
    """Qwen-PRM-shaped model: two logits per token, tokenizer with the step separator token."""
    from transformers import Qwen2ForTokenClassification

    folder = Path(folder)
    tok = build_tokenizer(folder, extra_specials=(separator,))
    _seed(seed)
    Qwen2ForTokenClassification(_config("qwen2", tok, num_labels=2)).save_pretrained(str(folder))
    return folder


def build_causal_lm(folder: str | Path, seed: int = 0, arch: str = "qwen2") -> Path:
    from transformers import LlamaForCausalLM, Qwen2ForCausalLM

    folder = Path(folder)
    tok = build_tokenizer(folder)
    _seed(seed)
    cls = Qwen2ForCausalLM if arch == "qwen2" else LlamaForCausalLM
    cls(_config(arch, tok, tie_word_embeddings=False)).save_pretrained(str(folder))
    return folder


REMOTE_MODULE = '''"""Tiny stand-ins for remote-code reward models (written by verifiers.scorers.testing)."""
from dataclasses import dataclass

import torch
from torch import nn
from transformers import LlamaModel, LlamaPreTrainedModel
from transformers.utils import ModelOutput


@dataclass
class TinyRewardOutput(ModelOutput):
    score: torch.FloatTensor = None
    rewards: torch.FloatTensor = None
    reward_quantiles: torch.FloatTensor = None
    logits: torch.FloatTensor = None


class TinyArmoLikeRewardModel(LlamaPreTrainedModel):
    """ArmoRM-like: .score (mean of objectives) and .rewards; finds the last token by searching for the pad id."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.regression_layer = nn.Linear(config.hidden_size, config.num_objectives, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            position_ids=position_ids).last_hidden_state
        last = (torch.eq(input_ids, self.config.pad_token_id).int().argmax(-1) - 1) % input_ids.shape[-1]
        rewards = self.regression_layer(hidden[torch.arange(input_ids.shape[0]), last])
        score = rewards.mean(-1, keepdim=True)
        return TinyRewardOutput(score=score, rewards=rewards, reward_quantiles=rewards, logits=score)


class TinyInternLM2LikeRewardModel(LlamaPreTrainedModel):
    """InternLM2-reward-like: v_head per token, read at the last attended token; has reward_token_id."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.v_head = nn.Linear(config.hidden_size, 1, bias=False)
        self.reward_token_id = config.reward_token_id
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            position_ids=position_ids).last_hidden_state
        rewards = self.v_head(hidden).squeeze(-1)
        ends = attention_mask.cumsum(dim=1).argmax(dim=1).view(-1, 1)
        return TinyRewardOutput(logits=torch.gather(rewards, 1, ends))


class TinyMlpRewardModel(LlamaPreTrainedModel):
    """Qwen2.5-Math-RM-like: backbone + score MLP, own pooling by pad search."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        h = config.hidden_size
        self.score = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            position_ids=position_ids).last_hidden_state
        last = (torch.eq(input_ids, self.config.pad_token_id).int().argmax(-1) - 1) % input_ids.shape[-1]
        return TinyRewardOutput(logits=self.score(hidden)[torch.arange(input_ids.shape[0]), last])
'''


def build_remote_code(folder: str | Path, class_name: str, auto_name: str = "AutoModelForSequenceClassification",
                      seed: int = 0, extra_specials: tuple[str, ...] = (), **config_kw) -> Path:
    """A checkpoint whose class lives in ``modeling_tiny_rm.py`` beside it (loaded with trust_remote_code)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(folder, extra_specials=extra_specials)
    source = folder / "modeling_tiny_rm.py"
    source.write_text(REMOTE_MODULE)
    spec = importlib.util.spec_from_file_location(f"_tiny_rm_{abs(hash(str(folder)))}", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    config_kw = {k: (tok.convert_tokens_to_ids(v) if k == "reward_token_id" else v) for k, v in config_kw.items()}
    config = _config("llama", tok, **config_kw)
    config.auto_map = {auto_name: f"modeling_tiny_rm.{class_name}"}
    _seed(seed)
    getattr(module, class_name)(config).save_pretrained(str(folder))
    return folder


def tiny_spec(folder: str | Path, family: str = "seq_cls", **fields):
    """A VerifierSpec for a tiny folder (float32, short max_length unless given)."""
    from verifiers.specs import VerifierSpec

    fields.setdefault("max_length", 512)
    return VerifierSpec(name=fields.pop("name", "Tiny"), hub_id=str(folder), family=family, params_b=0.0,
                        dtype="float32", **fields)
