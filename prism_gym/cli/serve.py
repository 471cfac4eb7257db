"""`prism-gym serve`: an env as an OpenEnv server, for trainers that run elsewhere
(docs/integrations.md). openenv, fastapi and uvicorn are imported inside the
command, so the CLI's start-up does not pay for them."""
from __future__ import annotations

import typer

from prism_gym.cli.app import app, console, fail

SERVE_EXTRA = "pip install 'prism-gym[serve]'"


@app.command("serve")
def serve_command(
    env: str = typer.Option(..., "--env", help="Environment to serve: alfworld, webshop (or a plugin's env)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port; 0 picks a free one."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    max_sessions: int = typer.Option(256, "--max-sessions", min=1, help="Most clients served at once; "
                                     "one more is refused with CAPACITY_REACHED."),
):
    """Serve an env over OpenEnv: one session (one env) per WebSocket client, with
    reset, step and state; observations carry the admissible actions and the task."""
    try:
        from prism_gym.serve.app import bind, build_app, run
    except ImportError as exc:
        raise fail(f"`serve` needs openenv-core ({exc.name} is not installed): {SERVE_EXTRA}")
    from prism_gym.plugins import PluginError

    try:
        server_app = build_app(env, max_sessions=max_sessions)
    except PluginError as exc:
        raise fail(str(exc))
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    # One line a script can read the port from (`--port 0`), printed before serving.
    console.print(f"serving {env} on http://{shown}:{bound_port} (OpenEnv; sessions on ws://{shown}:{bound_port}/ws)",
                  soft_wrap=True, highlight=False)
    try:
        run(server_app, sock)
    except KeyboardInterrupt:
        pass
