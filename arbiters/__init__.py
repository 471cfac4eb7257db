"""Built-in arbiters (imported as ``prism_gym.arbiters``): routing decided at
every RL update, during training (see :mod:`prism_gym.arbitration`).

- ``hpt``: HPT's per-prompt gate on the number of correct rollouts;
- ``relift``: RL, with SFT on buffered demonstrations of tasks the policy fails;
- ``prism-reprobe``: PRISM's concentration split, re-probed on the current policy.

Each module registers its arbiter through the ``prism_gym_arbiters`` hook,
exactly as a third-party plugin does.
"""
