"""`prism-gym serve` under bad input: every case gets a clear error, the server
stays up, and no other session's state changes. Loopback only.

Two sessions watch every case: a *bystander* (openenv-core's client, mid-way
through the expert's episode) and a *victim* (a raw WebSocket that most of the
bad messages are sent on). After each case the server must answer /health,
the bystander's and the victim's states must be what they were, and at the end
both episodes finish exactly as in-process play does.
"""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("openenv.core.env_server", reason="needs openenv-core: pip install 'prism-gym[serve]'")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_serve  # noqa: E402

from websockets.asyncio.client import connect as async_connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from prism_gym.serve.client import PrismGymEnvClient  # noqa: E402
from test_serve import expert_actions  # noqa: E402

MAX_SESSIONS = 16  # small, so that the storm of connections meets the limit
STORM_CLIENTS, STORM_RESETS = 40, 5
PIPELINED_RESETS = 300
FRAME_LIMIT = 16 * 1024 * 1024  # uvicorn's default WebSocket message limit


class Victim:
    """A raw WebSocket session, to send what no client library would."""

    def __init__(self, url: str):
        self.ws = connect(url.replace("http://", "ws://") + "/ws", max_size=None, open_timeout=30)

    def send(self, text: str) -> dict:
        self.ws.send(text)
        return json.loads(self.ws.recv(timeout=60))

    def ask(self, message: dict) -> dict:
        return self.send(json.dumps(message))

    def state(self) -> dict:
        reply = self.ask({"type": "state"})
        assert reply["type"] == "state", reply
        return reply["data"]


def http(url: str, path: str, body: bytes | dict, method: str = "POST") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def sessions_open(url: str) -> int:
    with urllib.request.urlopen(url + "/sessions", timeout=10) as response:
        return json.loads(response.read())["active_sessions"]


def wait_for_sessions(url: str, count: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while sessions_open(url) != count:
        assert time.monotonic() < deadline, f"{sessions_open(url)} sessions open, expected {count}"
        time.sleep(0.1)


def abort(ws) -> None:
    """Drop the TCP connection with a reset: no close frame, no FIN."""
    sock = ws.socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- the cases: each returns what the client was told ------------------------------------

def malformed_json(url, victim):
    reply = victim.send('{"type": "step", "data": {"action": "look"')
    assert reply["data"]["code"] == "INVALID_JSON" and "Invalid JSON" in reply["data"]["message"]
    return reply["data"]["message"]


def unknown_message_type(url, victim):
    reply = victim.ask({"type": "teleport"})
    assert reply["data"]["code"] == "UNKNOWN_TYPE" and "teleport" in reply["data"]["message"]
    return reply["data"]["message"]


def step_without_data(url, victim):
    reply = victim.ask({"type": "step"})
    assert reply["data"]["code"] == "VALIDATION_ERROR" and reply["data"]["errors"][0]["loc"] == ["data"]
    return f"{reply['data']['message']}: {reply['data']['errors'][0]['msg']}"


def action_not_a_string(url, victim):
    reply = victim.ask({"type": "step", "data": {"action": 7}})
    assert reply["data"]["code"] == "VALIDATION_ERROR" and reply["data"]["errors"][0]["loc"] == ["action"]
    return reply["data"]["errors"][0]["msg"]


def unknown_action_field(url, victim):
    reply = victim.ask({"type": "step", "data": {"action": "look", "force": True}})
    assert reply["data"]["code"] == "VALIDATION_ERROR" and reply["data"]["errors"][0]["loc"] == ["force"]
    return reply["data"]["errors"][0]["msg"]


def one_megabyte_action(url, victim):
    reply = victim.ask({"type": "step", "data": {"action": "x" * (1 << 20)}})
    assert reply["data"]["code"] == "EXECUTION_ERROR"
    assert "1048576 characters is refused: at most 4096" in reply["data"]["message"]
    assert len(json.dumps(reply)) < 1000  # the answer does not echo the megabyte back
    return reply["data"]["message"]


def unknown_reset_option(url, victim):
    reply = victim.ask({"type": "reset", "data": {"instanse": "3"}})
    assert reply["data"]["code"] == "EXECUTION_ERROR"
    assert "unknown reset option(s) ['instanse']" in reply["data"]["message"]
    return reply["data"]["message"]


def unknown_task(url, victim):
    reply = victim.ask({"type": "reset", "data": {"split": "valid_seen", "instance": "999999"}})
    assert reply["data"]["code"] == "EXECUTION_ERROR" and "outside split 'valid_seen'" in reply["data"]["message"]
    return reply["data"]["message"]


def step_before_reset(url, victim):
    fresh = Victim(url)
    try:
        reply = fresh.ask({"type": "step", "data": {"action": "look"}})
    finally:
        fresh.ws.close()
    assert reply["data"]["code"] == "EXECUTION_ERROR" and "no episode yet" in reply["data"]["message"]
    return reply["data"]["message"]


def message_not_an_object(url, victim):
    # openenv-core 0.3.0 ends the session that sends this (its own only), with an error first
    doomed = Victim(url)
    reply = doomed.send("[1, 2, 3]")
    with pytest.raises(ConnectionClosed):
        doomed.ws.recv(timeout=30)
    assert reply["data"]["code"] == "SESSION_ERROR"
    return f"{reply['data']['code']}: {reply['data']['message']} (session closed)"


def message_over_the_frame_limit(url, victim):
    doomed = Victim(url)
    with pytest.raises(ConnectionClosed) as closed:
        doomed.ws.send("x" * (FRAME_LIMIT + 1024))
        doomed.ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    return f"closed with 1009: {closed.value.rcvd.reason}"


def unknown_session_close(url, victim):
    status, reply = http(url, "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "openenv/session/close",
                                       "params": {"session_id": "no-such-session"}})
    assert status == 200 and reply["error"]["message"] == "Unknown session_id: no-such-session"
    return reply["error"]["message"]


