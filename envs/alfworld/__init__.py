"""ALFWorld: a native, pure-Python re-implementation of the text household game.

Modules, one job each:

- :mod:`.tables` the vocabularies and compatibility tables of the original;
- :mod:`.game` the static description of one game (ids, names, initial facts, goal);
- :mod:`.engine` the text engine (commands, feedback, admissible list, win check);
- :mod:`.generator` procedural games and the named splits;
- :mod:`.expert` the handcoded expert; :mod:`.metrics` success and goal-condition success;
- :mod:`.pddl` ``game.tw-pddl`` in and out; :mod:`.dataset` ``$ALFWORLD_DATA`` splits;
- :mod:`.env` the Gymnasium env; :mod:`.tasks` task listing; :mod:`.plugin` registration.
"""
