"""The SFT stage: trl's SFTTrainer on the per-step chats of the SFT share,
loss on the assistant tokens only, LoRA (peft) or full fine-tuning.

The chats are tokenised here, with the assistant mask of
:func:`prism_gym.chat_mask.assistant_tokens` (the one the probe and GRPO use),
and handed to the trainer as ``input_ids`` + ``assistant_masks``: any chat
template trains, with or without ``{% generation %}`` markers. Sequences longer
than ``max_length`` keep their end, where the answer is, as in the probe.

Mixed precision: with ``bf16`` the weights stay float32 (the model is loaded
in float32, :func:`prism_gym.models.load_model_and_tokenizer` with
``dtype=torch.float32``) and the Trainer autocasts the forward pass to bfloat16,
so AdamW updates float32 master weights.

Resume: the trainer saves a checkpoint every ``save_steps`` optimizer steps
under ``work_dir``; a rerun continues from the newest one (weights, optimizer,
scheduler, RNG and data order restored by transformers), so a killed run ends
with the same weights as an uninterrupted one. The ledger of the steps done
before the kill is saved with each checkpoint and carried over.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Sequence

from prism_gym.records import Trajectory
from prism_gym.runner.ledger import StageCost, StageTimer, TokenMeter, matmul_parameters
from prism_gym.runner.presets import SFTConfig

LEDGER_FILE = "prism_gym_ledger.json"
CURVE_FILE = "prism_gym_curve.json"


def sft_messages(trajectories: Sequence[Trajectory], history_window: int | None = None) -> list[list[dict]]:
    """Every step of every trajectory as one chat (system, user, assistant)."""
    from prism_gym.agents.prompts import trajectory_chats

    return [chat for t in trajectories for chat in trajectory_chats(t, history_window)]


def sft_dataset(tokenizer, chats: Sequence[list[dict]], max_length: int):
    """The pre-tokenised SFT dataset: ``input_ids`` and ``assistant_masks`` per
    chat, each cut to its last ``max_length`` tokens."""
    from datasets import Dataset

    from prism_gym.chat_mask import assistant_tokens

    rows = {"input_ids": [], "assistant_masks": []}
    for chat in chats:
        ids, mask = assistant_tokens(tokenizer, chat)
        rows["input_ids"].append(ids[-max_length:])
        rows["assistant_masks"].append(mask[-max_length:])
    return Dataset.from_dict(rows)


def warmup_steps(warmup_ratio: float, training_steps: int) -> int:
    """The learning-rate warm-up as a whole number of optimizer steps: the
    ratio of the run's steps, rounded up (as transformers rounds a ratio).

    A whole number, because ``warmup_steps`` means steps on every transformers
    version, while a float below 1 is read as a ratio only from version 5 on
    (4.x took 0.05 for 0.05 steps, that is no warm-up at all) and 5.x has no
    ``warmup_ratio`` any more."""
    return math.ceil(warmup_ratio * training_steps)


def latest_checkpoint(work_dir: Path) -> Path | None:
    # A checkpoint counts once its ledger is written too (last, in on_save): a run
    # killed in between resumes from the previous one, so no step's cost is lost.
    found = sorted((p for p in Path(work_dir).glob("checkpoint-*")
                    if p.is_dir() and (p / "trainer_state.json").exists() and (p / LEDGER_FILE).exists()),
                   key=lambda p: int(p.name.split("-")[-1]))
    return found[-1] if found else None


def run_sft(model, tokenizer, trajectories: Sequence[Trajectory], cfg: SFTConfig, *, seed: int, work_dir: Path,
            out_dir: Path, on_step: Callable[[int, int], None] | None = None,
            on_epoch: Callable[[object], dict] | None = None, curve: list[dict] | None = None,
            callbacks: Sequence = (), on_curve_point: Callable[[dict], None] | None = None) -> StageCost:
    """Fine-tune ``model`` in place on ``trajectories``; save the result to
    ``out_dir`` (safetensors + tokenizer); return the stage cost.

    The learning curve goes into ``curve`` (a list, carried across a resume):
    the mean train loss of each logging interval, and ``on_epoch(model)``'s
    metrics (held-out accuracy) at the end of every epoch; ``on_curve_point``
    is handed each new entry as it is appended (trackers log it live).
    ``callbacks`` are further transformers ``TrainerCallback``s (tests watch
    the learning rate)."""
    from transformers import TrainerCallback
    from trl import SFTConfig as TrlSFTConfig
    from trl import SFTTrainer

    _quiet_libraries()
    _float32_master_weights(model)
    work_dir = Path(work_dir)
    resume_from = latest_checkpoint(work_dir)
    carried = StageCost()
    curve = [] if curve is None else curve
    if resume_from is not None and (resume_from / LEDGER_FILE).exists():
        carried = StageCost.from_dict(json.loads((resume_from / LEDGER_FILE).read_text()))
        if (resume_from / CURVE_FILE).exists():
            curve[:] = json.loads((resume_from / CURVE_FILE).read_text())

    from prism_gym.runner import dist

    meter = TokenMeter().attach(model)
    # the saved ledger is already the sum over processes: carry it once
    timer = StageTimer(meter, matmul_parameters(model), carried=carried if dist.is_main() else StageCost())
    chats = sft_messages(trajectories)
    dataset = sft_dataset(tokenizer, chats, cfg.max_length)

    class _Checkpointing(TrainerCallback):
        """Saves the ledger beside each checkpoint and reports progress."""

        def on_save(self, args, state, control, **kw):
            ckpt = work_dir / f"checkpoint-{state.global_step}"
            from prism_gym.runner import dist

            cost = dist.reduce_cost(timer.cost())  # every process takes part in the reduction
            if ckpt.is_dir() and dist.is_main():
                from prism_gym.fileio import write_json

                write_json(ckpt / CURVE_FILE, curve)
                write_json(ckpt / LEDGER_FILE, cost.to_dict())  # last: it marks the checkpoint complete

        def on_step_end(self, args, state, control, **kw):
            if on_step is not None:
                on_step(state.global_step, state.max_steps)

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                curve.append({"step": state.global_step, "epoch": round(float(state.epoch or 0), 4),
                              "train_loss": float(logs["loss"])})
                if on_curve_point is not None:
                    on_curve_point(curve[-1])

        def on_epoch_end(self, args, state, control, model=None, **kw):
            if on_epoch is not None and model is not None:
                was_training = model.training
                model.eval()
                curve.append({"step": state.global_step, "epoch": round(float(state.epoch or 0), 4),
                              **on_epoch(model)})
                model.train(was_training)
                if on_curve_point is not None:
                    on_curve_point(curve[-1])

    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    args = TrlSFTConfig(
        output_dir=str(work_dir), num_train_epochs=cfg.epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.gradient_accumulation,
        # warmup_steps is set from cfg.warmup_ratio once the trainer knows its step count (_SFTTrainer)
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=0, weight_decay=cfg.weight_decay,
        # The masks come with the data (assistant_masks); trl builds the labels from them.
        max_length=cfg.max_length, assistant_only_loss=False, packing=False,
        activation_checkpointing=cfg.gradient_checkpointing and not cfg.fsdp,
        **fsdp_arguments(model, cfg),
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2, save_only_model=False,
        # a share of the run (transformers reads logging_steps < 1 so), and the first step: a curve for any length
        logging_strategy="steps", logging_steps=0.05, logging_first_step=True, report_to=[], seed=seed,
        data_seed=seed, bf16=cfg.bf16,
        dataloader_num_workers=0, disable_tqdm=True, use_cpu=_no_accelerator(), dataset_num_proc=None,
    )
    class _SFTTrainer(SFTTrainer):
        def create_scheduler(self, num_training_steps, optimizer=None):
            # The trainer's own step count (batches, accumulation, processes and
            # epochs already counted in), so the warm-up is the configured share
            # of the steps that run, on every transformers version.
            self.args.warmup_steps = warmup_steps(cfg.warmup_ratio, num_training_steps)
            return super().create_scheduler(num_training_steps, optimizer)

    trainer = _SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                          peft_config=peft_config, callbacks=[_Checkpointing(), *callbacks])
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # it prints the final log dict over the runner's report
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    trained = trainer.model
    if cfg.lora:
        trained = trained.merge_and_unload()
    meter.detach()
    from prism_gym.runner import dist

    cost = dist.reduce_cost(timer.cost())
    if getattr(trainer, "is_fsdp_enabled", False):  # sft.fsdp, or an accelerate FSDP config
        # Every process takes part: the shards are gathered into one full state dict.
        gathered = work_dir / "fsdp-final"
        trainer.save_model(str(gathered))
        if dist.is_main():
            tokenizer.save_pretrained(gathered)
            _replace_dir(gathered, Path(out_dir))
    elif dist.is_main():
        save_model(trained, tokenizer, out_dir)
    dist.barrier()
    return cost


def fsdp_arguments(model, cfg: SFTConfig) -> dict:
    """Trainer arguments for ``sft.fsdp``: FSDP2, one shard unit per decoder
    layer, parameters resharded after the forward pass, a full state dict at
    save time; activation checkpointing by FSDP when asked for."""
    if not cfg.fsdp:
        return {}
    layers = list(getattr(model, "_no_split_modules", None) or [])
    if not layers:
        raise ValueError(f"sft.fsdp: {type(model).__name__} names no decoder layer class to shard by")
    return {"fsdp": True, "fsdp_config": {
        "version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "transformer_layer_cls_to_wrap": layers,
        "reshard_after_forward": True, "state_dict_type": "FULL_STATE_DICT",
        "activation_checkpointing": bool(cfg.gradient_checkpointing)}}


def _replace_dir(src: Path, dst: Path) -> None:
    import os
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)


def _float32_master_weights(model) -> None:
    """Train float32 weights, whatever dtype the model was loaded in: AdamW's
    updates at small learning rates are below bfloat16's resolution (a weight
    of 0.02 moves in steps of about 1e-4), so bf16 weights would barely move.
    ``bf16=True`` then autocasts the computation only."""
    import torch

    if any(p.is_floating_point() and p.dtype != torch.float32 for p in model.parameters()):
        model.float()


def _quiet_libraries() -> None:
    """The runner shows its own progress; the libraries' per-step bars and
    notices would bury it."""
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def _no_accelerator() -> bool:
    import torch

    return not torch.cuda.is_available()


def save_model(model, tokenizer, out_dir: Path) -> None:
    """Write weights and tokenizer to ``out_dir`` atomically (a temp dir renamed)."""
    import os
    import shutil
    import tempfile

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
