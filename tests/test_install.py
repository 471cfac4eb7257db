"""A non-editable install gives working, namespaced imports."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_non_editable_install_imports(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True)
    top_level = sorted(p.name for p in target.iterdir() if not p.name.endswith((".dist-info", "__pycache__")))
    assert "prism_gym" in top_level
    assert not {"envs", "routers", "algorithms", "agents", "trackers", "arbiters", "tests"} & set(top_level), top_level  # nothing generic at the top
    code = ("import prism_gym, prism_gym.envs, prism_gym.routers, prism_gym.agents, prism_gym.routers.baselines;"
            "import prism_gym.algorithms.gigpo;"
            "from prism_gym.plugins import PluginRegistry;"
            "r = PluginRegistry(load_entry_points=False);"
            "assert not r.failures, [str(f) for f in r.failures];"
            "assert {'grpo', 'gigpo', 'rloo'} <= set(r.algorithms());"
            "assert {'tensorboard', 'wandb', 'mlflow'} <= set(r.trackers());"
            "assert {'hpt', 'relift', 'prism-reprobe'} <= set(r.arbiters());"
            "print(prism_gym.envs.__file__)")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(target))
