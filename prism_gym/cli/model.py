"""`prism-gym model`: the embedded default model (build, path) and model
directories for ``--model`` (import)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from prism_gym.cli.app import app, console, fail

model_app = typer.Typer(help="The embedded default model, and model directories for --model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("import")
def import_command(path: Path = typer.Argument(..., help="A .gguf file (llama.cpp, Ollama)."),
                   out: Path = typer.Option(..., "--out", help="The model directory to write (must not exist).")):
    """Convert a GGUF file into a float32 safetensors model directory with its tokenizer."""
    from prism_gym.models import import_gguf

    try:
        written = import_gguf(path, out)
    except (FileNotFoundError, FileExistsError, ValueError, ImportError) as exc:
        raise fail(str(exc))
    console.print(f"wrote {written} (use it with --model {written})")


@model_app.command("build")
def model_build(
    force: bool = typer.Option(False, "--force", help="Rebuild even if the cached model exists."),
    seed: int = typer.Option(0, "--seed", help="Build seed (same seed, same weights). The default model is "
                             "seed 0; another seed builds a variant, used by passing its path as --model."),
    overrides: list[str] = typer.Option([], "--set", help="A recipe setting key=value (e.g. train_steps=20000); "
                                        "repeatable. Builds a variant, used by passing its path as --model."),
    device: str = typer.Option(None, "--device", help="Where to pretrain, e.g. cuda (default: CPU)."),
):
    """Rebuild the default model into the cache from its recipe and compare hashes with the shipped one.
    An interrupted build resumes where it stopped."""
    from prism_gym.agents.default_model import (SHIPPED_DIR, BuildSettings, build_default_model, model_dir,
                                                shipped_settings)

    try:
        settings = build_settings(seed, overrides)
    except ValueError as exc:
        raise fail(str(exc))
    if device not in (None, "cpu"):
        import torch

        try:
            torch.empty(1, device=device)
        except (RuntimeError, AssertionError) as exc:
            raise fail(f"--device {device}: {str(exc).splitlines()[0]}")
    path = build_default_model(settings, force=force, progress=True, out_dir=model_dir(settings), device=device)
    console.print(f"default model built: {path}")
    if shipped_settings() == settings:
        built = json.loads((path / "build.json").read_text())["weights_sha256"]
        shipped = json.loads((SHIPPED_DIR / "build.json").read_text())["weights_sha256"]
        same = "identical to" if built == shipped else "different from (another torch build, thread count or device)"
        console.print(f"weights sha256 {built[:16]}... {same} the shipped model's {shipped[:16]}...")
    elif settings != BuildSettings():
        console.print(f"a variant of the default recipe: use it with --model {path}")


def build_settings(seed: int, overrides: list[str]):
    """BuildSettings from ``--seed`` and ``--set key=value`` strings, each value
    read as its field's type; a ValueError names what is wrong."""
    from dataclasses import fields, replace

    from prism_gym.agents.default_model import BuildSettings
    from prism_gym.runner.presets import coerce_setting

    defaults = BuildSettings()
    names = [f.name for f in fields(BuildSettings) if f.name != "seed"]
    changes: dict = {"seed": seed}
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise ValueError(f"--set {item!r}: expected key=value with key one of {', '.join(names)} "
                             "(the seed is --seed)")
        current = getattr(defaults, key)
        try:
            changes[key] = coerce_setting(value, current)
        except ValueError:
            kind = type(current).__name__
            raise ValueError(f"--set {item!r}: {key} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}") from None
    return replace(defaults, **changes)  # BuildSettings checks the values


@model_app.command("path")
def model_path(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Where the default model is: shipped with the package, cached, or not built yet."""
    from prism_gym.agents.default_model import SHIPPED_DIR, BuildSettings, find_default_model, model_dir

    found = find_default_model(BuildSettings())
    path = found or model_dir(BuildSettings())
    where = "shipped" if found == SHIPPED_DIR else ("built" if found else "not built")
    if as_json:
        typer.echo(json.dumps({"path": str(path), "built": found is not None, "where": where}))
    else:
        hint = "" if found else ": `prism-gym model build`"
        console.print(f"{path} ({where}{hint})")
