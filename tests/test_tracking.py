"""Experiment tracking and the run's hooks, on one real micro `bench` run.

The run is docs/integrations.md's command (small settings appended) with
``--report-to tensorboard,wandb,mlflow`` and a third-party logging plugin
installed from tests/fixtures. Nothing contacts a server: W&B runs offline,
MLflow writes a local file store, TensorBoard writes event files, all under
a temporary folder. What each tracker logged is read back through its own
reader and compared with the run's own curves.json, eval/metrics.json and
result.json."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_registration import plugin_registered
from test_runner import EchoPlugin
from typer.testing import CliRunner

from prism_gym import hookimpl
from prism_gym.specs import TrackerSpec

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integrations.md"
MICRO_SETTINGS = ["expert.trajectories=4", "sft.epochs=2", "sft.batch_size=2", "rl.iterations=2",
                  "rl.tasks_per_iteration=2", "rl.group_size=2", "rl.max_steps=2", "rl.max_new_tokens=6",
                  "eval.episodes=2", "eval.max_steps=2", "eval.max_new_tokens=6"]


def offline_trackers(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Every tracker writes under ``root`` and nothing phones home: W&B
    offline and without error reports, MLflow's file store without its
    usage telemetry."""
    mp.setenv("WANDB_DIR", str(root))
    mp.setenv("WANDB_SILENT", "true")
    mp.setenv("WANDB_ERROR_REPORTING", "false")
    mp.setenv("MLFLOW_TRACKING_URI", f"file:{root / 'mlruns'}")
    mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store only on request
    mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mp.setenv("DO_NOT_TRACK", "true")


def doc_blocks() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index("<!-- tracking-example:start -->"), text.index("<!-- tracking-example:end -->")
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], re.DOTALL)


def doc_command() -> tuple[dict, list[str]]:
    """The documented bench command: its environment assignments and its arguments."""
    (line,) = [code.strip() for lang, code in doc_blocks() if lang == "bash"]
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[:2] == ["prism-gym", "bench"], line
    return env, words[1:]


@pytest.fixture(scope="module")
def logger_site(tmp_path_factory):
    """The fixture logging plugin, pip-installed (real metadata and entry point)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT / "tests" / "fixtures" / "example_logger_plugin")],
                   check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory, micro_tokenizer, logger_site):
    """``(run_dir, tmp root)`` of the documented command on a micro model."""
    from prism_gym.cli import app
    from prism_gym.models import micro_model

    root = tmp_path_factory.mktemp("tracked")
    model_dir = root / "model"
    micro_model(micro_tokenizer, hidden_size=32, layers=2).save_pretrained(model_dir)
    micro_tokenizer.save_pretrained(model_dir)
    env, args = doc_command()
    assert env == {"WANDB_MODE": "offline"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        offline_trackers(mp, root)
        mp.syspath_prepend(str(logger_site))  # where the registry finds the logger's entry point
        with plugin_registered(EchoPlugin, "echo-test") as registry:
            assert "example_logger" in registry.info, [str(f) for f in registry.failures]
            # later options win: the documented command, on the echo env and the micro model
            micro = ["--env", "echo", "--model", str(model_dir), "--runs-root", str(root / "runs"), "--quiet"]
            for setting in MICRO_SETTINGS:
                micro += ["--set", setting]
            out = CliRunner().invoke(app, args + micro)
            assert out.exit_code == 0, out.output
    (run_dir,) = [p.parent for p in (root / "runs").glob("*/result.json")]
    return run_dir, root


def expected_metrics(run_dir: Path) -> dict[tuple[str, int | None], float]:
    """``{(metric, step): value}`` as the run's own files hold them (step None: measured once)."""
    curves = json.loads((run_dir / "curves.json").read_text())
    metrics = json.loads((run_dir / "eval" / "metrics.json").read_text())
    result = json.loads((run_dir / "result.json").read_text())
    out = {}

    def add(section, values, step=None, skip=()):
        for name, value in values.items():
            if name not in skip and isinstance(value, (bool, int, float)):
                out[(f"{section}/{name}", step)] = float(value)

    for point in curves["sft"]:
        add("sft", point, point["step"], skip=("step",))
    for row in curves["rl"]:
        add("rl", row, row["iteration"] + 1, skip=("iteration",))
    for split, values in curves["eval"].items():
        add(f"eval/{split}", values)
    for task_type, values in metrics["per_task_type"].items():
        add(f"eval/task_type/{task_type}", values)
    add("eval", {"success_rate": metrics["success_rate"], "score": metrics["score"]})
    for stage, cost in result["ledger"]["stages"].items():
        add(f"ledger/{stage}", cost)
    add("ledger/total", result["ledger"]["total"])
    assert len(curves["sft"]) >= 3 and len(curves["rl"]) == 2 and len(curves["eval"]) == 2
    return out