def unknown_session_call(url, victim):
    status, reply = http(url, "/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                       "params": {"session_id": "no-such-session", "name": "step"}})
    assert status == 200 and reply["error"]["message"] == "Unknown session_id: no-such-session"
    return reply["error"]["message"]


def http_step_without_a_session(url, victim):
    status, reply = http(url, "/step", {"action": {"action": "look"}})
    assert status == 409 and "no episode yet" in reply["detail"] and "/ws" in reply["detail"]
    return reply["detail"]


def http_malformed_json(url, victim):
    status, reply = http(url, "/step", b'{"action": ')
    assert status == 422 and reply["detail"][0]["type"] == "json_invalid"
    return reply["detail"][0]["msg"]


def reset_storm_in_one_session(url, victim):
    storm = Victim(url)
    try:
        for i in range(PIPELINED_RESETS):  # sent back to back, before reading any answer
            storm.ws.send(json.dumps({"type": "reset", "data": {"split": "valid_seen", "instance": str(i % 140)}}))
        replies = [json.loads(storm.ws.recv(timeout=60)) for _ in range(PIPELINED_RESETS)]
        assert all(r["type"] == "observation" for r in replies)
        assert [r["data"]["observation"]["task"]["instance"] for r in replies] == [str(i % 140)
                                                                                  for i in range(PIPELINED_RESETS)]
        assert storm.state()["step_count"] == 0
    finally:
        storm.ws.close()
    return f"{PIPELINED_RESETS} pipelined resets answered in order"


def reset_storm_of_connections(url, victim):
    ws_url = url.replace("http://", "ws://") + "/ws"

    async def client(i):
        async with async_connect(ws_url, open_timeout=60) as ws:
            for _ in range(STORM_RESETS):
                try:
                    await ws.send(json.dumps({"type": "reset", "data": {"seed": i}}))
                except ConnectionClosed:
                    pass  # refused at the door: its error is already queued
                reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if reply["type"] == "error":
                    return reply["data"]["code"]
            return "served"

    async def storm():
        return await asyncio.gather(*(client(i) for i in range(STORM_CLIENTS)))

    outcomes = asyncio.run(storm())
    assert set(outcomes) <= {"served", "CAPACITY_REACHED"}, outcomes
    assert outcomes.count("served") >= 1 and "CAPACITY_REACHED" in outcomes
    return (f"{STORM_CLIENTS} clients x {STORM_RESETS} resets: {outcomes.count('served')} served, "
            f"{outcomes.count('CAPACITY_REACHED')} refused with CAPACITY_REACHED")


def client_vanishes_mid_episode(url, victim):
    before = sessions_open(url)
    gone = Victim(url)
    gone.ask({"type": "reset", "data": {"split": "valid_seen", "instance": "5"}})
    gone.ask({"type": "step", "data": {"action": "look"}})
    wait_for_sessions(url, before + 1)
    abort(gone.ws)
    wait_for_sessions(url, before)  # its session and env are dropped
    return "session dropped after a TCP reset"


def client_vanishes_mid_message(url, victim):
    before = sessions_open(url)
    gone = Victim(url)
    gone.ask({"type": "reset", "data": {"seed": 1}})
    # a masked text frame that announces 1000 bytes and brings 10
    gone.ws.socket.sendall(b"\x81\xfe\x03\xe8" + b"\x00\x00\x00\x00" + b'{"type": "')
    abort(gone.ws)
    wait_for_sessions(url, before)
    return "session dropped after half a frame and a TCP reset"


CASES = [malformed_json, unknown_message_type, step_without_data, action_not_a_string, unknown_action_field,
         one_megabyte_action, unknown_reset_option, unknown_task, step_before_reset, message_not_an_object,
         message_over_the_frame_limit, unknown_session_close, unknown_session_call, http_step_without_a_session,
         http_malformed_json, reset_storm_in_one_session, reset_storm_of_connections, client_vanishes_mid_episode,
         client_vanishes_mid_message]


def test_every_bad_input_gets_a_clear_error_and_harms_no_other_session():
    bystander_actions, bystander_obs = expert_actions("alfworld", "valid_seen", "1")
    victim_actions, victim_obs = expert_actions("alfworld", "valid_seen", "2")
    proc, url = bench_serve.start_server("alfworld", max_sessions=MAX_SESSIONS)
    told = {}
    try:
        with PrismGymEnvClient(base_url=url).sync() as bystander:
            bystander.reset(split="valid_seen", instance="1")
            bystander.step(bystander_actions[0])
            victim = Victim(url)
            victim.ask({"type": "reset", "data": {"split": "valid_seen", "instance": "2"}})
            victim.ask({"type": "step", "data": {"action": victim_actions[0]}})
            bystander_state, victim_state = bystander.state(), victim.state()
            baseline = sessions_open(url)
            assert baseline == 2

            for case in CASES:
                told[case.__name__] = case(url, victim)
                assert proc.poll() is None, f"the server died on {case.__name__}"
                with urllib.request.urlopen(url + "/health", timeout=10) as response:
                    assert json.loads(response.read())["status"] == "healthy"
                assert bystander.state() == bystander_state, case.__name__
                assert victim.state() == victim_state, case.__name__
                wait_for_sessions(url, baseline)

            # both episodes finish exactly as in-process play does
            for i, action in enumerate(bystander_actions[1:], start=1):
                assert bystander.step(action).observation.text == bystander_obs[i + 1]
            assert bystander.state().won
            for i, action in enumerate(victim_actions[1:], start=1):
                reply = victim.ask({"type": "step", "data": {"action": action}})
                assert reply["data"]["observation"]["text"] == victim_obs[i + 1]
            assert reply["data"]["done"] and reply["data"]["reward"] == 1.0
            victim.ws.close()
    finally:
        bench_serve.stop_server(proc)
    assert len(told) == len(CASES) == 19
    print(f"\n{len(CASES)} bad inputs tried, server crashes: 0")
    for name, message in told.items():
        print(f"  {name}: {message[:160]}")
