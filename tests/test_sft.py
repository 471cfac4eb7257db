"""The SFT stage on models as they come: a chat template without generation
markers (ChatML), bfloat16 mixed precision over float32 weights, gradient
checkpointing, LoRA and the learning-rate warm-up."""
from __future__ import annotations

import copy

import pytest
import torch

from prism_gym.runner.presets import SFTConfig
from prism_gym.runner.sft import run_sft
from test_chat_mask import CHATML, with_template
from test_probe import make_trajectories


def _train(model, tok, tmp_path, name, **settings):
    cfg = SFTConfig(epochs=1.0, batch_size=4, learning_rate=settings.pop("learning_rate", 1e-3), warmup_ratio=0.0,
                    lr_scheduler="constant", save_steps=1000, **settings)
    run_sft(model, tok, make_trajectories(6, seed=3), cfg, seed=0, work_dir=tmp_path / name / "work",
            out_dir=tmp_path / name / "out")
    return model


def _deltas(before, after):
    return {n: (p.detach().float() - before[n].float()) for n, p in after.named_parameters()}


def test_chatml_template_without_markers_trains(micro_tokenizer, tmp_path):
    from prism_gym.models import micro_model

    tok = with_template(micro_tokenizer, CHATML)
    model = micro_model(tok)
    before = copy.deepcopy(model)
    _train(model, tok, tmp_path, "chatml")
    moved = [n for n, d in _deltas(dict(before.named_parameters()), model).items() if d.abs().max() > 0]
    assert moved, "no weight changed"
    assert (tmp_path / "chatml" / "out" / "model.safetensors").exists()


def test_bf16_updates_float32_master_weights(micro_tokenizer, tmp_path):
    """At lr 1e-6 a bfloat16 weight cannot move (its resolution near 0.02 is
    ~1e-4); with bf16 autocast over float32 weights the update matches the
    float32 run's: nearly every entry that moves in float32 moves, by nearly
    the same amount. The bf16 model is handed in as a bf16 checkpoint would load."""
    from prism_gym.models import micro_model

    reference = micro_model(micro_tokenizer, seed=1)
    start = {n: p.detach().clone() for n, p in reference.named_parameters()}
    fp32 = _train(copy.deepcopy(reference), micro_tokenizer, tmp_path, "fp32", learning_rate=1e-6)
    mixed = _train(copy.deepcopy(reference).to(torch.bfloat16), micro_tokenizer, tmp_path, "bf16",
                   learning_rate=1e-6, bf16=True)
    d32, dmix = _deltas(start, fp32), _deltas(start, mixed)
    # the bf16 copy of the start differs from the start by rounding; compare the moves from the rounded start
    rounded = {n: p.to(torch.bfloat16).float() for n, p in start.items()}
    dmix = {n: mixed.get_parameter(n).detach() - rounded[n] for n in start}
    moved32 = torch.cat([(d != 0).flatten() for d in d32.values()])
    movedmix = torch.cat([(d != 0).flatten() for d in dmix.values()])
    assert moved32.float().mean() > 0.9
    assert movedmix[moved32].float().mean() > 0.9
    flat32 = torch.cat([d.flatten() for d in d32.values()])
    flatmix = torch.cat([d.flatten() for d in dmix.values()])
    assert torch.linalg.norm(flatmix - flat32) < 0.25 * torch.linalg.norm(flat32)
    assert all(p.dtype == torch.float32 for p in mixed.parameters())


def test_gradient_checkpointing_and_lora_train(micro_tokenizer, tmp_path):
    """LoRA adapters with gradient checkpointing on a Llama: the merged model
    differs from the base in the adapted projections only, and equals the
    run without checkpointing (recomputation changes memory, not results)."""
    from prism_gym.models import micro_model

    base = micro_model(micro_tokenizer, seed=2)
    start = {n: p.detach().clone() for n, p in base.named_parameters()}
    plain = _train(copy.deepcopy(base), micro_tokenizer, tmp_path, "lora", lora=True, lora_r=4, lora_alpha=8,
                   learning_rate=1e-2)
    ckpt = _train(copy.deepcopy(base), micro_tokenizer, tmp_path, "lora-gc", lora=True, lora_r=4, lora_alpha=8,
                  learning_rate=1e-2, gradient_checkpointing=True)
    for model in (plain, ckpt):
        moved = {n for n, d in _deltas(start, model).items() if d.abs().max() > 0}
        assert any("q_proj" in n for n in moved) and any("down_proj" in n for n in moved)
        assert not any("embed_tokens" in n or "norm" in n for n in moved)
    for n, p in plain.named_parameters():
        torch.testing.assert_close(ckpt.get_parameter(n), p, rtol=1e-4, atol=1e-6)


def _read_warmup_as_transformers_4(monkeypatch):
    """transformers 4.x reads ``warmup_steps`` as a step count whatever its
    value, and a ratio only from ``warmup_ratio`` (issue 33: pyproject.toml
    allowed 4.46, where the ratio passed as ``warmup_steps`` meant no warm-up).
    Make the installed version read its arguments so: the schedule must not
    hang on how a version reads a float."""
    import math

    import transformers

    def get_warmup_steps(self, num_training_steps):
        ratio = getattr(self, "warmup_ratio", 0.0) or 0.0
        return self.warmup_steps if self.warmup_steps > 0 else math.ceil(num_training_steps * ratio)

    monkeypatch.setattr(transformers.TrainingArguments, "get_warmup_steps", get_warmup_steps)


@pytest.mark.parametrize("reading", ["installed", "transformers-4"])
def test_sft_learning_rate_follows_the_configured_warmup(micro_tokenizer, tmp_path, monkeypatch, reading):
    """At optimizer step k of N the learning rate is lr * k / W during a warm-up
    of W = ceil(warmup_ratio * N) steps, then decays on the cosine, however the
    transformers version reads its warm-up arguments."""
    import math

    from transformers import TrainerCallback

    from prism_gym.models import micro_model

    if reading == "transformers-4":
        _read_warmup_as_transformers_4(monkeypatch)

    class LearningRates(TrainerCallback):
        def __init__(self):
            self.seen, self.steps = [], None

        def on_step_begin(self, args, state, control, optimizer=None, **kw):
            self.seen.append(optimizer.param_groups[0]["lr"])  # the rate this step's update uses
            self.steps = state.max_steps

    lrs, base = LearningRates(), 1e-3
    cfg = SFTConfig(epochs=2.0, batch_size=2, learning_rate=base, warmup_ratio=0.3, lr_scheduler="cosine",
                    save_steps=1000)
    run_sft(micro_model(micro_tokenizer), micro_tokenizer, make_trajectories(6, seed=3), cfg, seed=0,
            work_dir=tmp_path / "work", out_dir=tmp_path / "out", callbacks=[lrs])
    n = lrs.steps
    warmup = math.ceil(0.3 * n)
    assert len(lrs.seen) == n and warmup >= 2, "the run is too short to show a warm-up"
    expected = [base * k / warmup if k < warmup else base * 0.5 * (1 + math.cos(math.pi * (k - warmup) / (n - warmup)))
                for k in range(n)]
    assert lrs.seen == pytest.approx(expected, rel=1e-6, abs=1e-12)