def assert_logged(logged: dict, expected: dict, once_at=None) -> None:
    """Every expected value is in ``logged``; numbers measured once are looked
    up at step ``once_at`` (TensorBoard and MLflow keep them at step 0)."""
    missing = []
    for (key, step), value in expected.items():
        where = (key, once_at if step is None else step)
        if where not in logged:
            missing.append(where)
        else:
            assert logged[where] == pytest.approx(value, rel=1e-12, abs=1e-12), where
    assert not missing, missing


def eval_tasks(run_dir: Path, split: str) -> list[str]:
    from prism_gym.records import read_trajectories

    return [t.task.id for t in read_trajectories(run_dir / "eval" / "trajectories" / f"{split}.jsonl")][:8]


def flat_config(run_dir: Path) -> dict:
    from prism_gym.tracking import flat_settings

    return flat_settings(json.loads((run_dir / "config.json").read_text()))


# -- the run's hooks ------------------------------------------------------------------

def test_a_logging_plugin_hears_every_stage_of_a_real_run(tracked_run):
    from prism_gym.runner.run import STAGES

    run_dir, _ = tracked_run
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "run_started" and events[0]["env"] == "echo"
    assert events[-1]["event"] == "run_finished" and events[-1]["error"] is None
    result = json.loads((run_dir / "result.json").read_text())
    assert events[-1]["success_rate"] == result["metrics"]["success_rate"]
    started = [e["stage"] for e in events if e["event"] == "stage_started"]
    finished = [e["stage"] for e in events if e["event"] == "stage_finished"]
    assert started == finished == list(STAGES)
    for stage in STAGES:  # each stage's metrics come between its start and its end
        first = events.index({"event": "stage_started", "stage": stage})
        last = next(i for i, e in enumerate(events) if e["event"] == "stage_finished" and e["stage"] == stage)
        assert first < last
    sections = {e["section"] for e in events if e["event"] == "metrics"}
    assert {"sft", "rl", "eval", "eval/valid_seen", "eval/valid_unseen", "ledger/total",
            "stages/expert", "stages/probe"} <= sections
    assert {e["split"] for e in events if e["event"] == "episodes"} == {"valid_seen", "valid_unseen"}


# -- each tracker, read back ----------------------------------------------------------

