"""The LLM agent: any Hugging Face causal LM acting through the prompt template
of :mod:`prism_gym.agents.prompts`, on a whole batch of environments at once.

One :meth:`LLMAgent.generate_batch` call renders one chat per request and hands
all the prompts to a generation backend at once (:class:`GenerationBackend`):
:class:`HFGenerate` (the default) left-pads them into one tensor and runs a
single ``model.generate``, which keeps the KV cache across the decoding steps;
:class:`VLLMGenerate` (optional, ``pip install 'prism-gym[vllm]'``, GPUs only)
runs them through vLLM's continuous batching. Decoding stops at the tokenizer's EOS, the
chat template's ``<|end|>`` and the end-of-turn tokens of common instruct
models; it is greedy by default and sampled with ``do_sample=True``.
The answer is read with :func:`~prism_gym.agents.prompts.parse_action`; an
answer without a well-formed ``<action>...</action>`` is *malformed*: its
fallback action (first line, or ``""``) is still sent to the env, which treats
anything not admissible as an invalid action, and the rollout engine counts it
in ``metadata["malformed_actions"]``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

from prism_gym.agent import ActRequest
from prism_gym.agents.constrained import AdmissibleLogitsProcessor, AnswerTokens, check_decoding, masked_logprobs
from prism_gym.agents.prompts import parse_action, step_messages

# End-of-turn markers of common chat templates; whichever the vocabulary has
# stops generation, in addition to the EOS the tokenizer and model name.
_END_OF_TURN_TOKENS = ("<|end|>", "<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>")


@dataclass
class Generation:
    """One answer: the decoded text, the action read from it, and (when asked
    for) the token ids of prompt and completion with per-token log-probs."""

    text: str
    action: str
    well_formed: bool
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] | None = None
    # Admissible decoding: the tokens allowed before each completion token (None: any).
    allowed: list[list[int] | None] | None = None
    prompt_truncated: bool = False
    num_prompt: int = 0  # token counts, filled whether or not the ids are kept
    num_generated: int = 0


@dataclass
class SamplingSettings:
    """How a backend decodes: the same for every prompt of a call."""

    max_new_tokens: int
    stop_ids: list[int]
    pad_id: int
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0


@runtime_checkable
class GenerationBackend(Protocol):
    """Turns token-id prompts into completions.

    ``generate(prompts, settings, record_logprobs)`` returns, per prompt, the
    generated token ids (possibly running past the first stop token; the agent
    cuts there) and, when ``record_logprobs``, one log-probability per generated
    token under the model's distribution at the sampling temperature
    (unprocessed by top-k/top-p), else ``None``. With ``constraints`` (one
    :class:`~prism_gym.agents.constrained.AnswerConstraint` or ``None`` per
    prompt), each prompt's tokens are drawn from its allowed set only, and its
    log-probabilities are those of the masked distribution.
    """

    name: str

    def generate(self, prompts: Sequence[list[int]], settings: SamplingSettings, record_logprobs: bool = False,
                 constraints: Sequence | None = None) -> list[tuple[list[int], list[float] | None]]: ...


class HFGenerate:
    """Hugging Face ``model.generate`` on one left-padded batch (the default backend)."""

    name = "hf"

    def __init__(self, model):
        self.model = model

    def generate(self, prompts, settings, record_logprobs=False, constraints=None):
        import torch
        from transformers import LogitsProcessorList

        width = max(len(ids) for ids in prompts)
        input_ids = torch.full((len(prompts), width), settings.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):  # left padding: every prompt ends at the last column
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention[row, width - len(ids):] = 1
        device = self.model.device
        mask = None
        if constraints is not None and any(c is not None for c in constraints):
            mask = AdmissibleLogitsProcessor(constraints, width)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                      generation_config=self._config(settings, record_logprobs),
                                      logits_processor=LogitsProcessorList([mask] if mask else []))
        new_tokens = out.sequences[:, width:].tolist()
        if not record_logprobs:
            return [(tokens, None) for tokens in new_tokens]
        return list(zip(new_tokens, self._logprobs(out, new_tokens, settings, mask.used if mask else None)))

    @staticmethod
    def _config(settings: SamplingSettings, record_logprobs: bool):
        from transformers import GenerationConfig

        options = dict(max_new_tokens=settings.max_new_tokens, eos_token_id=settings.stop_ids,
                       pad_token_id=settings.pad_id, do_sample=settings.do_sample, return_dict_in_generate=True,
                       output_logits=record_logprobs)
        if settings.do_sample:
            options.update(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)
        return GenerationConfig(**options)

    @staticmethod
    def _logprobs(out, new_tokens: list[list[int]], settings: SamplingSettings,
                  allowed: list | None = None) -> list[list[float]]:
        """Log-probability of every generated token under the model's
        distribution at the sampling temperature (unprocessed by top-k/top-p;
        masked to the allowed tokens under admissible decoding), the quantity a
        policy-gradient update compares against."""
        import torch

        scale = settings.temperature if settings.do_sample else 1.0
        allowed = allowed or [[] for _ in new_tokens]
        columns = []
        for step, logits in enumerate(out.logits):
            at_step = [[row[step] if step < len(row) else None] for row in allowed]
            logp = masked_logprobs(logits.float()[:, None, :] / scale, at_step)[:, 0]
            chosen = torch.tensor([row[step] for row in new_tokens], device=logp.device).unsqueeze(1)
            columns.append(logp.gather(1, chosen).squeeze(1))
        return torch.stack(columns, dim=1).tolist() if columns else [[] for _ in new_tokens]


class VLLMGenerate:
    """vLLM's engine on a model directory (optional extra ``vllm``; needs a GPU).

    vLLM holds its own copy of the weights, loaded from ``model_dir``: it serves
    a fixed model (expert, probe pass rates, evaluation of a saved checkpoint).
    A policy that changes under training is not pushed to it; GRPO rollouts use
    :class:`HFGenerate`.
    """

    name = "vllm"

    def __init__(self, model_dir: str, *, seed: int = 0, gpu_memory_utilization: float = 0.85, **engine_options):
        try:
            from vllm import LLM
        except ImportError:
            raise ImportError("the vllm backend needs vLLM and a GPU: pip install 'prism-gym[vllm]'") from None
        self.engine = LLM(model=str(model_dir), seed=seed, gpu_memory_utilization=gpu_memory_utilization,
                          **engine_options)

    def generate(self, prompts, settings, record_logprobs=False, constraints=None):
        if constraints is not None and any(c is not None for c in constraints):
            raise ValueError("the vllm backend decodes freely only; admissible decoding runs on the hf backend")
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=settings.max_new_tokens, stop_token_ids=list(settings.stop_ids),
                                temperature=settings.temperature if settings.do_sample else 0.0,
                                top_p=settings.top_p if settings.do_sample else 1.0,
                                top_k=(settings.top_k or -1) if settings.do_sample else -1,
                                logprobs=0 if record_logprobs else None)
        outputs = self.engine.generate([TokensPrompt(prompt_token_ids=list(ids)) for ids in prompts], params,
                                       use_tqdm=False)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            logprobs = None
            if record_logprobs:
                logprobs = [float(step[tok].logprob) for tok, step in zip(completion.token_ids, completion.logprobs)]
            results.append((list(completion.token_ids), logprobs))
        return results


def available_backends() -> list[str]:
    """The generation backends that can run here (``hf`` always)."""
    import importlib.util

    names = ["hf"]
    if importlib.util.find_spec("vllm") is not None:
        names.append("vllm")
    return names


class LLMAgent:
    """Acts with a causal LM.

    ``model`` is a loaded model (then ``tokenizer`` is required), a local
    directory or hub id, or ``None`` for the embedded default model.
    ``max_prompt_tokens`` caps a prompt (older tokens are dropped from the left);
    by default it is the model's context length minus ``max_new_tokens``.
    """

    name = "llm"

    def __init__(self, env_name: str | None = None, model: Any = None, tokenizer: Any = None, *,
                 device: str | None = None, do_sample: bool = False, temperature: float = 1.0,
                 top_p: float = 1.0, top_k: int = 0, max_new_tokens: int = 48,
                 history_window: int | None = None, max_prompt_tokens: int | None = None, seed: int = 0,
                 backend: GenerationBackend | None = None, decoding: str = "free", slot_text: str = "free"):
        if model is None or isinstance(model, (str, os.PathLike)):
            if tokenizer is not None:
                raise ValueError("pass a tokenizer only together with a loaded model")
            from prism_gym.models import load_model_and_tokenizer

            self.model_name = "default" if model is None else str(model)
            model, tokenizer = load_model_and_tokenizer(model, device=device)
        else:
            if tokenizer is None:
                raise ValueError("a loaded model needs its tokenizer (tokenizer=...)")
            self.model_name = str(getattr(model, "name_or_path", "") or type(model).__name__)
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if do_sample and temperature <= 0:
            raise ValueError(f"temperature must be > 0 for sampling, got {temperature}")
        self.env_name = env_name
        self.model, self.tokenizer = model, tokenizer
        self.do_sample, self.temperature, self.top_p, self.top_k = do_sample, temperature, top_p, top_k
        self.max_new_tokens = max_new_tokens
        self.history_window = history_window
        context = getattr(model.config, "max_position_embeddings", None) or 2048
        self.max_prompt_tokens = max_prompt_tokens or max(8, context - max_new_tokens)
        self.stop_ids = self._stop_token_ids()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self.backend = backend if backend is not None else HFGenerate(model)
        self.decoding, self.slot_text = check_decoding(decoding, slot_text), slot_text
        self._answers = (AnswerTokens(tokenizer, self.stop_ids, slot_text=slot_text)
                         if decoding == "admissible" else None)
        self.seed = seed
        self.reseed(seed)

    # -- set-up ------------------------------------------------------------------
    def _stop_token_ids(self) -> list[int]:
        ids: list[int] = []

        def add(value):
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(v, int) and v >= 0 and v not in ids:
                    ids.append(v)

        add(self.tokenizer.eos_token_id)
        add(getattr(getattr(self.model, "generation_config", None), "eos_token_id", None))
        vocab = self.tokenizer.get_vocab()
        for token in _END_OF_TURN_TOKENS:
            if token in vocab:
                add(vocab[token])
        if not ids:
            raise ValueError("the tokenizer names no EOS token; generation could not stop")
        return ids

    def reseed(self, seed: int) -> None:
        """Seed sampling (torch's global RNG, which ``generate`` draws from)."""
        import torch

        self.seed = seed
        torch.manual_seed(seed)

    def settings(self) -> dict:
        return {"model": self.model_name, "do_sample": self.do_sample, "temperature": self.temperature,
                "top_p": self.top_p, "top_k": self.top_k, "max_new_tokens": self.max_new_tokens,
                "history_window": self.history_window, "max_prompt_tokens": self.max_prompt_tokens,
                "backend": self.backend.name, "decoding": self.decoding, "slot_text": self.slot_text}

    # -- acting ------------------------------------------------------------------
    def prompt_ids(self, req: ActRequest) -> tuple[list[int], bool]:
        """The token ids of the prompt for ``req``, and whether it was cut."""
        messages = step_messages(req.task, req.history, req.observation, req.admissible_actions,
                                 self.history_window)
        ids = list(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                      return_dict=False))
        if len(ids) > self.max_prompt_tokens:
            return ids[-self.max_prompt_tokens:], True
        return ids, False

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]:
        return [g.action for g in self.generate_batch(requests)]

    def generate_batch(self, requests: Sequence[ActRequest], record_tokens: bool = False) -> list[Generation]:
        """One backend call for all ``requests``."""
        if not requests:
            return []
        prompts = [self.prompt_ids(req) for req in requests]
        settings = SamplingSettings(max_new_tokens=self.max_new_tokens, stop_ids=self.stop_ids, pad_id=self.pad_id,
                                    do_sample=self.do_sample, temperature=self.temperature, top_p=self.top_p,
                                    top_k=self.top_k)
        constraints = None
        if self._answers is not None:
            constraints = [self._answers.constraint(req.admissible_actions, req.task.goal) for req in requests]
        # Backends that predate constraints are called as before under free decoding.
        extra = {"constraints": constraints} if constraints is not None else {}
        outputs = self.backend.generate([ids for ids, _ in prompts], settings, record_logprobs=record_tokens, **extra)
        results = []
        for row, (tokens, logprobs) in enumerate(outputs):
            completion = self._cut_at_stop(tokens)
            allowed = None
            if record_tokens and constraints is not None and constraints[row] is not None:
                allowed = constraints[row].allowed_along(completion)
            text = self.tokenizer.decode(completion, skip_special_tokens=True)
            action, well_formed = parse_action(text)
            results.append(Generation(
                text=text, action=action, well_formed=well_formed,
                prompt_ids=prompts[row][0] if record_tokens else [],
                completion_ids=completion if record_tokens else [],
                logprobs=logprobs[:len(completion)] if logprobs is not None else None, allowed=allowed,
                prompt_truncated=prompts[row][1], num_prompt=len(prompts[row][0]),
                num_generated=len(completion)))
        return results

    def _cut_at_stop(self, tokens: list[int]) -> list[int]:
        """The completion up to and including its first stop token."""
        for i, tok in enumerate(tokens):
            if tok in self.stop_ids:
                return tokens[:i + 1]
        return tokens
