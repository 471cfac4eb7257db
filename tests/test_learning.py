"""What makes training learn: training tasks drawn by the seed, the answer
budget read off the expert's answers, the teacher-forced held-out accuracy,
the default model's answer-weighted pretraining loss, the RL signal report,
and env options checked before any stage runs."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from prism_gym.records import Task, Trajectory, Turn


# -- seeds resample the training tasks ------------------------------------------------
def test_a_seed_draws_its_own_training_tasks_uniformly_from_the_whole_split():
    from prism_gym.plugins import get_registry
    from prism_gym.runner.services import sample_tasks

    split = [t.id for t in get_registry().env("webshop").list_tasks("train")]
    n, heldout, seeds = 24, 8, 300
    first, held = sample_tasks("webshop", "train", n, 0, heldout=heldout)
    again, _ = sample_tasks("webshop", "train", n, 0, heldout=heldout)
    other, _ = sample_tasks("webshop", "train", n, 1, heldout=heldout)
    assert [t.id for t in first] == [t.id for t in again], "the same seed must draw the same tasks"
    assert {t.id for t in first} != {t.id for t in other}, "another seed must draw other tasks"
    assert not {t.id for t in first} & {t.id for t in held}, "held-out tasks must never be training tasks"
    assert len(held) == heldout and len({t.id for t in first}) == n
    # Uniform over the split (not the split's first tasks): over many seeds every
    # task is drawn about n / N of the time. Tasks past the first 2n of the split
    # must be drawn, and the first n must not dominate.
    counts = Counter(t.id for s in range(seeds) for t in sample_tasks("webshop", "train", n, s)[0])
    expected = seeds * n / len(split)
    first_block = sum(counts[i] for i in split[:n]) / (n * expected)
    assert 0.7 < first_block < 1.3, f"the split's first tasks are drawn {first_block:.2f}x as often as uniform"
    assert sum(counts[i] for i in split[2 * n:]) > 0.8 * seeds * n * (len(split) - 2 * n) / len(split)


def test_held_out_tasks_shrink_to_what_the_split_has_left():
    from prism_gym.plugins import get_registry
    from prism_gym.runner.services import sample_tasks

    total = len(get_registry().env("webshop").list_tasks("dev"))
    train, held = sample_tasks("webshop", "dev", total - 3, 0, heldout=50)
    assert len(train) == total - 3 and len(held) == 3
    with pytest.raises(RuntimeError, match="expert.trajectories"):
        sample_tasks("webshop", "dev", total + 1, 0)


# -- the answer budget ------------------------------------------------------------------
class _CharTokenizer:
    """One token per character: token counts can be worked out by hand."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def test_answer_budget_by_hand():
    from prism_gym.agents.prompts import answer_budget

    # "<action>search[hdmi cable 6 ft]</action>" is 8 + 23 + 9 = 40 characters;
    # + 1 stop token = 41; x 1.25 = 51.25; next multiple of 8: 56.
    assert answer_budget(_CharTokenizer(), ["look", "search[hdmi cable 6 ft]"]) == 56
    # "<action>look</action>": 21 + 1 = 22; x 1.25 = 27.5 -> 32
    assert answer_budget(_CharTokenizer(), ["look"]) == 32
    # no margin: 22 -> 24
    assert answer_budget(_CharTokenizer(), ["look"], margin=0.0) == 24
    with pytest.raises(ValueError):
        answer_budget(_CharTokenizer(), [])


def test_the_budget_fits_every_expert_search_of_webshop(micro_tokenizer):
    """A fixed 24-token budget cut WebShop's long searches into malformed
    answers; the derived budget holds the longest one whole."""
    from prism_gym.agents.prompts import answer_budget, format_action
    from prism_gym.runner import services

    tasks = services.list_tasks("webshop", "train", 40, 0)
    actions = [turn.action for t in services.collect_expert("webshop", tasks, seed=0, max_steps=None)
               for turn in t.turns]
    budget = answer_budget(micro_tokenizer, actions)
    lengths = [len(micro_tokenizer(format_action(a), add_special_tokens=False)["input_ids"]) + 1 for a in actions]
    assert max(lengths) > 24, "the test needs answers longer than the old fixed budget"
    assert budget >= max(lengths) and budget % 8 == 0


