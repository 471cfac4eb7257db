"""The RL stage: a clipped policy-gradient loop over multi-turn episodes in the env.

One update ("iteration"):

1. Rollouts. Take the next ``tasks_per_iteration`` tasks of the RL share and
   play ``group_size`` sampled episodes of each with the current policy (the
   rollout engine, one batched generate per env step, at ``rl.temperature``).
   With ``rl.dynamic_sampling`` (DAPO), groups whose returns are all equal
   carry no group-relative signal: they are dropped and groups of other tasks
   are played in their place, for at most ``rl.dynamic_sampling_rounds`` extra
   rounds. Extra rollouts are in the ledger like any other.
2. Advantages. The algorithm plugin (``rl.algorithm``: grpo, gigpo, rloo, or a
   third party's; :mod:`prism_gym.algorithm`) turns each group into one
   advantage per step. Every step of an episode is one (prompt, completion)
   sample: exactly the per-step chat the agent acted on.
3. Loss. The clipped surrogate on the completion tokens only (the prompt, i.e.
   everything the env wrote, is masked out) plus ``beta`` times the k3 KL
   estimate against the stage's starting policy. Log-probabilities are taken at
   the sampling temperature (``logits / rl.temperature``), the distribution the
   rollout drew from. Tokens are averaged as the algorithm's loss settings say.
4. Optimizer steps. ``rl.ppo_epochs`` passes over the samples in mini-batches
   of ``rl.mini_batch_size`` (verl-agent's PPO epochs x mini-batches). With
   more than one step per batch the old log-probs are computed once, before the
   first step, so later steps see a ratio away from 1 and the clip acts. With
   one step (the default) the ratio is 1 at the update, as trl's GRPOTrainer
   with ``num_iterations=1``.

Parameters are always fp32 during the stage (fp32 master weights);
``rl.bf16`` runs forward passes under bf16 autocast. The model is returned in
the dtype it came in.

Why not ``trl.GRPOTrainer``: its ``rollout_func`` must return one token
sequence per rollout, so a multi-turn episode has to become one growing
context. The agent here acts on a fresh per-step prompt (task, short history,
observation, admissible actions; agents/prompts.py), the same one SFT and
evaluation use; training on a concatenated context would optimise a policy
conditioned on something the agent never sees. The update rule is the same.

Resume: after every iteration the policy, the optimizer and the ledger so far
are written atomically to ``work_dir/state``; rollouts and mini-batch orders
are seeded by (run seed, iteration), so a resumed run replays the same updates.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from prism_gym.agents.constrained import masked_logprobs
from prism_gym.algorithm import PlayedEpisode
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
    old_logps: list[float] | None = None  # per completion token, set before the first of several steps
    # Admissible decoding: the tokens the sampler allowed before each completion token (None: any).
    # The policy is the masked distribution, so its log-probs here are masked the same way.
    allowed: list[list[int] | None] | None = None


def build_algorithm(cfg: RLConfig):
    from prism_gym.plugins import get_registry

    return get_registry().algorithm(cfg.algorithm).build(**cfg.algorithm_options)


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
    """GRPO's episode advantage over consecutive ``group_size`` blocks of returns."""
    from prism_gym.algorithm import group_normalised

    if len(returns) % group_size:
        raise ValueError(f"{len(returns)} returns do not form groups of {group_size}")
    return [a for g in range(0, len(returns), group_size) for a in group_normalised(returns[g:g + group_size])]


def split_groups(episodes: Sequence, group_size: int) -> list[list]:
    """The rollout engine's order: ``group_size`` consecutive episodes per task."""
    if len(episodes) % group_size:
        raise ValueError(f"{len(episodes)} episodes do not form groups of {group_size}")
    return [list(episodes[g:g + group_size]) for g in range(0, len(episodes), group_size)]


def played_episode(episode, invalid_penalty: float = 0.0) -> PlayedEpisode:
    """What the algorithm sees of a played episode: the env's step rewards,
    less ``invalid_penalty`` at every step whose action the env rejected (as
    verl-agent's invalid-action penalty; the rollout engine records the steps)."""
    played = PlayedEpisode.from_trajectory(episode.trajectory)
    invalid = set(episode.trajectory.metadata.get("invalid_steps", ())) if invalid_penalty else set()
    if not invalid:
        return played
    rewards = tuple(r - invalid_penalty if t in invalid else r for t, r in enumerate(played.rewards))
    return PlayedEpisode(rewards=rewards, observations=played.observations)


