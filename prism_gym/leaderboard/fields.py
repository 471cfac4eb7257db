"""A small declarative checker for JSON data.

Each field type checks a value and appends one readable problem per fault,
prefixed with the value's dotted path (``metrics.per_split.valid_seen.score``),
so ``leaderboard validate`` can print one line per problem. Objects are strict
by default: unknown keys are problems, which keeps a versioned schema honest.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Field:
    """Base of every field type: the null and type checks are done here, once;
    a subclass names the accepted ``types`` (``kind`` is how a problem says so)
    and checks the rest in :meth:`check_value`."""

    nullable: bool = False
    kind: ClassVar[str] = "a value"
    types: ClassVar[tuple[type, ...]] = (object,)

    def check(self, value: Any, where: str, problems: list[str]) -> None:
        if value is None:
            if not self.nullable:
                problems.append(f"{_at(where)}: is missing a value (null)")
        # bool is a subclass of int: a boolean is a number only where bool is named
        elif not isinstance(value, self.types) or (isinstance(value, bool) and bool not in self.types):
            problems.append(f"{_at(where)}: must be {self.kind}, got {_kind(value)}")
        else:
            self.check_value(value, where, problems)

    def check_value(self, value: Any, where: str, problems: list[str]) -> None:
        """Checks of a non-null value of an accepted type."""


def _at(where: str) -> str:
    return where or "(top level)"


@dataclass
class Num(Field):
    """A finite number in [low, high]; ``integer`` demands a whole number."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    positive: bool = False  # strictly greater than zero
    nullable: bool = False
    kind: ClassVar[str] = "a number"
    types: ClassVar[tuple[type, ...]] = (int, float)

    def check_value(self, value, where, problems):
        if not math.isfinite(value):
            problems.append(f"{_at(where)}: {value} is not a finite number (NaN and Infinity are rejected)")
            return
        if self.integer and not (isinstance(value, int) or float(value).is_integer()):
            problems.append(f"{_at(where)}: must be a whole number, got {value}")
        if self.positive and value <= 0:
            problems.append(f"{_at(where)}: must be greater than 0, got {value}")
        elif self.low is not None and value < self.low:
            kind = "negative" if self.low == 0 else "below the minimum"
            problems.append(f"{_at(where)}: {value} is {kind} (allowed range [{_fmt(self.low)}, {_fmt(self.high)}])")
        if self.high is not None and value > self.high:
            problems.append(f"{_at(where)}: {value} is out of range (allowed range [{_fmt(self.low)}, {_fmt(self.high)}])")


def _fmt(x) -> str:
    if x is None:
        return "inf"
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass
class Str(Field):
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    max_len: int = 200
    nullable: bool = False
    hint: str = ""
    kind: ClassVar[str] = "a string"
    types: ClassVar[tuple[type, ...]] = (str,)

    def check_value(self, value, where, problems):
        if len(value) > self.max_len:
            problems.append(f"{_at(where)}: string of {len(value)} characters is over the limit of {self.max_len}")
            return
        if self.choices is not None and value not in self.choices:
            problems.append(f"{_at(where)}: {value!r} is not one of {', '.join(map(repr, self.choices))}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            problems.append(f"{_at(where)}: {value!r} is not valid{' (' + self.hint + ')' if self.hint else ''}")


@dataclass
class Bool(Field):
    nullable: bool = False
    kind: ClassVar[str] = "true or false"
    types: ClassVar[tuple[type, ...]] = (bool,)


@dataclass
class Scalar(Field):
    """A setting's value: a short string, a finite number, a boolean or null,
    or a short list of those."""

    nullable: bool = True

    def check(self, value, where, problems):
        if isinstance(value, list):
            if len(value) > 64:
                problems.append(f"{_at(where)}: list of {len(value)} items is over the limit of 64")
                return
            for i, item in enumerate(value):
                if isinstance(item, (list, dict)):
                    problems.append(f"{where}[{i}]: settings lists hold plain values only")
                else:
                    Scalar().check(item, f"{where}[{i}]", problems)
            return
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                problems.append(f"{_at(where)}: {value} is not a finite number (NaN and Infinity are rejected)")
            return
        if isinstance(value, str):
            Str(max_len=500).check(value, where, problems)
            return
        problems.append(f"{_at(where)}: must be a string, number, boolean, null or a list of those, got {_kind(value)}")


@dataclass
class Obj(Field):
    """An object with required ``fields`` and ``optional`` ones; other keys are
    problems unless ``extra`` is set (then they are ignored)."""

    fields: dict[str, Field] = field(default_factory=dict)
    optional: dict[str, Field] = field(default_factory=dict)
    extra: bool = False
    nullable: bool = False
    kind: ClassVar[str] = "an object"
    types: ClassVar[tuple[type, ...]] = (dict,)

    def check_value(self, value, where, problems):
        prefix = f"{where}." if where else ""
        for key, spec in self.fields.items():
            if key not in value:
                problems.append(f"{prefix}{key}: missing field")
            else:
                spec.check(value[key], prefix + key, problems)
        for key, spec in self.optional.items():
            if key in value:
                spec.check(value[key], prefix + key, problems)
        if not self.extra:
            for key in value:
                if key not in self.fields and key not in self.optional:
                    problems.append(f"{prefix}{key}: unknown field")


@dataclass
class Map(Field):
    """An object used as a dictionary: keys match ``key_pattern``, values ``value``."""

    value: Field = field(default_factory=Scalar)
    key_pattern: str = r"[A-Za-z0-9][A-Za-z0-9_./:-]{0,99}"
    max_items: int = 200
    nullable: bool = False
    kind: ClassVar[str] = "an object"
    types: ClassVar[tuple[type, ...]] = (dict,)

    def check_value(self, value, where, problems):
        if len(value) > self.max_items:
            problems.append(f"{_at(where)}: {len(value)} keys is over the limit of {self.max_items}")
            return
        for key, item in value.items():
            if not re.fullmatch(self.key_pattern, key):
                problems.append(f"{_at(where)}: key {key!r} has odd characters or length")
                continue
            self.value.check(item, f"{where}.{key}", problems)


@dataclass
class List(Field):
    item: Field = field(default_factory=Scalar)
    min_items: int = 0
    max_items: int = 100
    nullable: bool = False
    kind: ClassVar[str] = "a list"
    types: ClassVar[tuple[type, ...]] = (list,)

    def check_value(self, value, where, problems):
        if not self.min_items <= len(value) <= self.max_items:
            problems.append(f"{_at(where)}: must hold {self.min_items} to {self.max_items} items, got {len(value)}")
            return
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]", problems)
