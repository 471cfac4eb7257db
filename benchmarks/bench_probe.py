"""Throughput of the gradient probe, side by side with the naive loops and the floor.

    OMP_NUM_THREADS=1 python benchmarks/bench_probe.py [--data trajectories.jsonl] [--model DIR]
        [--trajectories 24] [--batch-size 16] [--random-init]

Measured on the same trajectories, in one run, in samples (step chats) per second:

- batched probe: :func:`prism_gym.probe.probe_trajectories` (one forward and one
  backward per batch of ``--batch-size`` samples, per-trajectory norms from hooks);
- naive per-trajectory loop: one forward and backward per trajectory (its steps
  together), norms read from ``.grad`` (:func:`probe_per_trajectory_loop`);
- naive per-sample loop: one forward and backward per sample (batch 1),
  gradients accumulated per trajectory, norms read from ``.grad``;
- floor: a plain batched forward and backward at the same batch size, the cost
  of one training step's gradient with no per-trajectory bookkeeping.

Model: the embedded default model when it is built (or ``--model DIR``); with
``--random-init``, or when the default model is not built yet, a Llama of the
default model's configuration with random weights and a tokenizer trained on
the data. Data: ``--data`` (expert trajectories), else synthetic ALFWorld-like
trajectories. Also checks that the batched probe's norms equal the naive ones.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

ROOMS = ["cabinet", "countertop", "drawer", "fridge", "microwave", "shelf", "sinkbasin", "stoveburner", "toaster"]
OBJECTS = ["apple", "bread", "mug", "knife", "potato", "tomato", "egg", "plate", "spatula", "cup"]


def synthetic_trajectories(n: int, seed: int = 0):
    """ALFWorld-shaped expert trajectories: 4-12 steps, a room description,
    20-40 admissible commands per step."""
    from prism_gym.records import Task, Trajectory, Turn

    rng = np.random.default_rng(seed)
    trajs = []
    for i in range(n):
        obj = OBJECTS[rng.integers(len(OBJECTS))]
        goal = f"put a clean {obj} in {ROOMS[rng.integers(len(ROOMS))]}."
        turns = []
        for _ in range(int(rng.integers(4, 13))):
            here = f"{ROOMS[rng.integers(len(ROOMS))]} {rng.integers(1, 5)}"
            seen = ", ".join(f"a {OBJECTS[rng.integers(len(OBJECTS))]} {rng.integers(1, 4)}" for _ in range(4))
            obs = (f"You arrive at {here}. On the {here}, you see {seen}. "
                   f"Looking quickly around you, you see a {ROOMS[rng.integers(len(ROOMS))]} 1.")
            admissible = sorted({f"go to {ROOMS[rng.integers(len(ROOMS))]} {rng.integers(1, 5)}"
                                 for _ in range(20)} | {f"take {OBJECTS[rng.integers(len(OBJECTS))]} "
                                                         f"{rng.integers(1, 4)} from {here}" for _ in range(10)}
                                | {"inventory", "look", f"examine {here}"})
            turns.append(Turn(observation=obs, action=admissible[rng.integers(len(admissible))],
                              admissible_actions=tuple(admissible)))
        trajs.append(Trajectory(id=f"synthetic-{i}", task=Task("alfworld", "train", str(i), "pick_clean", goal),
                                turns=tuple(turns), won=True, reward=1.0, score=100.0))
    return trajs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="expert trajectories (JSONL); default: synthetic ALFWorld-like ones")
    parser.add_argument("--model", help="model directory; default: the embedded default model")
    parser.add_argument("--random-init", action="store_true",
                        help="use a randomly initialised Llama of the default model's configuration")
    parser.add_argument("--trajectories", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds over all methods (best kept)")
    parser.add_argument("--skip-per-sample", action="store_true", help="skip the slow batch-1 loop")
    args = parser.parse_args()

    import torch

    from prism_gym.probe import encode_trajectories, probe_per_trajectory_loop, probe_trajectories
    from prism_gym.records import read_trajectories

    torch.manual_seed(0)
    trajectories = (read_trajectories(args.data)[:args.trajectories] if args.data
                    else synthetic_trajectories(args.trajectories))
    model, tok, model_desc = resolve_model(args, trajectories)
    corpus = encode_trajectories(tok, trajectories, max_length=args.max_length)
    n_samples = corpus.input_ids.shape[0]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {model_desc} ({n_params / 1e6:.2f}M parameters)")
    print(f"data: {len(trajectories)} trajectories, {n_samples} samples (step chats) at fixed length "
          f"{corpus.length}; batch size {args.batch_size}; torch threads {torch.get_num_threads()}")

    bs = args.batch_size
    # A short warm-up so that one-off allocations do not land in the first method's time.
    probe_trajectories(model, tok, trajectories[:2], model_id="bench", batch_size=bs, progress=False,
                       max_length=corpus.length)
    methods = {
        "floor: plain batched forward+backward": lambda: floor(model, corpus, bs),
        "batched probe (this)": lambda: probe_trajectories(
            model, tok, trajectories, model_id="bench", batch_size=bs, progress=False, max_length=corpus.length),
        "naive per-trajectory loop": lambda: probe_per_trajectory_loop(
            model, tok, trajectories, batch_size=bs, max_length=corpus.length),
    }
    if not args.skip_per_sample:
        methods["naive per-sample loop (batch 1)"] = lambda: probe_per_trajectory_loop(
            model, tok, trajectories, batch_size=1, max_length=corpus.length)
    # Round robin over the methods, best time of each kept: load changes on a
    # shared machine then hit every method alike.
    results = {name: float("inf") for name in methods}
    outputs = {}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            outputs[name] = fn()
            results[name] = min(results[name], time.perf_counter() - start)
    batched, naive = outputs["batched probe (this)"], outputs["naive per-trajectory loop"]
    err = float(np.max(np.abs(batched.norms - naive.norms) / np.maximum(np.abs(naive.norms), 1e-12)))

    probe_rate = n_samples / results["batched probe (this)"]
    print(f"\n{'method':40s} {'seconds':>8s} {'samples/s':>10s} {'probe speed ×':>14s}")
    for name, seconds in results.items():
        rate = n_samples / seconds
        print(f"{name:40s} {seconds:8.2f} {rate:10.2f} {probe_rate / rate:14.2f}")
    floor_rate = n_samples / results["floor: plain batched forward+backward"]
    print(f"\nbatched probe / floor = {probe_rate / floor_rate:.2f} (target >= 0.5)")
    print(f"batched probe / naive per-trajectory loop = "
          f"{probe_rate * results['naive per-trajectory loop'] / n_samples:.2f}")
    if "naive per-sample loop (batch 1)" in results:
        print(f"batched probe / naive per-sample loop = "
              f"{probe_rate * results['naive per-sample loop (batch 1)'] / n_samples:.2f} (target >= 4)")
    print(f"max relative difference of the norms, batched vs naive: {err:.2e}")


def resolve_model(args, trajectories):
    """``(model, tokenizer, description)``: --model, else the built default
    model, else a random-weight Llama of the default configuration."""
    from prism_gym.models import load_model_and_tokenizer

    if args.model:
        model, tok = load_model_and_tokenizer(args.model)
        return model, tok, args.model
    from prism_gym.agents import default_model as dm

    settings = dm.BuildSettings()
    if not args.random_init and dm.is_built(dm.model_dir(settings)):
        model, tok = load_model_and_tokenizer(None)
        return model, tok, f"embedded default model ({dm.model_dir(settings).name})"
    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.agents.tokenizer import train_tokenizer

    texts = [m["content"] for t in trajectories for chat in trajectory_chats(t) for m in chat]
    tok = train_tokenizer(texts, vocab_size=settings.vocab_size)
    model = dm.make_model(settings, tok)
    model.eval()
    return model, tok, (f"Llama of the default configuration with random weights (d={settings.hidden_size}, "
                        f"layers={settings.layers}, ff={settings.intermediate_size}, vocab {len(tok)})")


def floor(model, corpus, batch_size: int):
    """A plain batched forward and backward over the corpus: target weights
    get ordinary gradients (no per-trajectory bookkeeping)."""
    import torch

    from prism_gym.probe import batch_loss, probe_targets

    weights = [m.weight for _, m in probe_targets(model)]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    for w in weights:
        w.requires_grad_(True)
    weight = torch.tensor(1.0 / corpus.tokens_per_trajectory, dtype=torch.float32)
    try:
        for lo in range(0, corpus.input_ids.shape[0], batch_size):
            hi = lo + batch_size
            tgt = corpus.targets[lo:hi]
            owner = torch.as_tensor(corpus.owner[lo:hi])
            token_weights = weight[owner[:, None].expand_as(tgt[:, 1:])[tgt[:, 1:]]]
            loss, _ = batch_loss(model, corpus.input_ids[lo:hi], corpus.attention_mask[lo:hi], tgt, token_weights)
            loss.backward()
            for w in weights:
                w.grad = None
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


if __name__ == "__main__":
    main()
