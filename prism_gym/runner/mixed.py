"""The mixed loop: one RL stage in which an arbiter decides, at every update
and per task, whether the demonstration's SFT loss, the rollouts' RL loss, or
both train (:mod:`prism_gym.arbitration`).

A run takes this loop only when it names an arbiter (``prism-gym bench
--router hpt``); a run with a static router keeps the two-stage path (SFT,
then :func:`prism_gym.runner.grpo.run_grpo`) untouched. An arbiter run's probe
stage hands every task to this loop and its SFT stage has nothing to train,
so training starts from the base model (as HPT, ReLIFT and re-probed PRISM do).

One update:

1. Rollouts: the update's tasks (:func:`~prism_gym.runner.grpo.iteration_tasks`),
   ``rl.group_size`` sampled episodes each, seeded as in ``run_grpo``.
2. Arbitration: the arbiter sees the tasks, their demonstrations, the groups'
   returns and successes and a probe on the current weights, and returns an
   SFT and an RL weight per task (and optionally more demonstrations to SFT).
3. Loss: ``sum_t rl(t) * RL_t + sft(t) * SFT_t``. ``RL_t`` is task t's part of
   the plain stage's clipped surrogate (+ beta KL): its samples' token losses
   over the normaliser of all RL-weighted samples (completion tokens, or
   samples x ``max_new_tokens`` for a token-sum algorithm); the algorithm's
   advantages are computed per group as in ``run_grpo``. ``SFT_t`` is the
   demonstration's part of the SFT loss: the negative log-likelihood of its
   answer (assistant) tokens over all SFT-weighted answer tokens, on the same
   per-step chats, assistant mask and ``sft.max_length`` cut as the SFT stage
   (:mod:`prism_gym.runner.sft`).
4. Optimizer steps: ``rl.ppo_epochs`` passes, each ONE optimizer step on the
   whole loss (``rl.mini_batch_size`` is not used here; with more than one
   pass the old log-probs are recorded first, as in ``run_grpo``), at
   ``rl.learning_rate``, gradient norm clipped at ``rl.max_grad_norm``.

Ledger: the one TokenMeter counts every token through the policy: rollouts
(forwarded, generated), the RL and the SFT terms' forward and backward passes
(trained) and any probe the arbiter asks for (trained: the probe runs a
backward pass). ``rl/history.json`` has the plain stage's fields plus
``sft_tasks``, ``rl_tasks``, ``sft_demos``, ``sft_samples``, ``sft_tokens``,
``rl_loss``, ``sft_loss`` and the arbiter's notes (``arbiter_<name>``).

Resume: after every update the policy, the optimizer, the ledger, the history
and the arbiter's ``state_dict()`` are saved atomically under
``work_dir/state``; rollouts are seeded by (run seed, update), so a resumed run
replays the same updates. One process only (not under ``accelerate launch``).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

from prism_gym.arbitration import Arbitration, TaskOutcome, UpdateView, check_arbitration
from prism_gym.records import Task, Trajectory
from prism_gym.runner import dist
from prism_gym.runner.grpo import (CollectFn, _autocast, _record_old_logprobs, _State, _update_record,
                                   build_algorithm, group_samples, groups_with_signal, iteration_tasks,
                                   planned_iterations, policy_loss, prepare_policy, restore_policy,
                                   split_groups)
from prism_gym.runner.ledger import StageCost, StageTimer, TokenMeter, matmul_parameters
from prism_gym.runner.presets import RLConfig

ARBITER_STATE = "arbiter.json"


def demonstrations(trajectories: Sequence[Trajectory]) -> dict[str, Trajectory]:
    """Each task's demonstration: its first won expert trajectory (SFT trains on won ones only)."""
    out: dict[str, Trajectory] = {}
    for t in trajectories:
        if t.won and t.turns and t.task.id not in out:
            out[t.task.id] = t
    return out


def sft_sequences(tokenizer, trajectory: Trajectory, max_length: int) -> list[tuple[list[int], list[int]]]:
    """The SFT stage's samples of a demonstration: each step's chat as token
    ids and its assistant mask, cut to the last ``max_length`` tokens."""
    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.chat_mask import assistant_tokens

    out = []
    for chat in trajectory_chats(trajectory):
        ids, mask = assistant_tokens(tokenizer, chat)
        out.append((ids[-max_length:], mask[-max_length:]))
    return out