# -- teacher-forced held-out accuracy -----------------------------------------------------
class _OracleModel:
    """A stand-in LM whose logits at position t put all mass on the token at
    t + 1 (it reads the answer it is asked about) for the rows whose answer
    names ``known``, and on token 0 elsewhere."""

    def __init__(self, tokenizer, known: str):
        import torch

        self.known = tokenizer(known, add_special_tokens=False)["input_ids"]
        self.vocab = len(tokenizer)
        self.param = torch.nn.Parameter(torch.zeros(1))

    def parameters(self):
        return iter([self.param])

    def __call__(self, input_ids, logits_to_keep=0):
        import torch

        batch, width = input_ids.shape
        logits = torch.zeros(batch, width, self.vocab)
        for row in range(batch):
            ids = input_ids[row].tolist()
            knows = any(ids[i:i + len(self.known)] == self.known for i in range(width))
            for t in range(width - 1):
                logits[row, t, ids[t + 1] if knows else 0] = 10.0

        class Out:
            pass

        out = Out()
        out.logits = logits[:, -logits_to_keep:] if logits_to_keep else logits
        return out


def _trajectory(actions):
    task = Task(env="alfworld", split="train", instance="0", task_type="pick", goal="put a mug in the shelf")
    turns = tuple(Turn(observation=f"You see thing {i}.", action=a, admissible_actions=(a, "look"))
                  for i, a in enumerate(actions))
    return Trajectory(id="t0", task=task, turns=turns, won=True, reward=1.0, score=100.0)


def test_heldout_accuracy_counts_whole_answers(micro_tokenizer):
    from prism_gym.runner.curves import action_accuracy

    traj = _trajectory(["go to shelf 1", "take mug 1 from shelf 1", "go to drawer 2", "look"])
    # The oracle knows the answers that contain " drawer" and "shelf"... only
    # rows holding the literal token run of "go to": 2 of the 4 steps.
    model = _OracleModel(micro_tokenizer, "<action>go to")
    result = action_accuracy(model, micro_tokenizer, [traj])
    assert result["heldout_steps"] == 4
    assert result["heldout_accuracy"] == pytest.approx(2 / 4)


# -- the default model's pretraining loss weights ---------------------------------------------
def test_pretraining_loss_draws_prompt_tokens_and_keeps_every_answer_token(micro_tokenizer):
    """Against the definition written out: with keep probability 1 everywhere
    the loss is the plain mean next-token loss; with 0 on the prompt it is the
    mean over the answer tokens only; in between, the drawn prompt share is
    about the probability."""
    import torch

    from prism_gym.agents.default_model import loss_weights, sampled_token_loss
    from prism_gym.models import micro_model

    chat = [{"role": "system", "content": "Answer."}, {"role": "user", "content": "Task: look"},
            {"role": "assistant", "content": "<action>look</action>"}]
    enc = micro_tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(enc["input_ids"]), list(enc["assistant_masks"])
    assert 0 < sum(mask) < len(mask)
    weights = loss_weights([mask], 0.25)[0]
    assert [w for w, m in zip(weights, mask) if m] == [1.0] * sum(mask)
    assert [w for w, m in zip(weights, mask) if not m] == [0.25] * (len(mask) - sum(mask))

    model = micro_model(micro_tokenizer)
    batch = torch.tensor([ids])
    with torch.no_grad():
        logits = model(input_ids=batch).logits[0]
        ce = [-float(torch.log_softmax(logits[t], -1)[ids[t + 1]]) for t in range(len(ids) - 1)]
        gen = torch.Generator().manual_seed(0)
        everything = sampled_token_loss(model, batch, torch.ones(1, len(ids) - 1), gen)
        answers_only = sampled_token_loss(model, batch, torch.tensor([loss_weights([mask], 0.0)[0][1:]]), gen)
    assert float(everything) == pytest.approx(sum(ce) / len(ce), rel=1e-5)
    answer_ce = [c for c, m in zip(ce, mask[1:]) if m]
    assert float(answers_only) == pytest.approx(sum(answer_ce) / len(answer_ce), rel=1e-5)
    assert abs(float(everything) - float(answers_only)) > 1e-3, "the check needs answers that differ from the mean"
    # drawn share of prompt positions over many draws ~ the probability
    probability = torch.full((200, len(ids) - 1), 0.25)
    keep = torch.rand(probability.shape, generator=torch.Generator().manual_seed(1)) < probability
    assert 0.2 < float(keep.float().mean()) < 0.3


# -- RL signal ------------------------------------------------------------------------------------
def test_the_advice_when_rl_had_no_signal():
    from prism_gym.runner.curves import no_signal_advice

    flat = [{"iteration": i, "success": 0.0, "signal_groups": 0.0} for i in range(3)]
    advice = no_signal_advice(flat)
    assert advice is not None and "no rollout was ever won" in advice
    assert no_signal_advice([{"iteration": 0, "success": 0.2, "signal_groups": 0.6}]) is None


