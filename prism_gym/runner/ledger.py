"""The compute ledger: what each stage cost, measured, not guessed.

Token counts come from a :class:`TokenMeter` hooked on the model's forward:
every token that enters the model is *forwarded*; those that enter with
gradients enabled are *trained* (they also get a backward pass); those that
enter one at a time on top of a KV cache are *generated*. FLOPs are then the
standard dense-transformer estimate

    flops = 6 * N * tokens_trained + 2 * N * (tokens_forwarded - tokens_trained)

with N the parameters that take part in matrix products (every parameter
except the input embedding table; a tied output head counts once). A forward
pass costs ~2N per token, a backward ~4N (the attention-score term, quadratic
in context length, is left out: it is small next to 2N at these lengths and
the same for every router). Wall time is measured around the stage.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

LEDGER_KEYS = ("wall_s", "tokens_forwarded", "tokens_trained", "tokens_generated", "flops", "env_steps")


@dataclass
class StageCost:
    wall_s: float = 0.0
    tokens_forwarded: int = 0
    tokens_trained: int = 0
    tokens_generated: int = 0
    flops: float = 0.0
    env_steps: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wall_s"] = round(d["wall_s"], 3)
        d["flops"] = float(d["flops"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StageCost":
        return cls(**{f.name: type(getattr(cls(), f.name))(d.get(f.name, 0)) for f in fields(cls)})

    def __add__(self, other: "StageCost") -> "StageCost":
        return StageCost(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def estimate_flops(n_params: int, tokens_forwarded: int, tokens_trained: int) -> float:
    """The ledger's FLOPs formula (see the module doc)."""
    forward_only = max(tokens_forwarded - tokens_trained, 0)
    return 6.0 * n_params * tokens_trained + 2.0 * n_params * forward_only


def matmul_parameters(model) -> int:
    """N of the FLOPs formula: parameters except the input embedding table
    (counted once if the output head shares it)."""
    seen: set[int] = set()
    total = 0
    embedding = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    emb_ptr = embedding.weight.data_ptr() if embedding is not None else None
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    tied = out is not None and emb_ptr is not None and out.weight.data_ptr() == emb_ptr
    for p in model.parameters():
        ptr = p.data_ptr()
        if ptr in seen:
            continue
        seen.add(ptr)
        if ptr == emb_ptr and not tied:
            continue
        total += p.numel()
    return total


class TokenMeter:
    """Counts the tokens that go through a model's forward (a forward pre-hook).

    Padding is not counted: the current input's slice of the attention mask
    says which positions are real.
    """

    def __init__(self):
        self.forwarded = 0
        self.trained = 0
        self.generated = 0
        self._handles = []

    def attach(self, model) -> "TokenMeter":
        # Hook the transformer body, not the LM wrapper: every path goes through
        # it, including callers that run the body and the head separately
        # (the gradient probe does).
        body = getattr(model, "base_model", None)
        target = body if body is not None and body is not model else model
        self._handles.append(target.register_forward_pre_hook(self._hook, with_kwargs=True))
        return self

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _hook(self, module, args, kwargs):
        import torch

        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            embeds = kwargs.get("inputs_embeds")
            if embeds is None:
                return None
            shape = embeds.shape[:2]
        else:
            shape = ids.shape
        batch, length = int(shape[0]), int(shape[-1])
        mask = kwargs.get("attention_mask")
        if isinstance(mask, torch.Tensor) and mask.dim() == 2:
            real = int(mask[:, -length:].sum().item())
        else:
            real = batch * length
        self.forwarded += real
        if torch.is_grad_enabled():
            self.trained += real
        past = kwargs.get("past_key_values", kwargs.get("cache"))  # transformers 5 names it "cache"
        if length == 1 and past is not None and _cache_length(past) > 0:
            self.generated += real
        return None

    def snapshot(self) -> tuple[int, int, int]:
        return self.forwarded, self.trained, self.generated


def _cache_length(past) -> int:
    try:
        return int(past.get_seq_length())
    except Exception:  # noqa: BLE001  (legacy tuple caches)
        try:
            return int(past[0][0].shape[-2])
        except Exception:  # noqa: BLE001
            return 1


class StageTimer:
    """Wall time and token deltas of one stage, turned into a :class:`StageCost`."""

    def __init__(self, meter: TokenMeter | None, n_params: int, carried: StageCost | None = None):
        self.meter, self.n_params = meter, n_params
        self.carried = carried or StageCost()  # cost of an earlier, interrupted attempt that resume kept
        self.env_steps = 0
        self._start = time.perf_counter()
        self._tokens0 = meter.snapshot() if meter else (0, 0, 0)

    def cost(self) -> StageCost:
        now = self.meter.snapshot() if self.meter else (0, 0, 0)
        fwd, trn, gen = (now[i] - self._tokens0[i] for i in range(3))
        own = StageCost(wall_s=time.perf_counter() - self._start, tokens_forwarded=fwd, tokens_trained=trn,
                        tokens_generated=gen, flops=estimate_flops(self.n_params, fwd, trn), env_steps=self.env_steps)
        return own + self.carried


def total(stages: dict[str, dict]) -> dict:
    acc = StageCost()
    for d in stages.values():
        acc = acc + StageCost.from_dict(d)
    return acc.to_dict()
