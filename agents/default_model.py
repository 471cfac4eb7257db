"""The embedded default model: built locally, offline, deterministically.

What :func:`prism_gym.models.load_model_and_tokenizer` loads when no model is
named. The build (:func:`build_default_model`):

1. **Walks.** For every env with a ``pretrain`` split (a pool of games kept
   apart from every training and evaluation split), the seeded random agent
   plays ``walk_episodes`` tasks for at most ``walk_steps`` steps. Every step
   is rendered exactly as the LLM agent sees it (:mod:`prism_gym.agents.prompts`:
   system, user with history and admissible actions, assistant
   ``<action>...</action>``). The text therefore shows the environments'
   language and the answer format, but no solutions: the walker's actions are
   random admissible ones.
2. **Tokenizer.** A byte-level BPE (:mod:`prism_gym.agents.tokenizer`) trained
   on those texts, with the chat template that marks assistant tokens.
3. **Pretraining.** A small Llama (tied embeddings) trained with next-token
   loss on the packed, shuffled chats.

Everything is seeded (walks, shuffling, initialisation, batches), so the same
settings give the same weights (same torch build and thread count; CPU float
sums are not guaranteed bitwise equal across thread counts). The result goes
to ``$PRISM_GYM_CACHE/models/<name with the settings>`` (default cache
``~/.cache/prism-gym``): written to a temporary directory and renamed into
place, saved as safetensors and ``tokenizer.json``, with ``build.json``
holding the settings, corpus statistics, losses and the weights hash.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prism_gym.fileio import cache_root

DEFAULT_MODEL_VERSION = "1"
PRETRAIN_SPLIT = "pretrain"


@dataclass(frozen=True)
class BuildSettings:
    """Everything that determines the default model's weights."""

    seed: int = 0
    envs: tuple[str, ...] = ()  # empty: every registered env with a "pretrain" split
    walk_episodes: int = 960  # per env
    walk_steps: int = 24
    vocab_size: int = 4096
    hidden_size: int = 192
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    intermediate_size: int = 512
    context: int = 2048
    seq_len: int = 2048  # blocks hold whole chats (a step's chat is ~200-900 tokens), several steps of an episode
    batch_size: int = 4
    train_steps: int = 1600
    learning_rate: float = 3e-3
    warmup_steps: int = 50
    # Weight of a prompt token's next-token loss relative to an answer token's.
    # The answers are what the model must learn to produce (an admissible
    # action, copied from its prompt); the prompts are mostly env text it only
    # has to read.
    context_loss_weight: float = 1.0
    # Share of the training blocks that are copy exercises (copy_blocks):
    # random runs of the corpus's common tokens, each followed by its repeat.
    copy_share: float = 0.0
    # Copy warm-up: before the corpus, this many steps on short rows of copy
    # exercises (copy_rows), where induction heads form within about 1,300
    # steps of 2,048 tokens; on the walks' long blocks they did not form in
    # tens of millions of tokens (docs/agents.md, "Why it does not copy").
    copy_warmup_steps: int = 0
    # Row lengths of its stages, shortest first (equal shares of the steps):
    # the skill forms on the short rows and then learns the longer reaches a
    # prompt needs (offsets seen in training are the ones it copies across).
    copy_warmup_lengths: tuple[int, ...] = (32, 32, 32, 32, 64, 128, 256)
    copy_warmup_tokens: int = 2048  # per step: rows = tokens // length
    copy_warmup_lr: float = 1e-3
    # Expert knowledge, the prior a base model brings (docs/agents.md, "A base
    # model with a prior"). This share of each env's pretrain tasks whose type
    # is listed in expert_task_types is played by the noisy expert walker
    # (NoisyExpertWalker), and each state it reaches is answered with the
    # expert's action there; the other tasks are random walks as before.
    # Every step of it comes from the pretrain pools, never from a train or
    # evaluation task.
    expert_share: float = 0.0
    # The walker's probability of a random admissible action instead of the
    # expert's (0: offline expert episodes; DAgger-style states otherwise).
    walker_noise: float = 0.5
    # Task types that get expert answers (ALFWorld's task types, WebShop's
    # product categories, which are its tasks' task_type); empty: all of them.
    # A knowledge profile: the model knows the listed types only.
    expert_task_types: tuple[str, ...] = ()

    def __post_init__(self):
        for key in ("walk_episodes", "walk_steps", "vocab_size", "hidden_size", "layers", "heads", "kv_heads",
                    "intermediate_size", "context", "seq_len", "batch_size", "train_steps",
                    "copy_warmup_tokens"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not 0 <= self.copy_share < 1:
            raise ValueError(f"copy_share must be in [0, 1), got {self.copy_share}")
        if self.copy_warmup_steps < 0:
            raise ValueError(f"copy_warmup_steps must be at least 0, got {self.copy_warmup_steps}")
        if not self.copy_warmup_lengths or any(not 8 <= n <= self.copy_warmup_tokens
                                               for n in self.copy_warmup_lengths):
            raise ValueError(f"copy_warmup_lengths must be row lengths from 8 to copy_warmup_tokens "
                             f"({self.copy_warmup_tokens}), got {self.copy_warmup_lengths}")
        if self.copy_warmup_lr <= 0:
            raise ValueError(f"copy_warmup_lr must be positive, got {self.copy_warmup_lr}")
        if not 0 <= self.context_loss_weight <= 1:
            raise ValueError(f"context_loss_weight must be in [0, 1], got {self.context_loss_weight}")
        if not 0 <= self.expert_share <= 1:
            raise ValueError(f"expert_share must be in [0, 1], got {self.expert_share}")
        if not 0 <= self.walker_noise <= 1:
            raise ValueError(f"walker_noise must be in [0, 1], got {self.walker_noise}")
        if isinstance(self.expert_task_types, str):
            raise TypeError("expert_task_types is a tuple of task type names, not a string")

    def digest(self) -> str:
        from prism_gym import __version__

        # The package version is part of it: env text or prompts of another release give another model.
        # Settings added after a recipe shipped count only when set, so that
        # the recipe without them keeps its name and its cached builds.
        settings = {key: value for key, value in asdict(self).items()
                    if key not in _LATER_SETTINGS or value != _LATER_SETTINGS[key]}
        blob = json.dumps({"version": DEFAULT_MODEL_VERSION, "prism_gym": __version__, **settings}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def dir_name(self) -> str:
        """A readable name with the main settings and a digest of all of them."""
        expert = f"-e{self.expert_share:g}" if self.expert_share else ""
        return (f"default-v{DEFAULT_MODEL_VERSION}-s{self.seed}-d{self.hidden_size}-l{self.layers}"
                f"-v{self.vocab_size}-c{self.context}-t{self.train_steps}{expert}-{self.digest()}")


# Settings with the value that leaves the recipe as it was before they existed.
_LATER_SETTINGS = {"expert_share": 0.0, "walker_noise": 0.5, "expert_task_types": ()}


def model_dir(settings: BuildSettings | None = None) -> Path:
    return cache_root() / "models" / (settings or BuildSettings()).dir_name()


def is_built(path: Path) -> bool:
    return (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() \
        and (path / "build.json").is_file()


# The built default model ships inside the package, so that every user starts
# from the same weights (one fingerprint) and a first run starts at once.
SHIPPED_DIR = Path(__file__).parent / "default_model_weights"


def shipped_settings() -> BuildSettings | None:
    """The settings the shipped weights were built with (None: none shipped)."""
    info = SHIPPED_DIR / "build.json"
    if not (is_built(SHIPPED_DIR) and info.is_file()):
        return None
    stored = json.loads(info.read_text())["settings"]
    return BuildSettings(**{key: tuple(value) if isinstance(value, list) else value for key, value in stored.items()})


def find_default_model(settings: BuildSettings | None = None) -> Path | None:
    """Where the default model of ``settings`` already is: the package's
    shipped copy when its settings match, else the cache; None if neither."""
    settings = settings or BuildSettings()
    if shipped_settings() == settings:
        return SHIPPED_DIR
    path = model_dir(settings)
    return path if is_built(path) else None


def default_model_dir(settings: BuildSettings | None = None, progress: bool = True) -> Path:
    """The default model's directory: shipped, cached, or built now."""
    settings = settings or BuildSettings()
    return find_default_model(settings) or build_default_model(settings, progress=progress)


# -- 1. walks -----------------------------------------------------------------------
def expert_tasks(tasks, settings: BuildSettings) -> set[str]:
    """The ids of the tasks whose walks get expert answers: each task of a
    listed type (``expert_task_types``; empty: every type) with probability
    ``expert_share``, drawn per task from the build's seed, so that the
    choice of one task does not depend on the others."""
    types = set(settings.expert_task_types)
    chosen = set()
    for task in tasks:
        if types and task.task_type not in types:
            continue
        if random.Random(f"expert/{settings.seed}/{task.id}").random() < settings.expert_share:
            chosen.add(task.id)
    return chosen


def relabelled_chats(trajectory, labels: dict) -> list[list[dict]]:
    """One chat per step, as :func:`trajectory_chats`, with each step's answer
    the expert's action at that state (``labels[(task id, step)]``) instead of
    the action the walker took; the history shows what the walker did."""
    from prism_gym.agents.prompts import format_action, step_messages

    chats = []
    turns = trajectory.turns
    for i, turn in enumerate(turns):
        messages = step_messages(trajectory.task, turns[:i], turn.observation, turn.admissible_actions)
        messages.append({"role": "assistant", "content": format_action(labels[(trajectory.task.id, i)])})
        chats.append(messages)
    return chats


def pretrain_chats(settings: BuildSettings, progress=None) -> tuple[list[list[dict]], dict]:
    """The rendered chats of the walks (episodes in a seeded order, each
    episode's steps in order), and statistics per env: random walks, and the
    noisy expert walker's episodes answered by the expert (``expert_share``)."""
    from prism_gym.agents.baselines import NoisyExpertWalker, RandomAgent
    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.plugins import get_registry
    from prism_gym.rollout import rollout

    registry = get_registry()
    names = settings.envs or tuple(sorted(name for name, (_, spec) in registry.envs().items()
                                          if PRETRAIN_SPLIT in spec.splits))
    if not names:
        raise RuntimeError(f"no installed env has a {PRETRAIN_SPLIT!r} split to build the default model from")
    pools = {}
    for name in names:
        spec = registry.env(name)
        if PRETRAIN_SPLIT not in spec.splits:
            raise ValueError(f"env {name!r} has no {PRETRAIN_SPLIT!r} split (splits: {', '.join(spec.splits)})")
        tasks = spec.list_tasks(PRETRAIN_SPLIT, limit=settings.walk_episodes, seed=settings.seed)
        if any(task.split != PRETRAIN_SPLIT for task in tasks):  # the prior comes from the pretrain pool only
            raise RuntimeError(f"env {name!r} listed tasks of another split for {PRETRAIN_SPLIT!r}")
        pools[name] = (spec, tasks)
    # A misspelt type would silently give a model that knows nothing: refuse it before any walk.
    known = {task.task_type for _, tasks in pools.values() for task in tasks}
    unknown = sorted(set(settings.expert_task_types) - known)
    if unknown:
        raise ValueError(f"expert_task_types {', '.join(unknown)} name no task type of the pretrain pools "
                         f"(known: {', '.join(sorted(known))})")
    chats: list[list[list[dict]]] = []  # per episode, its steps
    stats = {}
    for name, (spec, tasks) in pools.items():
        if progress is not None:
            progress.update(progress.walks, description=f"walks ({name})")
        experts = expert_tasks(tasks, settings)
        walked = [t for t in tasks if t.id not in experts]
        episodes = dict(zip((t.id for t in walked),
                            rollout(spec.name, walked, RandomAgent(spec.name, seed=settings.seed), seed=settings.seed,
                                    max_steps=settings.walk_steps, progress=False)))
        env_chats = {task_id: trajectory_chats(ep.trajectory) for task_id, ep in episodes.items()}
        expert_steps = 0
        if experts:
            walker = NoisyExpertWalker(spec.name, noise=settings.walker_noise, seed=settings.seed)
            guided = [t for t in tasks if t.id in experts]
            for ep in rollout(spec.name, guided, walker, seed=settings.seed, max_steps=settings.walk_steps,
                              progress=False):
                env_chats[ep.trajectory.task.id] = relabelled_chats(ep.trajectory, walker.labels)
                expert_steps += len(ep.trajectory.turns)
                episodes[ep.trajectory.task.id] = ep
        ordered = [env_chats[t.id] for t in tasks]  # task order, whatever the kind of walk
        stats[spec.name] = {"episodes": len(ordered), "steps": sum(len(c) for c in ordered),
                            "won": sum(ep.trajectory.won for ep in episodes.values())}
        if experts:
            stats[spec.name].update({"expert_episodes": len(experts), "expert_steps": expert_steps,
                                     "expert_won": sum(episodes[i].trajectory.won for i in experts)})
        chats += ordered
        if progress is not None:
            progress.advance(progress.walks)
    # Episodes are shuffled, their steps kept in order: consecutive steps of one
    # episode repeat its room's admissible actions and the page's product ids,
    # and text that repeats in context is what teaches a model to copy from it
    # (the skill every answer needs: an admissible action, an id on the page).
    random.Random(settings.seed).shuffle(chats)
    chats = [chat for episode in chats for chat in episode]
    return chats, stats


# -- 2. tokenizer -------------------------------------------------------------------
def corpus_texts(chats: list[list[dict]]):
    for chat in chats:
        for message in chat:
            yield message["content"]


# -- 3. model -----------------------------------------------------------------------
def make_model(settings: BuildSettings, tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=settings.hidden_size,
                         num_hidden_layers=settings.layers, num_attention_heads=settings.heads,
                         num_key_value_heads=settings.kv_heads, intermediate_size=settings.intermediate_size,
                         max_position_embeddings=settings.context, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True, rope_theta=10000.0)
    torch.manual_seed(settings.seed)
    return LlamaForCausalLM(config)


def pack(token_lists: list[list[int]], weight_lists: list[list[float]], seq_len: int,
         pad_id: int) -> tuple[list[list[int]], list[list[float]]]:
    """Blocks of ``seq_len`` tokens holding whole chats, filled greedily in
    order and padded (weight 0) to the full length; a chat longer than a block
    keeps its last ``seq_len`` tokens (its answer is at the end).

    A chat is never cut across two blocks: an answer whose prompt (the
    admissible actions it should copy from) had fallen into the previous block
    would teach the model to answer without reading."""
    blocks: list[list[int]] = []
    weights: list[list[float]] = []
    ids: list[int] = []
    ws: list[float] = []

    def flush():
        if ids:
            blocks.append(ids + [pad_id] * (seq_len - len(ids)))
            weights.append(ws + [0.0] * (seq_len - len(ws)))

    for chat, chat_weights in zip(token_lists, weight_lists):
        chat, chat_weights = chat[-seq_len:], chat_weights[-seq_len:]
        if len(ids) + len(chat) > seq_len:
            flush()
            ids, ws = [], []
        ids = ids + list(chat)
        ws = ws + list(chat_weights)
    flush()
    return blocks, weights


def loss_weights(masks: list[list[int]], context_weight: float) -> list[list[float]]:
    """Per-token loss weights from assistant masks: 1 for answer tokens,
    ``context_weight`` for the rest."""
    return [[1.0 if m else context_weight for m in mask] for mask in masks]


def copy_blocks(count: int, seq_len: int, pool: list[int], seed: int) -> list[list[int]]:
    """``count`` blocks of ``seq_len`` tokens, each a chain of runs of 8-64
    tokens drawn from ``pool``, every run immediately repeated (copy_rows).

    The walks' text is so regular that most of it is predictable without
    looking back, and a small model trained on it alone does not learn to copy
    (copy_test stays flat for tens of millions of tokens). On these blocks only
    copying lowers the loss, which teaches the skill every answer needs; they
    carry nothing about the envs or their tasks."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return copy_rows(count, seq_len, pool, generator, shortest=8, longest=64).tolist()


def copy_rows(rows: int, length: int, pool, generator, shortest: int = 4, longest: int | None = None):
    """A (rows, length) tensor of copy exercises: each row a chain of runs of
    ``shortest`` to ``longest`` (default length/2) tokens drawn from ``pool``,
    each run immediately repeated, the last pair cut at the row's end.

    Short rows are what make induction heads form fast (the warm-up): an
    untrained head spreads its attention over the whole row, so the signal
    from the one position worth attending to shrinks with the row's length
    (Aoyama et al. 2025 fit the formation point as growing with
    sqrt(batch x context)). Runs of varied length leave no fixed offset to
    memorise, only the content match (the token after the earlier occurrence
    of this one)."""
    import torch

    pool = torch.as_tensor(list(pool))
    out = torch.empty(rows, length, dtype=torch.long)
    longest = longest or max(shortest, length // 2)
    for r in range(rows):
        filled = 0
        while filled < length:
            size = int(torch.randint(shortest, longest + 1, (1,), generator=generator))
            run = pool[torch.randint(0, len(pool), (size,), generator=generator)]
            pair = torch.cat([run, run])[:length - filled]
            out[r, filled:filled + len(pair)] = pair
            filled += len(pair)
    return out


def copy_warmup(model, pool, settings: BuildSettings, progress=None, device: str | None = None,
                callback=None) -> list[float]:
    """``settings.copy_warmup_steps`` steps of next-token training on fresh
    copy_rows (seeded by the build's seed), in stages of growing row length
    (``copy_warmup_lengths``); returns each step's loss.

    It runs before the corpus because the corpus cannot start the skill: the
    walks' text is predictable almost everywhere without looking back, and
    models trained on it alone stayed at the copy test's chance level. The
    copy exercises mixed into the corpus (copy_share) keep it through the
    corpus phase; how much of it the model then uses inside env text is
    measured separately (docs/agents.md)."""
    import torch

    device = device or "cpu"
    model.to(device)
    model.train()
    gen = torch.Generator().manual_seed(settings.seed + 7919)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.copy_warmup_lr, betas=(0.9, 0.95),
                                  weight_decay=0.0)
    ramp = max(1, min(100, settings.copy_warmup_steps // 10))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / ramp))
    losses = []
    stages = settings.copy_warmup_lengths
    for step in range(settings.copy_warmup_steps):
        length = stages[step * len(stages) // settings.copy_warmup_steps]
        rows = max(1, settings.copy_warmup_tokens // length)
        batch = copy_rows(rows, length, pool, gen).to(device)
        losses.append(_train_step(model, model(input_ids=batch, labels=batch).loss, optimizer, scheduler))
        if progress is not None:
            progress.update(progress.warmup, advance=1, description=f"copy warm-up (loss {losses[-1]:.3f})")
        if callback is not None:
            callback(step, model)
    model.eval()
    return losses


def _train_step(model, loss, optimizer, scheduler) -> float:
    """Backward, clip to norm 1, step the optimizer and its schedule; the loss as a float."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return float(loss.detach())


def weights_hash(model) -> str:
    """sha256 of every parameter and buffer, in name order (the reproducibility check)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def sampled_token_loss(model, batch, keep_probability, generator):
    """Mean next-token loss over a random subset of positions: target token t
    enters with probability ``keep_probability[:, t - 1]`` (1 for answer
    tokens, ``context_loss_weight`` for prompt tokens, 0 for padding).

    In expectation this is the loss with those weights; drawing positions
    instead of weighting them means the LM head (a large share of a small
    model's compute) runs only on the drawn positions."""
    import torch

    hidden = model.model(input_ids=batch).last_hidden_state[:, :-1]
    # Drawn on the CPU generator whatever the device: the same seed draws the
    # same positions on a CPU and on a GPU.
    keep = torch.rand(keep_probability.shape, generator=generator) < keep_probability
    keep = (keep | (keep_probability >= 1.0)).to(batch.device)
    logits = model.lm_head(hidden[keep]).float()
    return torch.nn.functional.cross_entropy(logits, batch[:, 1:][keep])


def common_tokens(token_lists: list[list[int]], tokenizer, count: int = 1024) -> list[int]:
    """The ``count`` most frequent non-special token ids of the corpus."""
    from collections import Counter

    from prism_gym.agents.tokenizer import SPECIAL_TOKENS

    special = set(tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS))
    counts = Counter(t for tokens in token_lists for t in tokens if t not in special)
    return sorted(t for t, _ in counts.most_common(count))


def copy_test(model, pool=None, length: int = 30, sequences: int = 8, seed: int = 0) -> dict:
    """Whether ``model`` copies from its context: the mean next-token loss on a
    random token sequence and on its immediate repeat.

    A model that cannot copy finds the repeat as surprising as the first
    occurrence; one that has formed induction heads (attend to what followed
    the current token earlier, predict that) predicts the repeat almost
    exactly. Every answer in both envs is such a copy (an admissible action,
    a product id on the page), so this is the base model's first health check,
    independent of the envs' text.

    ``pool``: the token ids to draw from (default: the whole vocabulary past
    the special tokens). A model trained on env text has useful embeddings
    only for the tokens that text uses; the build passes its corpus's common
    tokens."""
    import torch

    vocab = model.config.vocab_size
    pool = torch.as_tensor(list(pool) if pool is not None else range(min(16, vocab - 1), vocab))
    draws = torch.randint(0, len(pool), (sequences, length), generator=torch.Generator().manual_seed(seed))
    tokens = pool[draws]
    sequence = torch.cat([tokens, tokens], dim=1)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(sequence).logits[:, :-1].float()
    model.train(was_training)
    nll = -torch.log_softmax(logits, dim=-1).gather(-1, sequence[:, 1:, None])[..., 0]
    # nll[:, t] is the loss of token t + 1. First: tokens 1..L-1 of the first
    # occurrence. Repeat: tokens L+1..2L-1, each preceded by a token seen
    # before (token L, the repeat's first, has no cue that a repeat begins).
    return {"first": round(float(nll[:, :length - 1].mean()), 3), "repeat": round(float(nll[:, length:].mean()), 3),
            "tokens": length, "sequences": sequences}


def pretrain(model, blocks: list[list[int]], settings: BuildSettings, progress=None,
             weights: list[list[float]] | None = None, callback=None, checkpoint: Path | None = None,
             checkpoint_seconds: float = 300.0, device: str | None = None) -> list[float]:
    """Next-token training on ``blocks`` (each target token's loss weighted by
    ``weights`` of the same shape, if given); returns the loss of every step.
    ``callback(step, model)`` runs after each step (learning curves).

    With ``checkpoint`` (a file path), the whole training state (weights,
    optimizer, schedule, random generator, data order, losses) is written there
    atomically every ``checkpoint_seconds`` and training continues from it
    when it exists: an interrupted build resumes where it stopped and ends with
    the weights an uninterrupted one would have.

    ``device``: where to train (default CPU); the model is left there."""
    import math

    import torch

    if not blocks:
        raise RuntimeError("the pretraining corpus is shorter than one block; raise walk_episodes")
    gen = torch.Generator().manual_seed(settings.seed)
    data = torch.tensor(blocks, dtype=torch.long)
    weight_data = torch.tensor(weights, dtype=torch.float32) if weights is not None else torch.ones(data.shape)
    device = device or "cpu"
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, betas=(0.9, 0.95),
                                  weight_decay=0.1)

    def lr_factor(step: int) -> float:  # linear warm-up, cosine decay to 10%
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        done = (step - settings.warmup_steps) / max(1, settings.train_steps - settings.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    model.train()
    losses: list[float] = []
    order = torch.randperm(len(data), generator=gen)
    cursor = start = 0
    if checkpoint is not None and Path(checkpoint).is_file():
        state = torch.load(checkpoint, weights_only=True, map_location=device)
        if state["digest"] != settings.digest():
            raise RuntimeError(f"{checkpoint} belongs to other build settings; delete it to start afresh")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"].cpu())
        order, cursor, start, losses = state["order"], state["cursor"], state["step"], list(state["losses"])
        if progress is not None:
            progress.update(progress.train, completed=start)
    saved_at = time.time()
    for step in range(start, settings.train_steps):
        if cursor + settings.batch_size > len(order):  # a new epoch, a new seeded order
            order, cursor = torch.randperm(len(data), generator=gen), 0
        rows = order[cursor:cursor + settings.batch_size]
        batch, batch_weights = data[rows].to(device), weight_data[rows, 1:]
        cursor += settings.batch_size
        losses.append(_train_step(model, sampled_token_loss(model, batch, batch_weights, gen), optimizer, scheduler))
        if progress is not None:
            progress.update(progress.train, advance=1, description=f"pretraining (loss {losses[-1]:.3f})")
        if callback is not None:
            callback(step, model)
        if checkpoint is not None and time.time() - saved_at >= checkpoint_seconds and step + 1 < settings.train_steps:
            _save_training_state(checkpoint, {
                "digest": settings.digest(), "step": step + 1, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "generator": gen.get_state(), "order": order, "cursor": cursor, "losses": losses})
            saved_at = time.time()
    model.eval()
    return losses


def _save_training_state(path: Path, state: dict) -> None:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


# -- the build ----------------------------------------------------------------------
def build_default_model(settings: BuildSettings | None = None, *, force: bool = False, progress: bool = True,
                        out_dir: Path | None = None, callback=None, device: str | None = None) -> Path:
    """Build (or rebuild with ``force``) the default model; return its directory.
    ``device``: where to pretrain (default CPU; a GPU builds in minutes what
    takes a 2-core CPU an hour; float sums differ, so the weights hash does)."""
    import torch

    from prism_gym.agents.tokenizer import train_tokenizer

    settings = settings or BuildSettings()
    target = Path(out_dir) if out_dir is not None else model_dir(settings)
    if is_built(target) and not force:
        return target
    started = time.time()
    bar = _BuildProgress(settings, enabled=progress)
    deterministic = torch.are_deterministic_algorithms_enabled()
    on_cpu = device in (None, "cpu")
    if not on_cpu:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what deterministic cuBLAS needs
    # Some GPU kernels (attention backward) have no deterministic version: warn there, do not fail.
    torch.use_deterministic_algorithms(True, warn_only=not on_cpu)
    seconds = {}
    try:
        chats, walk_stats = pretrain_chats(settings, progress=bar)
        seconds["walks"] = time.time() - started
        bar.update(bar.tokenizer, description="tokenizer")
        tokenizer = train_tokenizer(corpus_texts(chats), vocab_size=settings.vocab_size)
        encoded = [tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True,
                                                 return_assistant_tokens_mask=True) for chat in chats]
        token_lists = [list(e["input_ids"]) for e in encoded]
        weight_lists = loss_weights([list(e["assistant_masks"]) for e in encoded], settings.context_loss_weight)
        prompt_lengths = sorted(len(tokenizer.apply_chat_template(chat[:-1], add_generation_prompt=True,
                                                                  tokenize=True, return_dict=False))
                                for chat in chats)
        bar.advance(bar.tokenizer)
        seconds["tokenizer"] = time.time() - started - seconds["walks"]
        blocks, block_weights = pack(token_lists, weight_lists, settings.seq_len, tokenizer.pad_token_id)
        pool = common_tokens(token_lists, tokenizer)
        if settings.copy_share > 0:
            extra = round(settings.copy_share * len(blocks) / (1 - settings.copy_share))
            blocks += copy_blocks(extra, settings.seq_len, pool, settings.seed)
            block_weights += [[1.0] * settings.seq_len for _ in range(extra)]
        model = make_model(settings, tokenizer)
        # A build takes long on a CPU: its training state is kept beside the
        # target so that an interrupted build resumes (removed once saved).
        checkpoint = target.with_name(f".{target.name}.training-state.pt")
        warmup_losses = []
        if settings.copy_warmup_steps and not checkpoint.is_file():  # a resumed build's state holds the warmed-up weights
            warmup_losses = copy_warmup(model, pool, settings, progress=bar, device=device)
            seconds["copy_warmup"] = time.time() - started - sum(seconds.values())
        losses = pretrain(model, blocks, settings, progress=bar, weights=block_weights, callback=callback,
                          checkpoint=checkpoint, device=device)
        model.to("cpu")
        seconds["pretrain"] = time.time() - started - sum(seconds.values())
    finally:
        torch.use_deterministic_algorithms(deterministic)
        bar.close()
    info = {
        "version": DEFAULT_MODEL_VERSION,
        "settings": asdict(settings),
        "parameters": sum(p.numel() for p in model.parameters()),
        "weights_sha256": weights_hash(model),
        "walks": walk_stats,
        "chats": len(chats),
        "corpus_tokens": sum(len(t) for t in token_lists),
        "trained_tokens": settings.train_steps * settings.batch_size * settings.seq_len,
        "prompt_tokens": {"median": prompt_lengths[len(prompt_lengths) // 2],
                          "p99": prompt_lengths[min(len(prompt_lengths) - 1, int(0.99 * len(prompt_lengths)))],
                          "max": prompt_lengths[-1]},
        "first_loss": losses[0], "final_loss": sum(losses[-10:]) / len(losses[-10:]),
        "copy_warmup_loss": (sum(warmup_losses[-10:]) / len(warmup_losses[-10:])) if warmup_losses else None,
        "copy_test": copy_test(model, pool),
        "build_seconds": round(time.time() - started, 1),
        "phase_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "torch": torch.__version__, "threads": torch.get_num_threads(), "device": device or "cpu",
    }
    _save(model, tokenizer, info, target)
    checkpoint.unlink(missing_ok=True)
    return target


def _save(model, tokenizer, info: dict, target: Path) -> None:
    """Write into a temporary sibling directory, then rename it into place."""
    from transformers.utils import logging as hf_logging

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        hf_logging.disable_progress_bar()  # the build shows its own progress; no per-shard bar
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        with open(tmp / "build.json", "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2, sort_keys=True)
        if target.exists():  # --force, or a concurrent build that finished first
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class _BuildProgress:
    """One rich progress display with a row per build phase (inert when disabled)."""

    settings: BuildSettings
    enabled: bool = True
    progress: object = field(default=None, init=False)

    def __post_init__(self):
        self.walks = self.tokenizer = self.warmup = self.train = None
        if not self.enabled:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("[bold]building the default model[/] {task.description}"),
                                 BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        n_envs = len(self.settings.envs) or None
        self.walks = self.progress.add_task("random walks", total=n_envs)
        self.tokenizer = self.progress.add_task("tokenizer", total=1)
        if self.settings.copy_warmup_steps:
            self.warmup = self.progress.add_task("copy warm-up", total=self.settings.copy_warmup_steps)
        self.train = self.progress.add_task("pretraining", total=self.settings.train_steps)
        self.progress.start()

    def update(self, task, **kw):
        if self.progress is not None and task is not None:
            self.progress.update(task, **kw)

    def advance(self, task):
        self.update(task, advance=1)

    def close(self):
        if self.progress is not None:
            self.progress.stop()
