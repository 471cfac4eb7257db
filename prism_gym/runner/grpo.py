"""The RL stage: GRPO with multi-turn episodes in the env.

One update ("iteration"): take the next ``tasks_per_iteration`` tasks of the RL
share, play ``group_size`` sampled episodes of each with the current policy
(the rollout engine, one batched generate per env step), score every episode by
its return, and normalise within the task's group: ``A = (R - mean) / (std +
1e-4)`` (GRPO's group-relative advantage). Every step of an episode is one
(prompt, completion) pair, exactly the per-step chat the agent acted on, and
carries its episode's advantage. The loss is GRPO's clipped surrogate on the
completion tokens only (the prompt, i.e. everything the env wrote, is masked
out), averaged over all completion tokens of the update, plus ``beta`` times
the k3 KL estimate against the stage's starting policy. One optimizer step per
iteration on fresh rollouts, so the ratio is 1 at the update (as trl's
GRPOTrainer with ``num_iterations=1``).

Why not ``trl.GRPOTrainer``: its ``rollout_func`` must return one token
sequence per rollout, so a multi-turn episode has to become one growing
context. The agent here acts on a fresh per-step prompt (task, short history,
observation, admissible actions; agents/prompts.py), the same one SFT and
evaluation use; training on a concatenated context would optimise a policy
conditioned on something the agent never sees. The update rule is the same.

Resume: after every iteration the policy, the optimizer and the ledger so far
are written atomically to ``work_dir/state``; rollouts are seeded by (run
seed, iteration), so a resumed run replays the same updates.
"""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from prism_gym.records import Task
from prism_gym.runner import dist
from prism_gym.runner.ledger import StageCost, StageTimer, TokenMeter, matmul_parameters
from prism_gym.runner.presets import RLConfig

CollectFn = Callable[..., list]  # (model, tasks, *, group_size, seed) -> list[Episode]


@dataclass
class StepSample:
    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float


def iteration_tasks(tasks: Sequence[Task], iteration: int, per_iteration: int, seed: int) -> list[Task]:
    """The tasks of one update: a seeded permutation of the RL tasks, walked
    in order and wrapped around, so every task is used before any repeats."""
    order = list(tasks)
    random.Random(seed).shuffle(order)
    n = len(order)
    k = min(per_iteration, n)
    start = (iteration * k) % n
    return [order[(start + i) % n] for i in range(k)]


def planned_iterations(cfg: RLConfig, n_tasks: int) -> int:
    """Updates of the stage: fixed, or enough for ``epochs`` passes over the tasks."""
    if cfg.epochs is None:
        return cfg.iterations
    return math.ceil(cfg.epochs * n_tasks / cfg.tasks_per_iteration) if n_tasks else 0


def group_advantages(returns: Sequence[float], group_size: int) -> list[float]:
    """GRPO's advantage: return minus its group's mean, over the group's std
    (population std, + 1e-4). Groups are consecutive ``group_size`` blocks."""
    if len(returns) % group_size:
        raise ValueError(f"{len(returns)} returns do not form groups of {group_size}")
    out = []
    for g in range(0, len(returns), group_size):
        block = returns[g:g + group_size]
        mean = sum(block) / len(block)
        std = (sum((r - mean) ** 2 for r in block) / len(block)) ** 0.5
        out += [(r - mean) / (std + 1e-4) for r in block]
    return out


def episode_samples(episodes: Sequence, group_size: int, keep_zero_advantage: bool = False
                    ) -> tuple[list[StepSample], list[float]]:
    """Per-step samples with their episode's advantage; returns (samples, returns).

    Episodes arrive grouped by task (``group_size`` consecutive episodes per
    task, the rollout engine's order). Steps with a zero advantage carry no
    policy gradient; they are left out unless ``keep_zero_advantage`` (set when
    the KL term is on, since they still carry that term).
    """
    returns = [float(e.trajectory.reward) for e in episodes]
    advantages = group_advantages(returns, group_size)
    samples = []
    for episode, adv in zip(episodes, advantages):
        if abs(adv) < 1e-8 and not keep_zero_advantage:
            continue
        for step in episode.steps:
            if step.completion_ids:
                samples.append(StepSample(list(step.prompt_ids), list(step.completion_ids), adv))
    return samples, returns


def _batch_logprobs(model, samples: Sequence[StepSample], pad_id: int):
    """Per-token log-probabilities of each sample's completion under ``model``:
    (logps [B, T], mask [B, T]) with T the longest completion."""
    import torch

    device = next(model.parameters()).device
    seqs = [s.prompt_ids + s.completion_ids for s in samples]
    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, seq in enumerate(seqs):
        ids[i, :len(seq)] = torch.tensor(seq)
        attn[i, :len(seq)] = 1
    ids, attn = ids.to(device), attn.to(device)
    logits = model(input_ids=ids, attention_mask=attn).logits.float()
    comp_len = max(len(s.completion_ids) for s in samples)
    logps = torch.zeros((len(samples), comp_len), device=device)
    mask = torch.zeros((len(samples), comp_len), device=device)
    for i, s in enumerate(samples):
        p, c = len(s.prompt_ids), len(s.completion_ids)
        # the logits at position t predict token t+1
        step_logits = logits[i, p - 1:p - 1 + c]
        logps[i, :c] = torch.log_softmax(step_logits, dim=-1).gather(-1, ids[i, p:p + c, None]).squeeze(-1)
        mask[i, :c] = 1.0
    return logps, mask