def has_reward_variance(group: Sequence, invalid_penalty: float = 0.0) -> bool:
    returns = [played_episode(e, invalid_penalty).ret for e in group]
    return max(returns) - min(returns) > 1e-8


def groups_with_signal(groups: Sequence[Sequence], algorithm, invalid_penalty: float = 0.0) -> int:
    """How many groups get a non-zero advantage somewhere."""
    return sum(any(abs(a) > 1e-8 for per_step in algorithm.advantages([played_episode(e, invalid_penalty)
                                                                      for e in group]) for a in per_step)
               for group in groups)


def group_samples(groups: Sequence[Sequence], algorithm, keep_zero_advantage: bool = False,
                  invalid_penalty: float = 0.0) -> tuple[list[StepSample], int]:
    """Per-step samples with the algorithm's advantages; returns (samples,
    number of groups with a non-zero advantage somewhere).

    Steps with a zero advantage carry no policy gradient; they are left out
    unless ``keep_zero_advantage`` (set when the KL term is on, since they
    still carry that term).
    """
    samples, signal = [], 0
    for group in groups:
        advantages = algorithm.advantages([played_episode(e, invalid_penalty) for e in group])
        signal += any(abs(a) > 1e-8 for per_step in advantages for a in per_step)
        for episode, per_step in zip(group, advantages):
            if len(per_step) != len(episode.steps):
                raise ValueError(f"algorithm {algorithm.name!r} gave {len(per_step)} advantages for an episode "
                                 f"of {len(episode.steps)} steps")
            for step, adv in zip(episode.steps, per_step):
                if step.completion_ids and (abs(adv) > 1e-8 or keep_zero_advantage):
                    samples.append(StepSample(list(step.prompt_ids), list(step.completion_ids), float(adv),
                                              allowed=getattr(step, "allowed", None)))
    return samples, signal


