"""Arbiters, routing decided during training (prism_gym/arbitration.py,
arbiters/, prism_gym/runner/mixed.py): HPT's gate worked by hand, ReLIFT's
buffer, the mixed update's loss against a hand computation on a micro model,
prism-reprobe probing the current weights, resume, a third-party arbiter
loaded through the registry, and arbiter runs end to end through `bench`."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from prism_gym.arbitration import (RL_ONLY, SFT_ONLY, Arbitration, TaskOutcome, UpdateView, Weights,
                                   check_arbitration)
from prism_gym.records import Task, Trajectory, Turn
from prism_gym.runner.presets import RLConfig

FIXTURES = Path(__file__).parent / "fixtures"


def task(i: int) -> Task:
    return Task(env="toy", split="train", instance=str(i), task_type="live", goal="g")


def demo(t: Task, actions=("go to drawer 1", "open drawer 2")) -> Trajectory:
    turns = tuple(Turn(observation=f"You see {a}.", action=a) for a in actions)
    return Trajectory(id=f"{t.id}#expert", task=t, turns=turns, won=True, reward=1.0)


def outcome(t: Task, wins: int, group: int = 4, with_demo: bool = True) -> TaskOutcome:
    successes = tuple(i < wins for i in range(group))
    return TaskOutcome(t, demo(t) if with_demo else None, returns=tuple(float(s) for s in successes),
                       successes=successes)


def view(outcomes, update=0, updates=4, probe=None, demos=None) -> UpdateView:
    demos = demos if demos is not None else {o.task.id: o.demonstration for o in outcomes if o.demonstration}
    return UpdateView(update=update, updates=updates, outcomes=tuple(outcomes), demonstrations=demos,
                      probe=probe or (lambda *a, **k: pytest.fail("this arbiter must not probe")))


def weights_hash(model) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# -- HPT, worked by hand --------------------------------------------------------------------

def test_hpt_gate_worked_by_hand():
    from prism_gym.arbiters.hpt import HPTArbiter

    none, three, one = task(0), task(1), task(2)
    outcomes = [outcome(none, 0), outcome(three, 3), outcome(one, 1)]
    # switch_gate 0 (HPT's Qwen setting): 0 correct -> the demo by SFT; 1 or 3 correct -> the rollouts by RL
    got = HPTArbiter().arbitrate(view(outcomes)).weights
    assert got == {none.id: Weights(sft=1.0, rl=0.0), three.id: Weights(sft=0.0, rl=1.0), one.id: RL_ONLY}
    # switch_gate 2 (their LLaMA setting) moves the line: 1 correct is now at or below it
    got = HPTArbiter(switch_gate=2).arbitrate(view(outcomes)).weights
    assert got == {none.id: SFT_ONLY, three.id: RL_ONLY, one.id: SFT_ONLY}
    # at switch_gate 3 the group with 3 correct trains on the demo too ("at or below")
    got = HPTArbiter(switch_gate=3).arbitrate(view(outcomes)).weights
    assert got == {none.id: SFT_ONLY, three.id: SFT_ONLY, one.id: SFT_ONLY}
    # a task the expert never won has no demonstration: it trains by RL whatever its count
    lone = task(3)
    got = HPTArbiter().arbitrate(view([outcome(lone, 0, with_demo=False)])).weights
    assert got == {lone.id: RL_ONLY}
    with pytest.raises(ValueError, match="switch_gate"):
        HPTArbiter(switch_gate=-1)


def test_relift_buffers_failed_tasks_and_trains_them_by_sft():
    from prism_gym.arbiters.relift import ReLIFTArbiter

    arbiter = ReLIFTArbiter(buffer_size=2)
    a, b, c = task(0), task(1), task(2)
    demos = {t.id: demo(t) for t in (a, b, c)}
    first = arbiter.arbitrate(view([outcome(a, 0), outcome(b, 2)], demos=demos))
    assert first.weights == {a.id: RL_ONLY, b.id: RL_ONLY}  # RL on every task, always
    assert list(first.extra_sft) == [] and arbiter.state_dict() == {"buffer": [a.id]}
    second = arbiter.arbitrate(view([outcome(a, 0), outcome(c, 0)], update=1, demos=demos))
    # a is buffered once; with c the buffer is full: both demos train by SFT and leave it
    assert [item.demonstration.task.id for item in second.extra_sft] == [a.id, c.id]
    assert arbiter.state_dict() == {"buffer": []}
    # interval: every 2 updates the buffer is emptied whatever it holds
    arbiter = ReLIFTArbiter(buffer_size=8, interval=2)
    assert not arbiter.arbitrate(view([outcome(a, 0)], update=0, demos=demos)).extra_sft
    assert [i.demonstration.task.id for i in arbiter.arbitrate(view([outcome(b, 1)], update=1, demos=demos)).extra_sft] \
        == [a.id]


def test_an_arbitration_that_does_not_fit_the_update_is_refused():
    t, u = task(0), task(1)
    v = view([outcome(t, 0), outcome(u, 0, with_demo=False)])
    with pytest.raises(ValueError, match="exactly the update's tasks"):
        check_arbitration(Arbitration({t.id: RL_ONLY}), v, "mine")
    with pytest.raises(ValueError, match="no demonstration"):
        check_arbitration(Arbitration({t.id: RL_ONLY, u.id: SFT_ONLY}), v, "mine")
    with pytest.raises(ValueError, match="weight"):
        Weights(sft=-1.0)


# -- the mixed update's loss, by hand -------------------------------------------------------

def _hand_rl_terms(model, samples, cfg, normaliser):
    """Clipped surrogate per sample, one unpadded sequence at a time."""
    total = 0.0
    for s in samples:
        seq = torch.tensor([s.prompt_ids + s.completion_ids])
        logits = model(input_ids=seq).logits[0].float() / cfg.temperature
        for j, token in enumerate(s.completion_ids):
            logp = torch.log_softmax(logits[len(s.prompt_ids) - 1 + j], -1)[token]
            ratio = torch.exp(logp - s.old_logps[j])
            total = total - torch.min(ratio * s.advantage,
                                      torch.clamp(ratio, 1 - cfg.epsilon, 1 + cfg.epsilon) * s.advantage)
    return total / normaliser


def _hand_nll(model, sequences):
    """Summed next-token NLL over the assistant tokens, one sequence at a time."""
    total, count = 0.0, 0
    for ids, mask in sequences:
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
        for t in range(1, len(ids)):
            if mask[t]:
                total = total - logp[t - 1, ids[t]]
                count += 1
    return total, count


def test_mixed_update_loss_is_the_hand_computed_sum_of_its_sft_and_rl_terms(micro_lm):
    from prism_gym.runner.grpo import StepSample, build_algorithm
    from prism_gym.runner.mixed import mixed_step, sft_sequences

    model, tok = micro_lm
    cfg = RLConfig(temperature=0.7, epsilon=0.2, micro_batch_size=2, max_grad_norm=1e9, max_new_tokens=4)
    # two RL tasks with their own weights; old log-probs away from the current ones, so the ratio
    # differs from 1 and the clip acts on some tokens
    task_a = [StepSample([tok.bos_token_id, 11, 12], [40, 41, 42], 1.5, old_logps=[-5.0, -6.5, -4.0]),
              StepSample([tok.bos_token_id, 13], [50, 7], -0.5, old_logps=[-6.0, -5.5])]
    task_b = [StepSample([tok.bos_token_id, 14, 15, 16], [60], 2.0, old_logps=[-6.2]),
              StepSample([tok.bos_token_id, 17], [61, 62], -1.0, old_logps=[-5.7, -6.1]),
              StepSample([tok.bos_token_id, 18], [63], 0.7, old_logps=[-5.9])]
    rl_parts = [(0.5, task_a), (2.0, task_b)]
    # two SFT demonstrations (one step and two steps) with their weights
    seq_c = sft_sequences(tok, demo(task(7), ("take apple 1 from countertop 1",)), 1024)
    seq_d = sft_sequences(tok, demo(task(8)), 1024)
    sft_parts = [(1.0, seq_c), (0.25, seq_d)]

    with torch.no_grad():
        ref = model.state_dict()
        ref = {k: v.clone() for k, v in ref.items()}
    # the hand computation: RL normaliser = every RL-trained completion token, SFT normaliser = every answer token
    rl_norm = sum(len(s.completion_ids) for _, part in rl_parts for s in part)
    (nll_c, n_c), (nll_d, n_d) = _hand_nll(model, seq_c), _hand_nll(model, seq_d)
    rl_a, rl_b = _hand_rl_terms(model, task_a, cfg, rl_norm), _hand_rl_terms(model, task_b, cfg, rl_norm)
    expected = 0.5 * rl_a + 2.0 * rl_b + 1.0 * nll_c / (n_c + n_d) + 0.25 * nll_d / (n_c + n_d)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(expected, params, allow_unused=True)
    assert n_c > 0 and n_d > n_c  # the two-step demo has more answer tokens

    # one SGD step at learning rate 1: the update is minus the gradient of the loss mixed_step took
    optimizer = torch.optim.SGD(params, lr=1.0)
    fit = mixed_step(model, None, optimizer, params, rl_parts, sft_parts, build_algorithm(cfg), cfg,
                     tok.pad_token_id)
    assert fit["steps"] == 1
    assert fit["loss"] == pytest.approx(float(expected.detach()), rel=1e-5)
    assert fit["rl_loss"] == pytest.approx(float((0.5 * rl_a + 2.0 * rl_b).detach()), rel=1e-5, abs=1e-7)
    assert fit["sft_loss"] == pytest.approx(float(((nll_c + 0.25 * nll_d) / (n_c + n_d)).detach()), rel=1e-5)
    assert fit["sft_tokens"] == n_c + n_d
    assert fit["clipped"] > 0  # the hand terms above exercised the clip
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    moved = dict(model.state_dict())
    for name, p, g in zip(names, params, grads):
        change = moved[name] - ref[name]
        want = torch.zeros_like(change) if g is None else -g
        assert torch.allclose(change, want, rtol=1e-4, atol=1e-6), name


# -- prism-reprobe sees the current weights ------------------------------------------------

def test_reprobe_probes_the_current_weights_not_the_base(micro_lm):
    from prism_gym.arbiters.reprobe import ReprobeArbiter
    from prism_gym.probe import probe_trajectories
    from prism_gym.runner.mixed import policy_probe

    model, tok = micro_lm
    tasks = [task(i) for i in range(4)]
    demos = {t.id: demo(t, actions) for t, actions in zip(tasks, [("go to drawer 1",), ("open drawer 2", "heat"),
                                                                  ("take apple 1 from countertop 1",),
                                                                  ("look", "inventory", "help")])}
    seen = []

    def recording(update):
        probe = policy_probe(model, tok, update, {"batch_size": 4})

        def call(trajectories, **options):
            result = probe(trajectories, **options)
            seen.append((update, weights_hash(model), result.norms.copy()))
            return result
        return call

    arbiter = ReprobeArbiter(every=2, learned_at=1.0)
    outcomes = [outcome(t, 0) for t in tasks]
    base = weights_hash(model)
    first = arbiter.arbitrate(view(outcomes, update=0, probe=recording(0), demos=demos))
    # the median split of four: two diffuse demos to SFT, two concentrated to RL
    assert sorted(w.sft for w in first.weights.values()) == [0.0, 0.0, 1.0, 1.0]
    with torch.no_grad():  # training moved the weights
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    moved = weights_hash(model)
    arbiter.arbitrate(view(outcomes, update=1, probe=recording(1), demos=demos))  # not a refresh update
    # task 0 is learned at update 2: it leaves the probe
    later = [outcome(tasks[0], 4)] + outcomes[1:]
    arbiter.arbitrate(view(later, update=2, probe=recording(2), demos=demos))
    assert [(u, h) for u, h, _ in seen] == [(0, base), (2, moved)]
    fresh = probe_trajectories(model, tok, [demos[t.id] for t in tasks[1:]], model_id="check", batch_size=4,
                               progress=False)
    assert seen[1][2].shape[0] == 3
    assert (seen[1][2] == fresh.norms).all()  # what it saw is the moved model's probe ...
    assert not (seen[1][2] == seen[0][2][1:]).all()  # ... not the base model's


def test_reprobe_in_the_mixed_loop_probes_the_policy_after_each_update(micro_lm, tmp_path, monkeypatch):
    import prism_gym.probe as probe_module
    from prism_gym.arbiters.reprobe import ReprobeArbiter
    from prism_gym.runner.mixed import run_mixed
    from test_grpo import Collector
    from test_grpo import tasks as toy_tasks

    model, tok = micro_lm
    tasks = toy_tasks(4)
    demos = {t.id: demo(t) for t in tasks}
    real = probe_module.probe_trajectories
    probed, after_update = [], {}

    def recording(m, *args, **kwargs):
        probed.append(weights_hash(m))
        return real(m, *args, **kwargs)

    monkeypatch.setattr(probe_module, "probe_trajectories", recording)
    base = weights_hash(model)
    cfg = RLConfig(iterations=3, tasks_per_iteration=2, group_size=2, learning_rate=0.05, max_new_tokens=1)
    _, cost, history = run_mixed(model, tok, tasks, demos, cfg, ReprobeArbiter(every=1), seed=0,
                                 collect=Collector(tok), work_dir=tmp_path / "work",
                                 on_update=lambda row: after_update.setdefault(row["iteration"], weights_hash(model)))
    assert len(probed) == 3
    assert probed[0] == base
    assert probed[1:] == [after_update[0], after_update[1]]  # the weights each update left behind
    assert len(set(probed)) == 3
    assert [h["arbiter_probed"] for h in history] == [4, 4, 4]
    assert cost.tokens_trained > 0


# -- resume ------------------------------------------------------------------------------

class Interrupt(Exception):
    pass


def test_a_killed_mixed_loop_resumes_to_the_same_history_and_weights(micro_lm, tmp_path):
    from prism_gym.arbiters.relift import ReLIFTArbiter
    from prism_gym.runner.mixed import run_mixed
    from test_grpo import Collector
    from test_grpo import tasks as toy_tasks

    from prism_gym.models import micro_model

    model, tok = micro_lm
    start = {k: v.clone() for k, v in model.state_dict().items()}
    tasks = toy_tasks(4)
    demos = {t.id: demo(t) for t in tasks}
    cfg = RLConfig(iterations=4, tasks_per_iteration=2, group_size=2, learning_rate=0.05, max_new_tokens=1)

    def fresh():
        m = micro_model(tok)
        m.load_state_dict(start)
        return m

    def run(work, on_step=None):
        return run_mixed(fresh(), tok, tasks, demos, cfg, ReLIFTArbiter(buffer_size=3), seed=1,
                         collect=Collector(tok), work_dir=work, on_step=on_step)

    ref_model, _, ref_history = run(tmp_path / "a")

    def kill(done, total):
        if done == 2:
            raise Interrupt()

    with pytest.raises(Interrupt):
        run(tmp_path / "b", on_step=kill)
    assert isinstance(json.loads((tmp_path / "b" / "state" / "arbiter.json").read_text())["buffer"], list)
    resumed, _, history = run(tmp_path / "b")
    assert history == ref_history
    assert weights_hash(resumed) == weights_hash(ref_model)


# -- a third-party arbiter --------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed_arbiter_plugin(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(FIXTURES / "example_arbiter_plugin")], check=True,
                   capture_output=True)
    return target


def _cli(args, site):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "prism_gym", *args], capture_output=True, text=True, env=env,
                          cwd=site)


def test_a_third_party_arbiter_is_listed_and_benchmarkable(installed_arbiter_plugin):
    out = _cli(["arbiters", "list", "--json"], installed_arbiter_plugin)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["coin"]["package"] == "example-arbiter-plugin"
    assert rows["coin"]["options"] == {"sft_share": 0.5}
    assert {"hpt": {"switch_gate": 0}}.items() <= {n: r["options"] for n, r in rows.items()}.items()
    assert {"relift", "prism-reprobe"} <= set(rows)
    out = _cli(["bench", "--router", "coin", "--env", "alfworld", "--option", "sft_share=0.25", "--validate-only"],
               installed_arbiter_plugin)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)[0]
    assert (config["router"], config["arbiter"], config["arbiter_options"]) == ("coin", "coin", {"sft_share": 0.25})
    out = _cli(["bench", "--router", "coin", "--env", "alfworld", "--option", "nonsense=1", "--validate-only"],
               installed_arbiter_plugin)
    assert out.returncode != 0 and "arbiter_options" in out.stdout + out.stderr


def test_arbiter_configs_are_recorded_and_static_ones_unchanged():
    from prism_gym.runner.presets import ConfigError, make_config

    static = make_config("tiny", "alfworld", "prism")
    assert "arbiter" not in static.to_dict() and "arbiter_options" not in static.to_dict()
    hpt = make_config("tiny", "alfworld", "hpt", router_options={"switch_gate": 2}).validate()
    assert hpt.to_dict()["arbiter"] == "hpt" and hpt.to_dict()["arbiter_options"] == {"switch_gate": 2}
    assert hpt.routing_router == "all-rl" and hpt.run_id() == "alfworld-hpt-tiny-s0"
    from prism_gym.runner.presets import RunConfig

    assert RunConfig.from_dict(hpt.to_dict()).fingerprint() == hpt.fingerprint()
    bad = make_config("tiny", "alfworld", "hpt", router_options={"switch_gate": 2})
    bad.rl.dynamic_sampling = True
    with pytest.raises(ConfigError, match="dynamic_sampling"):
        bad.validate()


def test_the_ledger_counts_the_sft_and_the_rl_terms(micro_lm, tmp_path):
    from prism_gym.arbitration import BaseArbiter
    from prism_gym.runner.mixed import run_mixed, sft_sequences
    from test_grpo import Collector
    from test_grpo import tasks as toy_tasks

    class Both(BaseArbiter):
        name = "both"

        def arbitrate(self, view):
            return Arbitration({o.task.id: Weights(sft=1.0, rl=1.0) for o in view.outcomes})

    model, tok = micro_lm
    tasks = toy_tasks(4)
    demos = {t.id: demo(t) for t in tasks}
    cfg = RLConfig(iterations=2, tasks_per_iteration=2, group_size=4, learning_rate=0.05, max_new_tokens=1)
    _, cost, history = run_mixed(model, tok, tasks, demos, cfg, Both(), seed=0, collect=Collector(tok),
                                 work_dir=tmp_path / "work")
    demo_tokens = sum(len(ids) for ids, _ in sft_sequences(tok, demo(tasks[0]), 1024))  # every demo alike
    # trained (forward + backward): each RL sample's prompt (2 tokens) and completion (1), each demo chat whole
    assert cost.tokens_trained == sum(3 * h["samples"] + 2 * demo_tokens for h in history)
    assert all(h["samples"] > 0 and h["sft_demos"] == 2 for h in history)
    # the rollouts: 2 tasks x 4 episodes x 2 steps per update, 2 prompt tokens a step, no gradient
    assert cost.tokens_forwarded - cost.tokens_trained == 2 * 2 * 4 * 2 * 2
    assert cost.env_steps == 2 * 2 * 4 * 2