def test_tensorboard_event_files_read_back_equal_to_the_run(tracked_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.util.tensor_util import make_ndarray

    run_dir, _ = tracked_run
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    logged, texts = {}, {}
    for tag in events.Tags()["tensors"]:
        plugin = events.SummaryMetadata(tag).plugin_data.plugin_name
        for e in events.Tensors(tag):
            value = make_ndarray(e.tensor_proto)
            if plugin == "scalars":
                logged[(tag, e.step)] = float(value)
            elif plugin == "text":
                texts[tag] = value.item().decode()
    assert_logged(logged, expected_metrics(run_dir), once_at=0)
    for split in ("valid_seen", "valid_unseen"):
        table = texts[f"episodes/{split}/text_summary"].splitlines()
        assert table[0].startswith("| task | task_type | goal | won |")
        assert [row.split(" | ")[0].lstrip("| ") for row in table[2:]] == eval_tasks(run_dir, split)
    (start,) = [c for tag, c in events.PluginTagToContent("hparams").items() if tag.endswith("session_start_info")]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(start).session_start_info.hparams
    config = flat_config(run_dir)
    assert hparams["sft.epochs"].number_value == config["sft.epochs"]
    assert hparams["env"].string_value == "echo"
    assert set(hparams) == set(config)


def test_mlflow_run_reads_back_equal_to_the_run(tracked_run, monkeypatch):
    from mlflow.tracking import MlflowClient

    run_dir, root = tracked_run
    offline_trackers(monkeypatch, root)
    client = MlflowClient(tracking_uri=f"file:{root / 'mlruns'}")
    experiment = client.get_experiment_by_name("prism-gym")
    (run,) = client.search_runs([experiment.experiment_id], f"attributes.run_name = '{run_dir.name}'")
    assert run.info.status == "FINISHED"
    expected = expected_metrics(run_dir)
    logged = {}
    for key in {k for k, _ in expected}:
        for m in client.get_metric_history(run.info.run_id, key):
            logged[(key, m.step)] = m.value
    assert_logged(logged, expected, once_at=0)
    assert run.data.params == {k: str(v) for k, v in flat_config(run_dir).items()}
    for split in ("valid_seen", "valid_unseen"):
        path = client.download_artifacts(run.info.run_id, f"episodes/{split}.json", str(root))
        table = json.loads(Path(path).read_text())
        assert table["columns"][:4] == ["task", "task_type", "goal", "won"]
        assert [row[0] for row in table["data"]] == eval_tasks(run_dir, split)


def test_wandb_offline_run_reads_back_equal_to_the_run(tracked_run):
    from wandb_offline import read_run

    run_dir, root = tracked_run
    (run_file,) = root.glob("wandb/offline-run-*/run-*.wandb")
    run = read_run(run_file)
    logged = {}
    for row in run["history"]:
        for section in ("sft", "rl"):
            if f"{section}/step" in row:
                for key, value in row.items():
                    if key.startswith(f"{section}/") and key != f"{section}/step":
                        logged[(key, row[f"{section}/step"])] = value
    for key, value in run["summary"].items():
        if isinstance(value, (int, float)):
            logged[(key, None)] = value
    expected = expected_metrics(run_dir)
    curves = {k: v for k, v in expected.items() if k[1] is not None}
    assert_logged(logged, curves)
    assert_logged(logged, {k: v for k, v in expected.items() if k[1] is None})
    config = json.loads((run_dir / "config.json").read_text())
    assert {k: v["value"] if isinstance(v, dict) and "value" in v else v
            for k, v in run["config"].items() if not k.startswith("_")} == config
    for split in ("valid_seen", "valid_unseen"):
        (table_file,) = run_file.parent.glob(f"files/media/table/episodes/{split}_*.table.json")
        table = json.loads(table_file.read_text())
        assert [row[0] for row in table["data"]] == eval_tasks(run_dir, split)


def test_documented_python_reads_the_logs_back(tracked_run, monkeypatch, capsys):
    run_dir, root = tracked_run
    (code,) = [code for lang, code in doc_blocks() if lang == "python"]
    code = code.replace('"runs/alfworld-random-tiny-s0"', repr(str(run_dir)))
    offline_trackers(monkeypatch, root)
    exec(compile(code, str(DOC), "exec"), {})
    printed = capsys.readouterr().out
    curves = json.loads((run_dir / "curves.json").read_text())
    assert f"(1, {curves['rl'][0]['mean_return']!r})" in printed
    assert f"success {json.loads((run_dir / 'result.json').read_text())['metrics']['success_rate']!r}" in printed


# -- choosing trackers ----------------------------------------------------------------

class GhostTracker:
    """A third-party tracker whose library is not installed."""

    @staticmethod
    @hookimpl
    def prism_gym_trackers():
        return [TrackerSpec("ghost", "ghost_tracker:Ghost", requires=("prism_gym_ghost_library",),
                            install="ghost-tracker[prism]")]


def _bench(args):
    from prism_gym.cli import app

    return CliRunner().invoke(app, ["bench", "--router", "random", "--env", "echo", "--validate-only", *args])


def test_unknown_or_uninstalled_trackers_are_refused_before_any_stage(monkeypatch):
    import importlib.util

    with plugin_registered(EchoPlugin, "echo-test") as registry:
        registry.register_plugin(GhostTracker, name="ghost")
        out = _bench(["--report-to", "tensorboard,nope"])
        assert out.exit_code == 1 and "unknown tracker 'nope'; known: ghost, mlflow, tensorboard, wandb" in out.output
        out = _bench(["--report-to", "ghost"])
        assert out.exit_code == 1
        assert ("tracker 'ghost' needs prism_gym_ghost_library, which is not installed: "
                "pip install 'ghost-tracker[prism]'") in out.output
        out = _bench(["--report-to", "none,wandb"])
        assert out.exit_code == 1 and "cannot be combined" in out.output
        # a built-in whose library is absent names its extra
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
        out = _bench(["--report-to", "wandb"])
        assert out.exit_code == 1 and "pip install 'prism-gym[wandb]'" in out.output
        assert _bench(["--report-to", "none"]).exit_code == 0


def test_a_tracker_import_is_guarded():
    from prism_gym.tracking import TrackerUnavailable, require

    spec = GhostTracker.prism_gym_trackers()[0]
    with pytest.raises(TrackerUnavailable, match=r"pip install 'ghost-tracker\[prism\]'"):
        require("prism_gym_ghost_library", spec)


def test_report_to_changes_no_record_or_fingerprint():
    from prism_gym.runner.presets import RunConfig, make_config

    with plugin_registered(EchoPlugin, "echo-test"):
        plain = make_config("tiny", "echo", "random")
        tracked = make_config("tiny", "echo", "random", report_to=("tensorboard", "wandb")).validate()
    assert tracked.to_dict() == plain.to_dict() and "report_to" not in plain.to_dict()
    assert tracked.fingerprint() == plain.fingerprint()
    assert RunConfig.from_dict(dict(plain.to_dict(), report_to=["mlflow"])).report_to == ("mlflow",)


def test_cli_start_up_imports_no_tracker_library():
    code = ("import sys, prism_gym.cli; from prism_gym.plugins import get_registry; r = get_registry(); "
            "assert {'tensorboard', 'wandb', 'mlflow'} <= set(r.trackers()), r.failures; "
            "print(sorted(m for m in ('tensorboard', 'wandb', 'mlflow', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- trackers as plugins ----------------------------------------------------------------

def _doc_tracker_module():
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index("<!-- tracker-plugin:start -->"), text.index("<!-- tracker-plugin:end -->")
    (code,) = re.findall(r"```python\n(.*?)```", text[start:end], re.DOTALL)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


class _Broken:
    """Trackers that fail: one on opening, one on its first metric."""

    @staticmethod
    @hookimpl
    def prism_gym_trackers():
        def cannot_open(run_dir, config):
            raise RuntimeError("no server")

        class FailsToLog(_doc_tracker_module()["PrintTracker"]):
            def log_metrics(self, section, step, metrics):
                raise RuntimeError("connection lost")

        return [TrackerSpec("unreachable", cannot_open), TrackerSpec("flaky", FailsToLog)]


def test_the_documented_tracker_plugin_hears_a_run(tmp_path, capsys):
    from prism_gym.runner.events import RunEvents

    module = _doc_tracker_module()

    class Plugin:
        prism_gym_trackers = staticmethod(module["prism_gym_trackers"])

    with plugin_registered(Plugin, "print-tracker") as registry:
        events = RunEvents(tmp_path, report_to=("print",))
        events.start({"env": "echo"})
        events.rl_update({"iteration": 0, "mean_return": 0.5, "algorithm": "grpo", "no_signal": False})
        events.episodes("valid_seen", [])
        assert events.finish({"metrics": {}}, None) == []
        assert not [n for n in registry.pm.list_name_plugin() if n[0].startswith("tracker:")]  # detached
    assert capsys.readouterr().out.splitlines() == ["rl/mean_return 1 0.5", "rl/no_signal 1 0",
                                                    "valid_seen 0 episodes", "done"]


def test_a_tracker_that_fails_stops_the_run_only_when_it_cannot_open(tmp_path, capsys):
    from prism_gym.runner.events import RunEvents

    module = _doc_tracker_module()

    class Plugin:
        prism_gym_trackers = staticmethod(module["prism_gym_trackers"])

    with plugin_registered(Plugin, "print-tracker") as registry:
        registry.register_plugin(_Broken, name="broken-trackers")
        events = RunEvents(tmp_path, report_to=("print", "unreachable"))
        with pytest.raises(RuntimeError, match="no server"):
            events.start({})
        assert capsys.readouterr().out.splitlines() == ["failed"]  # the one already open was closed
        events = RunEvents(tmp_path, report_to=("flaky",))
        events.start({})
        events.metrics("eval", {"success_rate": 0.25})
        failures = events.finish({"metrics": {}}, None)
        assert len(failures) == 1 and "connection lost" in failures[0]
        assert capsys.readouterr().out.splitlines() == ["done"]  # closed all the same