def completion_logprobs(model, samples: Sequence[StepSample], pad_id: int, temperature: float):
    """Per-token log-probabilities of each sample's completion under ``model``
    at the sampling ``temperature``: (logps [B, T], mask [B, T]), T the longest
    completion.

    Prompts are left-padded and completions right-padded, so that every
    completion starts in one column; the model then computes logits for the
    completion columns only (``logits_to_keep``), not for the prompts, whose
    full-vocabulary logits would dominate a real model's memory. Positions
    count real tokens only (as ``generate`` numbers a left-padded prompt)."""
    import torch

    device = next(model.parameters()).device
    prompt_width = max(len(s.prompt_ids) for s in samples)
    comp_len = max(len(s.completion_ids) for s in samples)
    ids = torch.full((len(samples), prompt_width + comp_len), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, s in enumerate(samples):
        p, c = len(s.prompt_ids), len(s.completion_ids)
        ids[i, prompt_width - p:prompt_width + c] = torch.tensor(s.prompt_ids + s.completion_ids)
        attn[i, prompt_width - p:prompt_width + c] = 1
    positions = (attn.cumsum(-1) - 1).clamp_min(0)
    ids, attn, positions = ids.to(device), attn.to(device), positions.to(device)
    # the logits at column t predict the token at t + 1: columns prompt_width - 1 ... + comp_len - 1
    logits = model(input_ids=ids, attention_mask=attn, position_ids=positions,
                   logits_to_keep=comp_len + 1).logits[:, :comp_len].float() / temperature
    targets = ids[:, prompt_width:]
    logps = masked_logprobs(logits, [s.allowed for s in samples]).gather(-1, targets[..., None]).squeeze(-1)
    mask = attn[:, prompt_width:].float()
    return logps * mask, mask


def policy_loss(model, ref_model, samples: Sequence[StepSample], cfg: RLConfig, pad_id: int, normaliser: float):
    """The clipped surrogate (+ beta * KL) of one micro-batch, divided by the
    optimizer step's ``normaliser`` so that micro-batches (and processes) add
    up. Returns (loss, {clipped tokens, k3 KL sum against the old policy, tokens})."""
    import torch

    logps, mask = completion_logprobs(model, samples, pad_id, cfg.temperature)
    adv = torch.tensor([s.advantage for s in samples], device=logps.device)[:, None]
    if samples[0].old_logps is None:
        old = logps.detach()  # one step per rollout batch: the sampling policy is the current one
    else:
        old = torch.zeros_like(logps)
        for i, s in enumerate(samples):
            old[i, :len(s.old_logps)] = torch.tensor(s.old_logps, device=logps.device)
    log_ratio = logps - old
    ratio = torch.exp(log_ratio)
    unclipped, clipped = ratio * adv, torch.clamp(ratio, 1 - cfg.epsilon, 1 + cfg.epsilon) * adv
    per_token = -torch.min(unclipped, clipped)
    if cfg.beta > 0 and ref_model is not None:
        with torch.no_grad():
            ref, _ = completion_logprobs(ref_model, samples, pad_id, cfg.temperature)
        delta = ref - logps
        per_token = per_token + cfg.beta * (torch.exp(delta) - delta - 1)
    with torch.no_grad():
        lr = log_ratio.detach()
        stats = {"clipped": float(((clipped < unclipped).float() * mask).sum()),
                 "kl": float((((torch.exp(lr) - 1) - lr) * mask).sum()),
                 "tokens": float(mask.sum())}
    return (per_token * mask).sum() / max(normaliser, 1e-12), stats


def minibatch_plan(n_local: int, cfg: RLConfig) -> int:
    """Mini-batches per pass, the same on every process: the update's samples
    (over all processes) in steps of ``rl.mini_batch_size``."""
    if cfg.mini_batch_size is None:
        return 1
    return max(1, math.ceil(dist.sum_int(n_local) / cfg.mini_batch_size))


def _chunks(items: list, parts: int) -> list[list]:
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (1 if k < extra else 0)
        out.append(items[start:end])
        start = end
    return out


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


def _autocast(model, enabled: bool):
    import torch

    if not enabled:
        return contextlib.nullcontext()
    device = next(model.parameters()).device
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def prepare_policy(model, cfg: RLConfig):
    """The policy as an RL stage trains it: fp32 master weights (AdamW on bf16
    parameters loses small updates to rounding), gradient checkpointing and
    LoRA as configured, and a frozen copy for the KL term when ``beta`` > 0.
    Returns (policy, reference model or None, the dtype the model came in)."""
    import copy

    import torch

    ref_model = None
    if cfg.beta > 0:
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    input_dtype = next(model.parameters()).dtype
    if input_dtype != torch.float32:
        model = model.float()
    if cfg.gradient_checkpointing:
        # recompute activations in the backward pass (train mode only: rollouts keep their KV cache)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
    return model, ref_model, input_dtype


def restore_policy(model, cfg: RLConfig, input_dtype):
    """Undo :func:`prepare_policy` on the trained policy: LoRA merged, no
    checkpointing, the dtype the model came in."""
    if cfg.lora:
        model = model.merge_and_unload()
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    if input_dtype != next(model.parameters()).dtype:
        model = model.to(input_dtype)
    return model


def run_grpo(model, tokenizer, tasks: Sequence[Task], cfg: RLConfig, *, seed: int, collect: CollectFn,
             work_dir: Path, on_step: Callable[[int, int], None] | None = None,
             on_update: Callable[[dict], None] | None = None) -> tuple[object, StageCost, list[dict]]:
    """Train ``model`` on ``tasks``; return (trained model, cost, per-iteration
    history). ``collect(model, tasks, group_size=, seed=)`` plays the episodes
    and returns them with their token ids; ``on_update`` is handed each
    update's history row as soon as it is recorded (trackers log it live)."""
    import torch

    iterations = planned_iterations(cfg, len(tasks))
    if iterations == 0 or not tasks:
        return model, StageCost(), []
    algorithm = build_algorithm(cfg)
    torch.manual_seed(seed)
    model, ref_model, input_dtype = prepare_policy(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    state = _State(work_dir)
    start, carried, history = state.load(model, optimizer)

    meter = TokenMeter().attach(model)
    if ref_model is not None:
        meter.attach(ref_model)  # the KL term's forward passes cost compute too
    # the saved ledger is already the sum over processes: carry it once
    timer = StageTimer(meter, matmul_parameters(model), carried=carried if dist.is_main() else StageCost())
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    try:
        for it in range(start, iterations):
            # 1. rollouts: each process plays whole groups of its share of the tasks
            batch_tasks = iteration_tasks(tasks, it, cfg.tasks_per_iteration, seed)
            mine = batch_tasks[dist.rank()::dist.size()]
            model.eval()

            def play(round_tasks, round_no):
                if not round_tasks:
                    return []
                with _autocast(model, cfg.bf16):
                    played = collect(model, round_tasks, group_size=cfg.group_size,
                                     seed=seed * 100_003 + it * 101 + dist.rank() + round_no * 1_000_003)
                timer.env_steps += sum(e.trajectory.num_steps for e in played)
                return played

            first = play(mine, 0)
            first_groups = split_groups(first, cfg.group_size)
            groups, resampled = first_groups, 0
            if cfg.dynamic_sampling:
                groups, resampled = _dynamic_sampling(first_groups, tasks, mine, cfg, play,
                                                      rng_seed=(seed, it, dist.rank()))

            # 2. advantages
            samples, signal = group_samples(groups, algorithm, keep_zero_advantage=cfg.beta > 0,
                                            invalid_penalty=cfg.invalid_action_penalty)
            first_signal = signal if groups is first_groups else groups_with_signal(
                first_groups, algorithm, invalid_penalty=cfg.invalid_action_penalty)

            # 3 + 4. loss and optimizer steps
            model.train()
            several_steps = cfg.ppo_epochs > 1 or minibatch_plan(len(samples), cfg) > 1
            if several_steps:
                _record_old_logprobs(model, samples, cfg, pad_id)
            fit = _optimise(model, ref_model, optimizer, params, samples, algorithm, cfg, pad_id,
                            rng=random.Random(seed * 7919 + it * 31 + dist.rank()))
            model.eval()

            history.append(_update_record(it, first, first_signal, groups, signal, samples, fit, resampled, cfg))
            if on_update is not None:
                on_update(history[-1])
            stage_cost = dist.reduce_cost(timer.cost())
            if dist.is_main():
                state.save(model, optimizer, it + 1, stage_cost, history)
            dist.barrier()
            if on_step is not None:
                on_step(it + 1, iterations)
    finally:
        meter.detach()
    cost = dist.reduce_cost(timer.cost())
    return restore_policy(model, cfg, input_dtype), cost, history


def _dynamic_sampling(groups, tasks, mine, cfg: RLConfig, play, rng_seed) -> tuple[list, int]:
    """Keep the groups with reward variance; replace the others by groups of
    tasks drawn from the rest of the RL share. Returns (groups, extra episodes played)."""
    kept = [g for g in groups if has_reward_variance(g, cfg.invalid_action_penalty)]
    rng = random.Random("-".join(map(str, rng_seed)))  # str seeds are stable across processes
    extra, used = 0, {t.id for t in mine}
    for round_no in range(1, cfg.dynamic_sampling_rounds + 1):
        missing = len(mine) - len(kept)
        if missing <= 0:
            break
        # tasks not yet played in this update first; a small share may have to repeat some
        pool = [t for t in tasks if t.id not in used] or list(tasks)
        replacements = rng.sample(pool, missing) if missing <= len(pool) else [rng.choice(pool) for _ in range(missing)]
        used |= {t.id for t in replacements}
        played = play(replacements, round_no)
        extra += len(played)
        kept += [g for g in split_groups(played, cfg.group_size)
                 if has_reward_variance(g, cfg.invalid_action_penalty)]
    return kept[:len(mine)], extra


def _record_old_logprobs(model, samples: list[StepSample], cfg: RLConfig, pad_id: int) -> None:
    """The rollout policy's log-probs, once, before the first optimizer step."""
    import torch

    with torch.no_grad(), _autocast(model, cfg.bf16):
        for i in range(0, len(samples), cfg.micro_batch_size):
            batch = samples[i:i + cfg.micro_batch_size]
            logps, _ = completion_logprobs(model, batch, pad_id, cfg.temperature)
            for s, row in zip(batch, logps.tolist()):
                s.old_logps = row[:len(s.completion_ids)]


def _optimise(model, ref_model, optimizer, params, samples, algorithm, cfg: RLConfig, pad_id: int, rng) -> dict:
    """``ppo_epochs`` passes of mini-batch steps; returns loss and clip/KL statistics."""
    import torch

    parts = minibatch_plan(len(samples), cfg)
    steps, loss_sum, clipped, kl, tokens = 0, 0.0, 0.0, 0.0, 0.0
    for _ in range(cfg.ppo_epochs):
        order = list(samples)
        if parts > 1:
            rng.shuffle(order)
        for chunk in _chunks(order, parts):
            optimizer.zero_grad(set_to_none=True)
            if algorithm.loss.aggregation == "token-sum":
                normaliser = dist.sum_int(len(chunk)) * cfg.max_new_tokens
            else:
                normaliser = dist.sum_int(sum(len(s.completion_ids) for s in chunk))
            step_loss = 0.0
            for i in range(0, len(chunk), cfg.micro_batch_size):
                with _autocast(model, cfg.bf16):
                    loss, stats = policy_loss(model, ref_model, chunk[i:i + cfg.micro_batch_size], cfg, pad_id,
                                              normaliser)
                loss.backward()
                step_loss += float(loss.detach())
                clipped, kl, tokens = clipped + stats["clipped"], kl + stats["kl"], tokens + stats["tokens"]
            dist.sum_gradients(params)
            if normaliser:  # the same on every process: a global count
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                steps += 1
            loss_sum += step_loss
    return {"steps": steps, "loss": loss_sum / max(steps, 1), "clipped": clipped, "kl": kl, "tokens": tokens}


def _update_record(it: int, first: list, first_signal: int, groups: list, signal: int, samples: list, fit: dict,
                   resampled: int, cfg: RLConfig) -> dict:
    """One row of rl/history.json, summed over processes. Return, success,
    action rates and the share of groups with signal describe the update's
    first-round rollouts (before dynamic sampling picks groups), so that the
    curve is not flattered by the selection."""
    trajectories = [e.trajectory for e in first]
    mine = {"returns": [float(t.reward) for t in trajectories], "wins": [bool(t.won) for t in trajectories],
            "steps": sum(t.num_steps for t in trajectories),
            "invalid": sum(int(t.metadata.get("invalid_actions", 0)) for t in trajectories),
            "malformed": sum(int(t.metadata.get("malformed_actions", 0)) for t in trajectories),
            "groups": len(first) // cfg.group_size, "first_signal": first_signal, "trained_groups": len(groups),
            "signal": signal,
            "samples": len(samples), "loss": fit["loss"], "clipped": fit["clipped"], "kl": fit["kl"],
            "tokens": fit["tokens"], "resampled": resampled}
    parts = dist.gather(mine)

    def add(key):
        return sum(p[key] for p in parts)

    returns = [r for p in parts for r in p["returns"]]
    wins = [w for p in parts for w in p["wins"]]
    steps, tokens, groups_played = add("steps"), add("tokens"), add("groups")
    return {
        "iteration": it,
        "algorithm": cfg.algorithm,
        "episodes": len(returns),
        "mean_return": sum(returns) / max(len(returns), 1),
        "success": sum(wins) / max(len(wins), 1),
        "valid_action_rate": 1.0 - add("invalid") / steps if steps else 0.0,
        "malformed_rate": add("malformed") / steps if steps else 0.0,
        # share of the groups whose advantages are not all zero
        "signal_groups": add("first_signal") / groups_played if groups_played else 0.0,
        "trained_groups": add("trained_groups"),
        "no_signal": add("signal") == 0,  # no trained group had any: the policy-gradient step is zero
        "resampled_episodes": add("resampled"),
        "samples": add("samples"),
        "optimizer_steps": fit["steps"],
        "loss": add("loss"),
        "clip_fraction": add("clipped") / tokens if tokens else 0.0,
        "approx_kl": add("kl") / tokens if tokens else 0.0,
    }