def answer_tokens(sequences: Sequence[tuple[list[int], list[int]]]) -> int:
    """Tokens the SFT loss is taken on (an assistant token with a token before it)."""
    return sum(sum(mask[1:]) for _, mask in sequences)


def sft_nll(model, sequences: Sequence[tuple[list[int], list[int]]], pad_id: int):
    """Sum of the next-token negative log-likelihood over the answer tokens of
    ``sequences`` (one batch, right-padded), a scalar tensor with gradients."""
    import torch

    device = next(model.parameters()).device
    width = max(len(ids) for ids, _ in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    target = torch.zeros((len(sequences), width), dtype=torch.bool)
    for i, (row, mask) in enumerate(sequences):
        ids[i, :len(row)] = torch.tensor(row)
        attn[i, :len(row)] = 1
        target[i, :len(row)] = torch.tensor(mask, dtype=torch.bool)
    ids, attn, target = ids.to(device), attn.to(device), target.to(device)
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1]
    select = target[:, 1:]
    return torch.nn.functional.cross_entropy(logits[select].float(), ids[:, 1:][select], reduction="sum")


def policy_probe(model, tokenizer, update: int, options: Mapping | None = None) -> Callable:
    """The probe an arbiter is handed: :func:`prism_gym.probe.probe_trajectories`
    on ``model`` as it is when called (the current policy), never cached."""
    settings = dict(options or {})

    def probe(trajectories: Sequence[Trajectory], **probe_options):
        from prism_gym.probe import probe_trajectories

        return probe_trajectories(model, tokenizer, list(trajectories), model_id=f"policy@update{update}",
                                  cache_dir=None, progress=False, **{**probe_options, **settings})

    return probe


