"""The served env: OpenEnv's FastAPI app for one prism-gym env, and the loop
that runs it.

Sessions are OpenEnv's WebSocket sessions (``/ws``, what ``EnvClient`` opens):
one env per connection, dropped when the connection goes. The HTTP ``/reset``
and ``/step`` routes are OpenEnv's stateless ones (a fresh env per request), so
an HTTP ``/step`` has no episode and says so. ``/sessions`` reports how many
sessions are open, for operators and the load test.
"""
from __future__ import annotations

import functools
import socket
from typing import Any, Optional

DEFAULT_MAX_SESSIONS = 256


def build_app(env_name: str, *, max_sessions: int = DEFAULT_MAX_SESSIONS,
              env_kwargs: Optional[dict[str, Any]] = None):
    """The FastAPI app serving ``env_name`` to at most ``max_sessions`` clients at once."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from openenv.core.env_server.http_server import HTTPEnvServer

    from prism_gym.plugins import get_registry
    from prism_gym.serve.environment import PrismGymEnvironment, SessionError
    from prism_gym.serve.models import TextAction, TextObservation

    spec = get_registry().env(env_name)  # an unknown env fails here, before the port opens
    factory = functools.partial(PrismGymEnvironment, spec.name, env_kwargs=dict(env_kwargs or {}))
    app = FastAPI(title=f"prism-gym {spec.id} (OpenEnv)", description=spec.summary)
    server = HTTPEnvServer(factory, TextAction, TextObservation, max_concurrent_envs=max_sessions)
    server.register_routes(app)
    app.state.env_server = server

    @app.exception_handler(SessionError)
    async def _session_error(request, exc: SessionError):
        # Without this a stateless HTTP /step would answer a bare 500.
        return JSONResponse(status_code=409, content={"detail": f"{exc} (HTTP /step is stateless: "
                                                                "play an episode over the /ws session)"})

    @app.get("/sessions", tags=["Health"], summary="Open sessions and the limit")
    async def _sessions() -> dict:
        status = server.get_capacity_status()
        return {"active_sessions": status.active_sessions, "max_sessions": status.max_sessions}

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), bound before
    the server starts so that the real port can be printed first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run(app, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve ``app`` on ``sock`` until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, log_level=log_level)).run(sockets=[sock])
