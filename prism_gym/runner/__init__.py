"""The shared SFT -> RL runner behind `prism-gym bench`: presets, stages,
compute ledger, resume and matrix runs (docs/runner.md)."""
from prism_gym.runner.presets import (BASELINES, PRESETS, ConfigError, RunConfig, apply_overrides, make_config,
                                      parse_router_options)

__all__ = ["BASELINES", "PRESETS", "ConfigError", "RunConfig", "apply_overrides", "make_config",
           "parse_router_options", "BenchRun"]


def __getattr__(name):
    # BenchRun pulls in the stage modules; keep `import prism_gym.runner` light.
    if name == "BenchRun":
        from prism_gym.runner.run import BenchRun

        return BenchRun
    raise AttributeError(name)