class _MixedState(_State):
    """The RL stage's state (policy, optimizer, progress) and the arbiter's."""

    def load_arbiter(self) -> dict:
        path = self.dir / ARBITER_STATE
        return json.loads(path.read_text()) if path.exists() else {}

    def save_all(self, model, optimizer, iteration: int, ledger: StageCost, history: list[dict],
                 arbiter_state: dict) -> None:
        import torch
        from safetensors.torch import save_model

        self.dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".state.", dir=self.dir.parent))
        try:
            save_model(model, str(tmp / "policy.safetensors"))
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            (tmp / ARBITER_STATE).write_text(json.dumps(arbiter_state))
            (tmp / "meta.json").write_text(json.dumps({"iteration": iteration, "ledger": ledger.to_dict(),
                                                       "history": history}))
            old = self.dir.with_name(".state.old")
            if self.dir.exists():
                os.replace(self.dir, old)
            os.replace(tmp, self.dir)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _micro(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_mixed(model, tokenizer, tasks: Sequence[Task], demos: Mapping[str, Trajectory], cfg: RLConfig, arbiter, *,
              seed: int, collect: CollectFn, work_dir: Path, sft_max_length: int = 1024,
              probe_options: Mapping | None = None, on_step: Callable[[int, int], None] | None = None,
              on_update: Callable[[dict], None] | None = None) -> tuple[object, StageCost, list[dict]]:
    """Train ``model`` on ``tasks`` with ``arbiter`` deciding each update's
    SFT and RL weights; ``demos`` maps a task id to its demonstration. The
    rest as :func:`prism_gym.runner.grpo.run_grpo`: returns (trained model,
    cost, per-update history)."""
    import torch

    if dist.size() > 1:
        raise RuntimeError("the mixed loop (a run with an arbiter) runs on one process; "
                           "launch it without accelerate")
    iterations = planned_iterations(cfg, len(tasks))
    if iterations == 0 or not tasks:
        return model, StageCost(), []
    algorithm = build_algorithm(cfg)
    torch.manual_seed(seed)
    model, ref_model, input_dtype = prepare_policy(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    state = _MixedState(work_dir)
    start, carried, history = state.load(model, optimizer)
    if start and hasattr(arbiter, "load_state_dict"):
        arbiter.load_state_dict(state.load_arbiter())

    meter = TokenMeter().attach(model)
    if ref_model is not None:
        meter.attach(ref_model)
    timer = StageTimer(meter, matmul_parameters(model), carried=carried)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded: dict[str, list] = {}

    def sequences(demo: Trajectory):
        if demo.id not in encoded:
            encoded[demo.id] = sft_sequences(tokenizer, demo, sft_max_length)
        return encoded[demo.id]

    try:
        for it in range(start, iterations):
            batch_tasks = iteration_tasks(tasks, it, cfg.tasks_per_iteration, seed)
            model.eval()
            with _autocast(model, cfg.bf16):
                played = collect(model, batch_tasks, group_size=cfg.group_size, seed=seed * 100_003 + it * 101)
            timer.env_steps += sum(e.trajectory.num_steps for e in played)
            groups = split_groups(played, cfg.group_size)
            outcomes = []
            for task, group in zip(batch_tasks, groups):
                if any(e.trajectory.task.id != task.id for e in group):
                    raise RuntimeError(f"the rollouts of update {it} are not in the order of its tasks")
                outcomes.append(TaskOutcome(task, demos.get(task.id),
                                            returns=tuple(float(e.trajectory.reward) for e in group),
                                            successes=tuple(bool(e.trajectory.won) for e in group)))
            view = UpdateView(update=it, updates=iterations, outcomes=tuple(outcomes), demonstrations=demos,
                              probe=policy_probe(model, tokenizer, it, probe_options), seed=seed)
            decision = check_arbitration(arbiter.arbitrate(view), view, getattr(arbiter, "name", "?"))

            rl_parts, sft_parts, signal = _parts(decision, outcomes, groups, algorithm, cfg, sequences)
            model.train()
            fit = mixed_step(model, ref_model, optimizer, params, rl_parts, sft_parts, algorithm, cfg, pad_id)
            model.eval()

            samples = [s for _, part in rl_parts for s in part]
            rl_groups = [g for o, g in zip(outcomes, groups) if decision.weights[o.task.id].rl > 0]
            row = _update_record(it, played, groups_with_signal(groups, algorithm, cfg.invalid_action_penalty),
                                 rl_groups, signal, samples, fit, 0, cfg)
            row.update({"arbiter": getattr(arbiter, "name", "?"),
                        "sft_tasks": sum(w.sft > 0 for w in decision.weights.values()),
                        "rl_tasks": sum(w.rl > 0 for w in decision.weights.values()),
                        "sft_demos": len(sft_parts), "sft_samples": sum(len(seqs) for _, seqs in sft_parts),
                        "sft_tokens": fit["sft_tokens"], "rl_loss": fit["rl_loss"], "sft_loss": fit["sft_loss"],
                        **{f"arbiter_{k}": v for k, v in decision.notes.items()}})
            history.append(row)
            if on_update is not None:
                on_update(row)
            arbiter_state = arbiter.state_dict() if hasattr(arbiter, "state_dict") else {}
            state.save_all(model, optimizer, it + 1, timer.cost(), history, arbiter_state)
            if on_step is not None:
                on_step(it + 1, iterations)
    finally:
        meter.detach()
    cost = timer.cost()
    model = restore_policy(model, cfg, input_dtype)
    return model, cost, history


def _parts(decision: Arbitration, outcomes: Sequence[TaskOutcome], groups, algorithm, cfg: RLConfig, sequences):
    """The update's weighted terms: ``[(rl weight, samples of one task)]``,
    ``[(sft weight, sequences of one demonstration)]`` and the number of
    RL-weighted groups with a non-zero advantage."""
    rl_parts, sft_parts, signal = [], [], 0
    for outcome, group in zip(outcomes, groups):
        w = decision.weights[outcome.task.id]
        if w.rl > 0:
            samples, has_signal = group_samples([group], algorithm, keep_zero_advantage=cfg.beta > 0,
                                                invalid_penalty=cfg.invalid_action_penalty)
            signal += has_signal
            if samples:
                rl_parts.append((float(w.rl), samples))
        if w.sft > 0:
            sft_parts.append((float(w.sft), sequences(outcome.demonstration)))
    for item in decision.extra_sft:
        if item.weight > 0:
            sft_parts.append((float(item.weight), sequences(item.demonstration)))
    return rl_parts, sft_parts, signal


def mixed_step(model, ref_model, optimizer, params, rl_parts, sft_parts, algorithm, cfg: RLConfig,
               pad_id: int) -> dict:
    """``rl.ppo_epochs`` optimizer steps, each on the whole weighted loss
    ``sum rl_w * RL_t + sum sft_w * SFT_t`` (see the module doc). Returns the
    loss (mean over steps), its two parts, and the clip/KL statistics."""
    import torch

    samples = [s for _, part in rl_parts for s in part]
    if cfg.ppo_epochs > 1 and samples:
        _record_old_logprobs(model, samples, cfg, pad_id)
    if algorithm.loss.aggregation == "token-sum":
        rl_norm = len(samples) * cfg.max_new_tokens if samples else 0
    else:
        rl_norm = sum(len(s.completion_ids) for s in samples)
    sft_norm = sum(answer_tokens(seqs) for _, seqs in sft_parts)
    steps, rl_sum, sft_sum, clipped, kl, tokens = 0, 0.0, 0.0, 0.0, 0.0, 0.0
    for _ in range(cfg.ppo_epochs):
        optimizer.zero_grad(set_to_none=True)
        for weight, part in rl_parts:
            for chunk in _micro(part, cfg.micro_batch_size):
                with _autocast(model, cfg.bf16):
                    loss, stats = policy_loss(model, ref_model, chunk, cfg, pad_id, rl_norm)
                (weight * loss).backward()
                rl_sum += weight * float(loss.detach())
                clipped, kl, tokens = clipped + stats["clipped"], kl + stats["kl"], tokens + stats["tokens"]
        for weight, seqs in sft_parts:
            for chunk in _micro(seqs, cfg.micro_batch_size):
                if not answer_tokens(chunk):
                    continue
                with _autocast(model, cfg.bf16):
                    loss = sft_nll(model, chunk, pad_id) / sft_norm
                (weight * loss).backward()
                sft_sum += weight * float(loss.detach())
        if rl_norm or sft_norm:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            steps += 1
    n = max(steps, 1)
    return {"steps": steps, "loss": (rl_sum + sft_sum) / n, "rl_loss": rl_sum / n, "sft_loss": sft_sum / n,
            "clipped": clipped, "kl": kl, "tokens": tokens, "sft_tokens": sft_norm}


# -- the run's side (prism_gym/runner/run.py) -------------------------------------------

def build_arbiter(cfg):
    """The run's arbiter, from the registry, with its options."""
    from prism_gym.plugins import get_registry

    return get_registry().arbiter(cfg.arbiter).build(**cfg.arbiter_options)


def arbiter_record(cfg) -> dict:
    """What ``probe/router.json`` (and result.json's ``router``) records for an
    arbiter run: the method is the arbiter, with its settings."""
    arbiter = build_arbiter(cfg)
    settings = arbiter.settings() if hasattr(arbiter, "settings") else dict(cfg.arbiter_options)
    plain = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in settings.items()}
    return {"name": cfg.arbiter, "settings": plain}


def arbitrated_stage(cfg, expert_path: Path) -> Callable:
    """A trainer with :func:`run_grpo`'s signature that runs the mixed loop with
    the run's arbiter, the won expert trajectories as demonstrations, the SFT
    stage's ``max_length`` and the run's probe settings."""
    from prism_gym.records import read_trajectories

    arbiter = build_arbiter(cfg)
    demos = demonstrations(read_trajectories(expert_path))
    probe_options = {"batch_size": cfg.probe.batch_size, "max_batch_tokens": cfg.probe.max_batch_tokens}

    def train(model, tokenizer, tasks, rl_cfg, *, seed, collect, work_dir, on_step=None, on_update=None):
        return run_mixed(model, tokenizer, tasks, demos, rl_cfg, arbiter, seed=seed, collect=collect,
                         work_dir=work_dir, sft_max_length=cfg.sft.max_length, probe_options=probe_options,
                         on_step=on_step, on_update=on_update)

    return train
