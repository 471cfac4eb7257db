"""Where an env's games come from: a generated split, an ALFWorld data
directory, or an explicit list of ``game.tw-pddl`` files.

Each source is an ordered list of instances (strings) with a way to build the
game of one instance and to describe it as a :class:`prism_gym.records.Task`
without building it.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from prism_gym.envs.alfworld.game import Game
from prism_gym.envs.alfworld.tables import DEFAULT_DIALECT, TASK_TYPES, normalize_task_types
from prism_gym.records import Task

ENV_NAME = "alfworld"


@lru_cache(maxsize=64)
def _generated_indices(split: str, seed: int, size: int, task_types: tuple[str, ...]) -> tuple[int, ...]:
    from prism_gym.envs.alfworld.generator import game_spec

    if task_types == TASK_TYPES:
        return tuple(range(size))
    return tuple(i for i in range(size) if game_spec(split, i, seed).task_type in task_types)


class GeneratedSource:
    """Games ``0..size-1`` of a generated split, filtered by task type."""

    def __init__(self, split: str, task_types=None, seed: int = 0, num_games: int | None = None,
                 dialect: str = DEFAULT_DIALECT):
        from prism_gym.envs.alfworld.generator import split_size

        self.split, self.seed, self.dialect = split, int(seed), dialect
        self.task_types = normalize_task_types(task_types)
        self.size = split_size(split, num_games)
        if self.size < 0:
            raise ValueError(f"num_games must be >= 0, not {self.size}")
        self.instances = [str(i) for i in _generated_indices(split, self.seed, self.size, self.task_types)]
        if not self.instances:
            raise ValueError(f"split {split!r} has no games of task types {list(self.task_types)}")

    def index_of(self, instance: str) -> int:
        try:
            i = int(instance)
        except ValueError:
            raise ValueError(f"instance {instance!r} of generated split {self.split!r} is not a game index") from None
        if not 0 <= i < self.size:
            raise ValueError(f"game index {i} is outside split {self.split!r} (0-{self.size - 1})")
        return i

    def game(self, instance: str) -> Game:
        from prism_gym.envs.alfworld.generator import generate_game

        # games are verified against the original's 50-step limit whatever the env's limit is
        return generate_game(self.split, self.index_of(instance), self.seed, self.dialect)

    def task(self, instance: str) -> Task:
        from prism_gym.envs.alfworld.generator import game_spec

        spec = game_spec(self.split, self.index_of(instance), self.seed)
        return Task(env=ENV_NAME, split=self.split, instance=str(instance), task_type=spec.task_type,
                    goal=spec.goal.sentence)


class FileSource:
    """``game.tw-pddl`` files, in the given order (instances are the paths)."""

    def __init__(self, paths, split: str = "custom", task_types=None):
        self.split = split
        self.task_types = normalize_task_types(task_types)
        self.paths = [str(Path(p)) for p in paths]
        if not self.paths:
            raise ValueError("game_files is empty")
        for p in self.paths:
            if not Path(p).is_file():
                raise FileNotFoundError(f"ALFWorld game file not found: {p}")
        if task_types is None:
            self.instances = list(self.paths)
        else:
            self.instances = [p for p in self.paths if self._load(p).goal.task_type in self.task_types]
            if not self.instances:
                raise ValueError(f"no game file has task types {list(self.task_types)}")

    @staticmethod
    @lru_cache(maxsize=256)
    def _load(path: str) -> Game:
        from prism_gym.envs.alfworld.pddl import load_game_file

        return load_game_file(path)

    def _path(self, instance: str) -> str:
        if instance in self.instances:
            return instance
        if instance.isdigit() and int(instance) < len(self.instances):
            return self.instances[int(instance)]
        raise ValueError(f"instance {instance!r} is neither a listed game file nor an index below "
                         f"{len(self.instances)}")

    def game(self, instance: str) -> Game:
        return self._load(self._path(instance))

    def task(self, instance: str) -> Task:
        game = self.game(instance)
        return Task(env=ENV_NAME, split=self.split, instance=self._path(instance), task_type=game.goal.task_type,
                    goal=game.goal.sentence)


def make_source(split: str, *, task_types=None, seed: int = 0, num_games: int | None = None,
                data_dir=None, game_files=None, dialect: str = DEFAULT_DIALECT):
    """The source an env or a task listing uses for ``split``. ``dialect`` is the
    text version of generated games; game files play in their own grammar's."""
    if game_files is not None:
        if isinstance(game_files, (str, Path)):
            game_files = [game_files]
        return FileSource(game_files, split=split or "custom", task_types=task_types)
    if data_dir is not None:
        from prism_gym.envs.alfworld.dataset import split_game_files

        files = split_game_files(data_dir, split, task_types=task_types, num_games=num_games)
        return FileSource(files, split=split)
    return GeneratedSource(split, task_types=task_types, seed=seed, num_games=num_games, dialect=dialect)
