"""TRL's own GRPOTrainer, one step on ALFWorld through `prism-gym serve`:
``environment_factory`` builds one served session per rollout, the model's
tool call is played on the server, and the env's return is the reward.

The micro model is steered to one tool call by a decoding bias (TRL's
``generation_kwargs``: transformers' ``sequence_bias``), a scripted policy:
a random micro model would never write a well-formed call. Loopback only.
"""
from __future__ import annotations

import functools
import importlib.resources
import sys
from pathlib import Path

import pytest

pytest.importorskip("openenv.core.env_server", reason="needs openenv-core: pip install 'prism-gym[serve]'")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_serve  # noqa: E402

from prism_gym.serve.trl_env import ServedEnv  # noqa: E402

QWEN3_MARKERS = ["<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<think>", "</think>"]
TOOL_CALL = '<tool_call>\n{"name": "act", "arguments": {"action": "look"}}\n</tool_call><|im_end|>'


@pytest.fixture(scope="module")
def alfworld_url():
    proc, url = bench_serve.start_server("alfworld")
    yield url
    bench_serve.stop_server(proc)


def test_the_trl_environment_plays_a_served_episode(alfworld_url):
    import prism_gym.envs

    local = prism_gym.envs.make("alfworld", expert_actions=True)
    obs, info = local.reset(options={"split": "valid_seen", "instance": "0"})
    env = ServedEnv(alfworld_url)
    shown = env.reset(split="valid_seen", instance="0", prompt=[])  # TRL passes the whole row
    assert "Task: put a creditcard in shelf" in shown and obs.strip() in shown and "Admissible actions:" in shown
    done = False
    while not done:
        action = info["expert_action"]
        obs, _, terminated, truncated, info = local.step(action)
        done = terminated or truncated
        reply = env.act(action)
        assert obs.strip() in reply
    assert env.get_reward() == 1.0
    assert env.act("look") == "The episode is over; no more actions are taken."


def _tool_calling_micro_lm(micro_tokenizer):
    """A micro model with TRL's Qwen3 chat template (one TRL parses tool calls from)."""
    import copy

    from prism_gym.models import micro_model

    tokenizer = copy.deepcopy(micro_tokenizer)
    tokenizer.chat_template = (importlib.resources.files("trl") / "chat_templates" / "qwen3.jinja").read_text()
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN3_MARKERS})
    tokenizer.eos_token = "<|im_end|>"
    # prompts with the tool schema and an ALFWorld room run to ~1000 tokens
    return micro_model(tokenizer, max_positions=4096), tokenizer


def test_one_grpo_step_of_trls_trainer_on_alfworld_through_the_server(alfworld_url, micro_tokenizer, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = _tool_calling_micro_lm(micro_tokenizer)
    call_ids = tokenizer(TOOL_CALL, add_special_tokens=False)["input_ids"]
    # each longer matched prefix outweighs the shorter ones, so decoding follows the call token by token
    script = [[call_ids[:k], 100.0 * k] for k in range(1, len(call_ids) + 1)]
    rows = Dataset.from_list([{"prompt": [{"role": "user", "content": "Reach the goal with the act tool.\n\n"}],
                               "split": "valid_seen", "instance": "0"}])
    config = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, num_generations=2, max_steps=1,
                        max_completion_length=1024, max_tool_calling_iterations=1, report_to="none",
                        logging_steps=1, save_strategy="no", use_cpu=True, bf16=False,
                        generation_kwargs={"sequence_bias": script})
    trainer = GRPOTrainer(model=model, args=config, train_dataset=rows, processing_class=tokenizer,
                          environment_factory=functools.partial(ServedEnv, alfworld_url))
    trainer.train()

    assert trainer.state.global_step == 1
    logged = trainer.state.log_history[0]
    assert logged["tools/call_frequency"] == 1.0 and logged["tools/failure_frequency"] == 0.0
    assert logged["rewards/ServedEnv/mean"] == 0.0  # one `look` wins nothing; the env scored it
    played = trainer._environment_pool[None]
    assert len(played) == 2
    for env in played:  # each rollout played its own served episode of the row's task
        assert env._task.id == "alfworld/valid_seen/0"
        assert [t.action for t in env._turns] == ["look"]
        assert env._client.state().step_count == 1
