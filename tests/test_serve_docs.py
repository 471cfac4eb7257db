"""docs/integrations.md's OpenEnv, TRL and verl examples, run as written (the
server on a free port of 127.0.0.1; a micro model for Qwen; fewer episodes).
The verl training command needs GPUs: every key it sets is checked against
verl's own trainer config instead, and the files it names must exist."""
from __future__ import annotations

import contextlib
import importlib.resources
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openenv.core.env_server", reason="needs openenv-core: pip install 'prism-gym[serve]'")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_serve  # noqa: E402

DOC = ROOT / "docs" / "integrations.md"
DOC_URL = "http://127.0.0.1:8000"


def doc_blocks(marker: str) -> list[tuple[str, str]]:
    text = DOC.read_text()
    start, end = text.index(f"<!-- {marker}:start -->"), text.index(f"<!-- {marker}:end -->")
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], re.DOTALL)


def run_python(code: str, namespace: dict | None = None) -> tuple[str, dict]:
    namespace = dict(namespace or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), namespace)
    return out.getvalue(), namespace


def cli_args(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "prism-gym"
    return words[1:]


@pytest.fixture(scope="module")
def served():
    (kind, command), *clients = doc_blocks("openenv-example")
    assert kind == "bash" and "--port 8000" in command
    proc, url = bench_serve.launch(cli_args(command.strip().replace("--port 8000", "--port 0")))
    yield url, clients
    bench_serve.stop_server(proc)


def test_the_openenv_examples_run(served):
    url, clients = served
    assert [kind for kind, _ in clients] == ["python", "python"]
    typed, _ = run_python(clients[0][1].replace(DOC_URL, url))
    assert "put a creditcard in shelf" in typed and re.search(r"won after \d+ steps", typed)
    generic, _ = run_python(clients[1][1].replace(DOC_URL, url))
    assert generic.strip().endswith("0.0 False")


def test_the_trl_example_runs(served, micro_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    monkeypatch.chdir(tmp_path)
    from trl import GRPOConfig

    from test_serve_trl import _tool_calling_micro_lm

    url, _ = served
    ((kind, code),) = doc_blocks("trl-example")
    assert kind == "python" and 'model="Qwen/Qwen3-0.6B"' in code and "GRPOConfig(" in code
    model, tokenizer = _tool_calling_micro_lm(micro_tokenizer)
    small = {"num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 16, "max_steps": 1,
             "report_to": "none", "save_strategy": "no", "use_cpu": True, "bf16": False}
    code = (code.replace(DOC_URL, url)
            .replace('model="Qwen/Qwen3-0.6B"', "model=MODEL, processing_class=TOKENIZER")
            .replace("config = GRPOConfig(", "config = small_config("))
    _, namespace = run_python(code, {"MODEL": model, "TOKENIZER": tokenizer,
                                     "small_config": lambda **kw: GRPOConfig(**{**kw, **small})})
    assert namespace["trainer"].state.global_step == 1
    assert (tmp_path / "grpo-alfworld").is_dir()


def _verl_config():
    pytest.importorskip("verl", reason="needs verl 0.7 (pip install --no-deps verl==0.7.1)")
    from omegaconf import OmegaConf

    path = importlib.resources.files("verl") / "trainer" / "config" / "_generated_ppo_trainer.yaml"
    return OmegaConf.to_container(OmegaConf.load(str(path)), resolve=False)  # keeps '???' (required) values


def test_the_verl_example_exports_what_its_command_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (kind1, export), (kind2, train) = doc_blocks("verl-example")
    assert kind1 == kind2 == "bash"
    for command in export.strip().splitlines():
        command = (command.replace("--episodes 256", "--episodes 8").replace("--router prism", "--router random")
                   .replace(" --model Qwen/Qwen2.5-7B-Instruct", ""))
        subprocess.run([sys.executable, "-m", "prism_gym", *cli_args(command)], check=True, capture_output=True,
                       timeout=300)
    assert (tmp_path / "export" / "rl.parquet").exists() and (tmp_path / "export" / "verl_interaction.yaml").exists()

    config = _verl_config()
    text = train.replace("\\\n", " ")
    reward_path = re.search(r'\$\((python -c "[^"]*")\)', text)  # the shell substitution, run below
    words = shlex.split(text.replace(reward_path.group(0), "REWARD_FILE"))
    assert words[:3] == ["python", "-m", "verl.trainer.main_ppo"]
    settings = dict(word.split("=", 1) for word in words[3:])
    for key in settings:
        node = config
        for part in key.split("."):
            assert part in node, f"verl 0.7.1's trainer config has no {key}"
            node = node[part]
    for key in ("data.train_files", "data.val_files", "actor_rollout_ref.rollout.multi_turn.interaction_config_path"):
        assert (tmp_path / settings[key]).exists(), key
    assert settings["reward.custom_reward_function.path"] == "REWARD_FILE"
    reward_file = subprocess.run(shlex.split(reward_path.group(1).replace("python", sys.executable, 1)), check=True,
                                 capture_output=True, text=True).stdout.strip()
    assert reward_file.endswith("prism_gym/verl_reward.py") and Path(reward_file).exists()
    assert settings["reward.custom_reward_function.name"] == "compute_score"
    assert settings["actor_rollout_ref.rollout.agent.default_agent_loop"] == "tool_agent"
