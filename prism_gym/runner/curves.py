"""Learning curves of a run: what each stage learned, as numbers and a picture.

- SFT: the train loss of each logging interval, and after every epoch the
  teacher-forced next-action accuracy on held-out expert steps
  (:func:`action_accuracy`).
- RL: per update, the mean return, success, the share of groups whose
  episodes did not all get the same return (only those carry a policy
  gradient), and the valid-action rate of the rollouts.
- Evaluation: success, score, goal-condition success, invalid and malformed
  action rates per split.

:func:`write_curves` gathers them from the run directory into ``curves.json``
and draws ``curves.png``; the runner calls it after every stage, so a killed
run still shows how far it got.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from prism_gym.fileio import read_json, write_json
from prism_gym.records import Trajectory

CURVES_JSON = "curves.json"
CURVES_PNG = "curves.png"


def action_accuracy(model, tokenizer, trajectories: Sequence[Trajectory]) -> dict:
    """Teacher-forced next-action accuracy: the share of expert steps whose
    whole answer (every token, the end-of-turn included) is the model's
    argmax, given the prompt and the answer's earlier tokens; and the mean
    answer-token loss. The answer is the chat's assistant tokens under the
    mask SFT trains on (:func:`prism_gym.chat_mask.assistant_tokens`)."""
    import torch

    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.chat_mask import assistant_tokens

    pairs = []
    for traj in trajectories:
        for chat in trajectory_chats(traj):
            # the same assistant mask SFT trains on; the answer is the chat's last run of it
            ids, mask = assistant_tokens(tokenizer, chat)
            end = max(i for i, m in enumerate(mask) if m) + 1
            start = end
            while start > 0 and mask[start - 1]:
                start -= 1
            pairs.append((ids[:start], ids[start:end]))
    if not pairs:
        return {"heldout_accuracy": 0.0, "heldout_answer_loss": 0.0, "heldout_steps": 0}
    device = next(model.parameters()).device
    correct, loss_sum, tokens = 0, 0.0, 0
    with torch.no_grad():
        for p, a in pairs:
            # One chat at a time, logits only where they predict the answer: a
            # real model's full-vocabulary logits for a batch would not fit.
            ids = torch.tensor([p + a], device=device)
            step_logits = model(input_ids=ids, logits_to_keep=len(a) + 1).logits[0, :len(a)].float()
            target = torch.tensor(a, device=device)
            correct += int(bool((step_logits.argmax(-1) == target).all()))
            loss_sum += float(torch.nn.functional.cross_entropy(step_logits, target, reduction="sum"))
            tokens += len(a)
    return {"heldout_accuracy": correct / len(pairs), "heldout_answer_loss": loss_sum / max(tokens, 1),
            "heldout_steps": len(pairs)}


def no_signal_advice(history: Sequence[dict]) -> str | None:
    """A sentence for a user whose RL stage had (almost) no signal, or None."""
    shares = [h["signal_groups"] for h in history if "signal_groups" in h]
    if not shares or sum(shares) / len(shares) >= 0.1:
        return None
    wins = [h.get("success", 0.0) for h in history]
    if max(wins, default=0.0) == 0.0:
        hint = ("no rollout was ever won, so every group's returns were equal: start RL from a stronger policy "
                "(more SFT data or epochs), use a denser reward (environment.reward_mode on WebShop, "
                "rl.invalid_action_penalty), or raise rl.group_size / rl.max_steps")
    else:
        hint = ("the groups' episodes were all won: the tasks are too easy for the policy; "
                "RL on harder tasks or a dynamic-sampling algorithm would carry more signal")
    mean = sum(shares) / len(shares)
    return f"RL received almost no learning signal ({mean:.0%} of groups had unequal returns): {hint}."


def gather(run_dir: Path) -> dict:
    """Every curve the run directory holds so far."""
    run_dir = Path(run_dir)
    out: dict = {}
    for key, rel in (("sft", "sft/curve.json"), ("rl", "rl/history.json")):
        path = run_dir / rel
        if path.exists():
            out[key] = read_json(path)
    metrics = run_dir / "eval" / "metrics.json"
    if metrics.exists():
        per_split = read_json(metrics).get("per_split", {})
        out["eval"] = per_split
    return out


def write_curves(run_dir: Path) -> dict:
    """Write ``curves.json`` and ``curves.png`` in ``run_dir``; return the curves."""
    run_dir = Path(run_dir)
    curves = gather(run_dir)
    write_json(run_dir / CURVES_JSON, curves)
    if curves:
        plot(curves, run_dir / CURVES_PNG, title=run_dir.name)
    return curves


def plot(curves: dict, path: Path, title: str = "") -> None:
    """Three panels: SFT (loss, held-out accuracy), RL (return, success,
    signal share, valid actions) and evaluation (rates per split)."""
    import os
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    sft = curves.get("sft") or []
    losses = [(c["epoch"], c["train_loss"]) for c in sft if "train_loss" in c]
    accs = [(c["epoch"], c["heldout_accuracy"]) for c in sft if "heldout_accuracy" in c]
    if losses:
        ax.plot(*zip(*losses), label="train loss", color="tab:blue")
    ax.set_xlabel("SFT epoch")
    ax.set_ylabel("loss")
    ax.set_title("SFT")
    if accs:
        twin = ax.twinx()
        twin.plot(*zip(*accs), "o-", color="tab:orange", label="held-out action accuracy")
        twin.set_ylim(0, 1)
        twin.set_ylabel("held-out next-action accuracy")
        twin.legend(loc="upper right", fontsize=8)
    if not losses and not accs:
        ax.text(0.5, 0.5, "no SFT", ha="center", va="center", transform=ax.transAxes)
    ax = axes[1]
    rl = curves.get("rl") or []
    if rl:
        xs = [h["iteration"] + 1 for h in rl]
        for key, label in (("mean_return", "mean return"), ("success", "success"),
                           ("signal_groups", "groups with signal"), ("valid_action_rate", "valid actions")):
            if all(key in h for h in rl):
                ax.plot(xs, [h[key] for h in rl], "o-", label=label, markersize=3)
        ax.legend(fontsize=8)
        ax.set_xlabel("RL update")
    else:
        ax.text(0.5, 0.5, "no RL", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("RL")
    ax = axes[2]
    ev = curves.get("eval") or {}
    keys = (("success_rate", "success"), ("goal_condition_success", "goal conditions"),
            ("invalid_action_rate", "invalid"), ("malformed_action_rate", "malformed"))
    width = 0.8 / max(len(ev), 1)
    for i, (split, m) in enumerate(sorted(ev.items())):
        shown = [(j, m[k]) for j, (k, _) in enumerate(keys) if k in m]
        if shown:
            ax.bar([j + i * width for j, _ in shown], [v for _, v in shown], width=width, label=split)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))], [label for _, label in keys], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("evaluation")
    if ev:
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=80)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