# -- env options are checked when the run is configured ----------------------------------------------
def test_a_bad_env_option_fails_before_any_stage(tmp_path):
    from prism_gym.runner.presets import ConfigError, apply_overrides, make_config
    from prism_gym.runner.run import BenchRun

    cfg = apply_overrides(make_config("tiny", "webshop", "random"), ["environment.reward_mode=bogus"])
    with pytest.raises(ConfigError, match="environment.reward_mode"):
        BenchRun(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists(), "nothing may be written for a run that cannot start"
    cfg = apply_overrides(make_config("tiny", "webshop", "random"), ["environment.reward_mode=sparse_success"])
    assert cfg.env_kwargs() == {"reward_mode": "sparse_success"}
    assert math.isclose(make_config("tiny", "webshop", "random").eval.episodes, 128)


# -- the prompt shows what an agent must remember ------------------------------------------------
def test_alfworld_prompt_shows_recent_actions_with_what_they_produced():
    from prism_gym.agents.prompts import render_user

    task = Task(env="alfworld", split="train", instance="0", task_type="pick", goal="put a mug in shelf")
    history = [Turn("You are in the middle of a room.", "go to drawer 1"),
               Turn("You arrive at drawer 1. The drawer 1 is closed.", "open drawer 1"),
               Turn("You open the drawer 1. The drawer 1 is open. In it, you see a mug 1.", "take mug 1 from drawer 1")]
    text = render_user(task, history, "You pick up the mug 1 from the drawer 1.", ["go to shelf 1", "look"],
                       history_window=2)
    assert text == (
        "Task: put a mug in shelf\n\n"
        "Recent steps:\n"
        "[step 2] > open drawer 1\n"
        "You open the drawer 1. The drawer 1 is open. In it, you see a mug 1.\n"
        "[step 3] > take mug 1 from drawer 1\n\n"
        "Observation (step 4):\n"
        "You pick up the mug 1 from the drawer 1.\n\n"
        "Admissible actions:\n"
        "go to shelf 1\n"
        "look")


def test_webshop_prompt_lists_past_actions_without_their_pages():
    from prism_gym.agents.prompts import render_user

    task = Task(env="webshop", split="test", instance="3", task_type="x", goal="i need a red mug")
    history = [Turn("WebShop [SEP] Search", "search[red mug]"),
               Turn("[SEP] Back to Search [SEP] B0001 [SEP] Red Mug [SEP] $5.00", "click[b0001]")]
    text = render_user(task, history, "[SEP] Red Mug [SEP] Buy Now", ["click[buy now]"])
    assert text == (
        "Task: i need a red mug\n\n"
        "Recent steps:\n"
        "[step 1] > search[red mug]\n"
        "[step 2] > click[b0001]\n\n"
        "Observation (step 3):\n"
        "[SEP] Red Mug [SEP] Buy Now\n\n"
        "Admissible actions:\n"
        "click[buy now]")


# -- the invalid-action penalty ---------------------------------------------------------------------
def test_invalid_action_penalty_by_hand():
    """Two lost episodes of one task: one wasted 3 steps on invalid actions,
    the other 1. With the penalty 0.1 their returns are -0.3 and -0.1: the
    group now has a signal (GRPO: -1 and +1, up to the 1e-4 in the std)."""
    from types import SimpleNamespace

    from prism_gym.algorithms.grpo import GRPO
    from prism_gym.runner.grpo import group_samples, has_reward_variance, played_episode

    def episode(invalid_steps):
        task = Task(env="alfworld", split="train", instance="0")
        turns = tuple(Turn(f"obs {i}", f"act {i}", reward=0.0) for i in range(4))
        traj = Trajectory(id="t", task=task, turns=turns, won=False, reward=0.0, score=0.0,
                          metadata={"invalid_steps": invalid_steps, "invalid_actions": len(invalid_steps)})
        steps = [SimpleNamespace(prompt_ids=[1, 2], completion_ids=[3]) for _ in turns]
        return SimpleNamespace(trajectory=traj, steps=steps)

    a, b = episode([0, 1, 3]), episode([2])
    assert played_episode(a, 0.1).rewards == pytest.approx((-0.1, -0.1, 0.0, -0.1))
    assert played_episode(a, 0.1).ret == pytest.approx(-0.3)
    assert played_episode(a, 0.0).rewards == (0.0, 0.0, 0.0, 0.0)
    assert not has_reward_variance([a, b]) and has_reward_variance([a, b], 0.1)
    samples, signal = group_samples([[a, b]], GRPO(), invalid_penalty=0.1)
    # mean -0.2, population std 0.1: (-0.3 + 0.2) / (0.1 + 1e-4) and (-0.1 + 0.2) / (0.1 + 1e-4)
    assert signal == 1 and len(samples) == 8
    assert [s.advantage for s in samples] == pytest.approx([-0.1 / 0.1001] * 4 + [0.1 / 0.1001] * 4)
    assert group_samples([[a, b]], GRPO())[1] == 0