def grpo_loss(model, ref_model, samples: Sequence[StepSample], cfg: RLConfig, pad_id: int, token_total: int):
    """GRPO's clipped surrogate (+ beta * KL) for one micro-batch, scaled by
    the token count of the whole update so that micro-batches add up."""
    import torch

    logps, mask = _batch_logprobs(model, samples, pad_id)
    adv = torch.tensor([s.advantage for s in samples], device=logps.device)[:, None]
    old = logps.detach()  # one update per rollout batch: the sampling policy is the current one
    ratio = torch.exp(logps - old)
    clipped = torch.clamp(ratio, 1 - cfg.epsilon, 1 + cfg.epsilon)
    per_token = -torch.min(ratio * adv, clipped * adv)
    if cfg.beta > 0 and ref_model is not None:
        with torch.no_grad():
            ref, _ = _batch_logprobs(ref_model, samples, pad_id)
        delta = ref - logps
        per_token = per_token + cfg.beta * (torch.exp(delta) - delta - 1)
    return (per_token * mask).sum() / max(token_total, 1)


class _State:
    """The stage's resumable state on disk: policy, optimizer, progress."""

    def __init__(self, work_dir: Path):
        self.dir = Path(work_dir) / "state"

    def load(self, model, optimizer) -> tuple[int, StageCost, list[dict]]:
        import torch
        from safetensors.torch import load_model

        meta_path = self.dir / "meta.json"
        if not meta_path.exists():
            return 0, StageCost(), []
        meta = json.loads(meta_path.read_text())
        load_model(model, str(self.dir / "policy.safetensors"))
        optimizer.load_state_dict(torch.load(self.dir / "optimizer.pt", weights_only=True))
        return int(meta["iteration"]), StageCost.from_dict(meta["ledger"]), list(meta["history"])

    def save(self, model, optimizer, iteration: int, ledger: StageCost, history: list[dict]) -> None:
        import torch
        from safetensors.torch import save_model

        self.dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".state.", dir=self.dir.parent))
        try:
            save_model(model, str(tmp / "policy.safetensors"))
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            (tmp / "meta.json").write_text(json.dumps({"iteration": iteration, "ledger": ledger.to_dict(),
                                                       "history": history}))
            old = self.dir.with_name(".state.old")
            if self.dir.exists():
                os.replace(self.dir, old)  # the previous state survives until the new one is in place
            os.replace(tmp, self.dir)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def run_grpo(model, tokenizer, tasks: Sequence[Task], cfg: RLConfig, *, seed: int, collect: CollectFn,
             work_dir: Path, on_step: Callable[[int, int], None] | None = None) -> tuple[object, StageCost, list[dict]]:
    """Train ``model`` with GRPO on ``tasks``; return (trained model, cost,
    per-iteration history). ``collect(model, tasks, group_size=, seed=)``
    plays the episodes and returns them with their token ids."""
    import copy

    import torch

    iterations = planned_iterations(cfg, len(tasks))
    if iterations == 0 or not tasks:
        return model, StageCost(), []
    torch.manual_seed(seed)
    ref_model = None
    if cfg.beta > 0:
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    if cfg.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    state = _State(work_dir)
    start, carried, history = state.load(model, optimizer)

    meter = TokenMeter().attach(model)
    # the saved ledger is already the sum over processes: carry it once
    timer = StageTimer(meter, matmul_parameters(model), carried=carried if dist.is_main() else StageCost())
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    try:
        for it in range(start, iterations):
            batch_tasks = iteration_tasks(tasks, it, cfg.tasks_per_iteration, seed)
            mine = batch_tasks[dist.rank()::dist.size()]  # each process plays whole groups
            model.eval()
            episodes = collect(model, mine, group_size=cfg.group_size,
                               seed=seed * 100_003 + it * 101 + dist.rank()) if mine else []
            timer.env_steps += sum(e.trajectory.num_steps for e in episodes)
            samples, returns = episode_samples(episodes, cfg.group_size, keep_zero_advantage=cfg.beta > 0)
            model.train()
            optimizer.zero_grad(set_to_none=True)
            token_total = dist.sum_int(sum(len(s.completion_ids) for s in samples))
            loss_value = 0.0
            for i in range(0, len(samples), cfg.micro_batch_size):
                loss = grpo_loss(model, ref_model, samples[i:i + cfg.micro_batch_size], cfg, pad_id, token_total)
                loss.backward()
                loss_value += float(loss.detach())
            dist.sum_gradients(params)
            if token_total:
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
            model.eval()
            parts = dist.gather((returns, [bool(e.trajectory.won) for e in episodes], len(samples), loss_value))
            all_returns = [r for p in parts for r in p[0]]
            all_wins = [w for p in parts for w in p[1]]
            history.append({"iteration": it, "mean_return": sum(all_returns) / max(len(all_returns), 1),
                            "success": sum(all_wins) / max(len(all_wins), 1),
                            "samples": sum(p[2] for p in parts), "loss": sum(p[3] for p in parts)})
            stage_cost = dist.reduce_cost(timer.cost())
            if dist.is_main():
                state.save(model, optimizer, it + 1, stage_cost, history)
            dist.barrier()
            if on_step is not None:
                on_step(it + 1, iterations)
    finally:
        meter.detach()
    cost = dist.reduce_cost(timer.cost())
    if cfg.lora:
        model = model.merge_and_unload()
    return model, cost, history
