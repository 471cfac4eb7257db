"""Built-in router plugins (imported as ``prism_gym.routers``).

One module per router family, each readable top to bottom; each registers its
routers through the ``prism_gym_routers`` hook exactly as a third-party plugin
would. The shared API is in :mod:`prism_gym.routing`.
"""
