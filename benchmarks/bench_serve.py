"""Steps per second of an env served over OpenEnv (`prism-gym serve`) under
concurrent sessions, side by side with the same play in-process.

    python benchmarks/bench_serve.py [--env alfworld] [--sessions 64] [--steps 10000]

Starts `prism-gym serve --port 0` on 127.0.0.1 (loopback only) in a child
process, opens ``--sessions`` OpenEnv clients at once, and has each play
random admissible actions (seeded per session, resetting when an episode ends)
until ``--steps`` steps have been taken in all. Then plays exactly the same
sessions in this process, on the Gymnasium env, one after the other, and
checks that every session saw the same observations and rewards both ways.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

SERVE_LINE = re.compile(r"serving \S+ on http://127\.0\.0\.1:(\d+)")


@dataclass
class SessionPlay:
    """What one session did: its steps, episodes and wins, and a digest of every
    observation and reward it saw (equal digests: the same play)."""

    steps: int = 0
    episodes: int = 0
    wins: int = 0
    digest: str = ""


def steps_per_session(total_steps: int, sessions: int) -> list[int]:
    base, extra = divmod(total_steps, sessions)
    return [base + (i < extra) for i in range(sessions)]


class _Recorder:
    def __init__(self):
        self.hash = hashlib.sha256()

    def add(self, text: str, reward: float | None) -> None:
        self.hash.update(text.encode())
        self.hash.update(repr(round(float(reward or 0.0), 9)).encode())


async def play_served_session(url: str, index: int, steps: int, seed: int) -> SessionPlay:
    """One OpenEnv session on ``url``: ``steps`` random admissible actions."""
    from prism_gym.serve.client import PrismGymEnvClient

    rng = random.Random(seed * 100_003 + index)
    play, record = SessionPlay(), _Recorder()
    async with PrismGymEnvClient(base_url=url, message_timeout_s=120) as env:
        result = await env.reset(seed=seed * 100_003 + index)
        record.add(result.observation.text, None)
        play.episodes, episode_steps = 1, 0
        while play.steps < steps:
            if result.done:
                result = await env.reset()
                record.add(result.observation.text, None)
                play.episodes, episode_steps = play.episodes + 1, 0
            obs = result.observation
            result = await env.step(rng.choice(obs.admissible_actions or ["look"]))
            play.steps, episode_steps = play.steps + 1, episode_steps + 1
            if result.observation.step != episode_steps:
                # another session's step landing here would show as a skipped count
                raise AssertionError(f"session {index}: step {episode_steps} of its episode, "
                                     f"the server counts {result.observation.step}")
            record.add(result.observation.text, result.reward)
            play.wins += bool(result.observation.won and result.done)
        state = await env.state()
        if state.step_count != result.observation.step:
            raise AssertionError(f"session {index}: state says {state.step_count} steps")
    play.digest = record.hash.hexdigest()
    return play


async def play_served(url: str, sessions: int, total_steps: int, seed: int = 0,
                      timeout_s: float = 600) -> list[SessionPlay]:
    """``sessions`` concurrent sessions taking ``total_steps`` steps in all."""
    plan = steps_per_session(total_steps, sessions)
    jobs = [play_served_session(url, i, n, seed) for i, n in enumerate(plan)]
    return list(await asyncio.wait_for(asyncio.gather(*jobs), timeout=timeout_s))


def play_in_process(env_name: str, sessions: int, total_steps: int, seed: int = 0) -> list[SessionPlay]:
    """The same sessions as :func:`play_served`, on the Gymnasium env in this process."""
    import prism_gym.envs

    plays = []
    for index, steps in enumerate(steps_per_session(total_steps, sessions)):
        env = prism_gym.envs.make(env_name)
        rng = random.Random(seed * 100_003 + index)
        play, record = SessionPlay(), _Recorder()
        obs, info = env.reset(seed=seed * 100_003 + index)
        record.add(obs, None)
        play.episodes, done = 1, False
        while play.steps < steps:
            if done:
                obs, info = env.reset()
                record.add(obs, None)
                play.episodes += 1
            obs, reward, terminated, truncated, info = env.step(rng.choice(info["admissible_actions"] or ["look"]))
            play.steps += 1
            done = terminated or truncated
            record.add(obs, reward)
            play.wins += bool(info["won"] and done)
        play.digest = record.hash.hexdigest()
        env.close()
        plays.append(play)
    return plays


def start_server(env_name: str, max_sessions: int = 256, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """``prism-gym serve --env ENV --port 0`` on 127.0.0.1; its process and URL."""
    return launch(["serve", "--env", env_name, "--port", "0", "--host", "127.0.0.1",
                   "--max-sessions", str(max_sessions)], timeout_s)


def launch(cli_args: list[str], timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """``prism-gym CLI_ARGS`` (a `serve` command on 127.0.0.1), once it answers /health."""
    proc = subprocess.Popen([sys.executable, "-m", "prism_gym", *cli_args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = SERVE_LINE.search(line)
        if match:
            url = f"http://127.0.0.1:{match.group(1)}"
            # keep reading what the server prints, or a full pipe would stall it
            threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
            proc.output = lines
            _wait_healthy(url, deadline)
            return proc, url
    proc.kill()
    raise RuntimeError("the server did not start:\n" + "".join(lines))


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _drain(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)
        del lines[:-200]


def _wait_healthy(url: str, deadline: float) -> None:
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="alfworld")
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    proc, url = start_server(args.env, max_sessions=max(args.sessions, 1))
    try:
        start = time.perf_counter()
        served = asyncio.run(play_served(url, args.sessions, args.steps, args.seed))
        served_s = time.perf_counter() - start
        alive = proc.poll() is None
    finally:
        stop_server(proc)
    start = time.perf_counter()
    local = play_in_process(args.env, args.sessions, args.steps, args.seed)
    local_s = time.perf_counter() - start

    same = sum(a.digest == b.digest for a, b in zip(served, local))
    steps = sum(p.steps for p in served)
    print(f"env {args.env}: {args.sessions} concurrent sessions, {steps} steps in all "
          f"({sum(p.episodes for p in served)} episodes, {sum(p.wins for p in served)} won by random play)")
    print(f"{'':22s} {'seconds':>8s} {'steps/s':>9s}")
    print(f"{'served (OpenEnv, ws)':22s} {served_s:8.2f} {steps / served_s:9.0f}")
    print(f"{'in-process (gym)':22s} {local_s:8.2f} {steps / local_s:9.0f}")
    print(f"served / in-process: {local_s / served_s:.3f}x the throughput; "
          f"sessions identical to in-process play: {same}/{len(served)}; server still up: {alive}")


if __name__ == "__main__":
    main()
