"""The leaderboard: a versioned entry schema, and the ``submit``, ``validate``,
``render`` and ``verify`` operations behind ``prism-gym leaderboard``.

Entries are JSON data only: they are parsed with size limits and checked
field by field, never executed, imported or unpickled. Modules here import
nothing heavy at start-up (matplotlib and torch load inside the functions
that draw or evaluate).
"""
from prism_gym.leaderboard.loading import LeaderboardError
from prism_gym.leaderboard.schema import ENTRY_SCHEMA_VERSION, RESULT_SCHEMA_VERSION, entry_problems, result_problems

__all__ = ["LeaderboardError", "ENTRY_SCHEMA_VERSION", "RESULT_SCHEMA_VERSION", "entry_problems", "result_problems"]
