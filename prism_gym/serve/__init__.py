"""prism-gym's envs served over OpenEnv (``openenv-core``), for trainers that run
elsewhere: ``prism-gym serve --env alfworld --port 8000``.

- :mod:`.models`: the wire types (action, observation, state);
- :mod:`.environment`: any prism-gym Gymnasium env as an OpenEnv ``Environment``;
- :mod:`.app`: the FastAPI app (OpenEnv's ``HTTPEnvServer``) and the uvicorn loop;
- :mod:`.client`: OpenEnv's ``EnvClient`` typed for these envs;
- :mod:`.trl_env`: the served env as a TRL ``environment_factory`` class.

Nothing here is imported by the CLI at start-up: ``openenv``, ``fastapi`` and
``uvicorn`` load only when a server or client is built (``pip install 'prism-gym[serve]'``).
"""
