"""`prism-gym serve`: both envs over OpenEnv, played with openenv-core's own
clients over a real socket on 127.0.0.1 (an ephemeral port): the expert wins
through the wire, sessions are isolated, 64 concurrent sessions take 10^4
steps and see exactly what in-process play sees. Loopback only."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("openenv.core.env_server", reason="needs openenv-core: pip install 'prism-gym[serve]'")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_serve  # noqa: E402

from openenv.core.generic_client import GenericEnvClient  # noqa: E402

from prism_gym.serve.client import PrismGymEnvClient, TextAction  # noqa: E402

LOAD_SESSIONS, LOAD_STEPS = 64, 10_000


def expert_actions(env_name: str, split: str, instance: str) -> tuple[list[str], list[str]]:
    """The expert's actions for a task, and the observations they draw, played in-process."""
    import prism_gym.envs

    env = prism_gym.envs.make(env_name, expert_actions=True)
    obs, info = env.reset(options={"split": split, "instance": instance})
    actions, observations, done = [], [obs], False
    while not done:
        actions.append(info["expert_action"])
        obs, _, terminated, truncated, info = env.step(actions[-1])
        observations.append(obs)
        done = terminated or truncated
    assert info["won"], f"the expert should win {env_name}/{split}/{instance}"
    return actions, observations


@pytest.fixture(scope="module")
def alfworld_url():
    proc, url = bench_serve.start_server("alfworld")
    yield url
    bench_serve.stop_server(proc)


def sessions_open(url: str) -> int:
    with urllib.request.urlopen(url + "/sessions", timeout=10) as response:
        return json.loads(response.read())["active_sessions"]


def test_the_cli_does_not_import_the_server_libraries():
    out = subprocess.run([sys.executable, "-c", "import sys, prism_gym.cli; print(sorted(m for m in "
                          "('openenv', 'fastapi', 'uvicorn', 'starlette', 'websockets') if m in sys.modules))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_expert_wins_alfworld_through_the_socket(alfworld_url):
    actions, observations = expert_actions("alfworld", "valid_seen", "0")
    with PrismGymEnvClient(base_url=alfworld_url).sync() as env:
        result = env.reset(split="valid_seen", instance="0")
        obs = result.observation
        assert obs.task["id"] == "alfworld/valid_seen/0" and obs.task["goal"]
        assert obs.text == observations[0] and actions[0] in obs.admissible_actions
        assert not result.done and result.reward is None
        for i, action in enumerate(actions):
            result = env.step(TextAction(action=action))
            assert result.observation.text == observations[i + 1] and result.observation.step == i + 1
        assert result.done and result.reward == 1.0 and result.observation.won
        assert not result.observation.truncated and result.observation.score == 100.0
        state = env.state()
        assert (state.step_count, state.won, state.done, state.total_reward) == (len(actions), True, True, 1.0)
        assert state.task["id"] == "alfworld/valid_seen/0"
        with pytest.raises(RuntimeError, match="episode is over"):
            env.step("look")
        assert env.state() == state  # the refused step changed nothing
        again = env.reset(split="valid_seen", instance="0")  # the session goes on with a new episode
        assert again.observation.text == observations[0] and env.state().step_count == 0


def test_webshop_is_served_too_and_openenvs_generic_client_plays_it():
    actions, observations = expert_actions("webshop", "test", "3")
    proc, url = bench_serve.start_server("webshop")
    try:
        with GenericEnvClient(base_url=url).sync() as env:
            result = env.reset(split="test", instance=3)
            assert result.observation["task"]["id"] == "webshop/test/3"
            assert result.observation["text"] == observations[0]
            assert "search[<your query>]" in result.observation["admissible_actions"]
            for action in actions:
                result = env.step({"action": action})
            assert result.done and result.reward == 1.0 and result.observation["won"]
            assert env.state()["task"]["env"] == "webshop"
        metadata = json.loads(urllib.request.urlopen(url + "/metadata", timeout=10).read())
        assert metadata["name"] == "prism_gym/WebShop-v0"
    finally:
        bench_serve.stop_server(proc)


def test_sessions_are_isolated(alfworld_url):
    """Two clients on the same task, interleaved: each sees only its own actions."""
    actions, observations = expert_actions("alfworld", "valid_seen", "0")
    with PrismGymEnvClient(base_url=alfworld_url).sync() as one, \
            PrismGymEnvClient(base_url=alfworld_url).sync() as two:
        one.reset(split="valid_seen", instance="0")
        two.reset(split="valid_seen", instance="0")
        for i, action in enumerate(actions[:-1]):
            assert one.step(action).observation.text == observations[i + 1]
            wrong = two.step("inventory")  # the other session dawdles
            assert wrong.observation.step == i + 1
        assert one.state().step_count == two.state().step_count == len(actions) - 1
        assert one.step(actions[-1]).observation.won
        assert not two.state().won and not two.state().done
        assert sessions_open(alfworld_url) >= 2


def test_64_concurrent_sessions_take_10k_steps_exactly_as_in_process(alfworld_url):
    """Bounded in count (64 sessions, 10^4 steps) and in time (the timeout);
    correctness only: bench_serve.py measures the speed."""
    served = asyncio.run(bench_serve.play_served(alfworld_url, LOAD_SESSIONS, LOAD_STEPS, seed=1, timeout_s=300))
    local = bench_serve.play_in_process("alfworld", LOAD_SESSIONS, LOAD_STEPS, seed=1)
    assert sum(p.steps for p in served) == LOAD_STEPS and len(served) == LOAD_SESSIONS
    assert [p.steps for p in served] == [p.steps for p in local]
    assert [p.episodes for p in served] == [p.episodes for p in local]
    # every session saw exactly the observations and rewards that the same play sees in-process
    assert [p.digest for p in served] == [p.digest for p in local]
    assert len({p.digest for p in served}) == LOAD_SESSIONS  # and the sessions really played apart


def test_serve_refuses_an_unknown_env_and_a_taken_port(alfworld_url):
    out = subprocess.run([sys.executable, "-m", "prism_gym", "serve", "--env", "chess", "--port", "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "unknown env 'chess'" in out.stderr
    taken = alfworld_url.rsplit(":", 1)[1]
    out = subprocess.run([sys.executable, "-m", "prism_gym", "serve", "--env", "alfworld", "--port", taken],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and f"cannot listen on 127.0.0.1:{taken}" in out.stderr
