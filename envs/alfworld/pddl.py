"""``game.tw-pddl`` files in and out.

A ``game.tw-pddl`` file is a JSON object with the PDDL domain, the text grammar
(with the goal sentence in its ``task`` rule), the PDDL problem, ``solvable``
and ``walkthrough``. :func:`load_game_file` parses one into a
:class:`Game`; :func:`export_game` writes a game in that format so that the
original engine (the optional ``alfworld`` package) loads and plays it.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from prism_gym.envs.alfworld.game import Game, Goal
from prism_gym.envs.alfworld.tables import CAN_CONTAIN, TOGGLEABLE
from prism_gym.fileio import read_json

# CamelCase type names by their lowercase form (PDDL is case-insensitive and
# TextWorld lowercases what it parses).
_KNOWN_TYPES = set(CAN_CONTAIN) | {t for ts in CAN_CONTAIN.values() for t in ts} | set(TOGGLEABLE) | {
    "Towel", "Pillow", "Laptop", "BaseballBat", "TennisRacket", "Plunger", "Sink", "Bathtub", "Faucet",
    "PaperTowelRoll", "Window", "LightSwitch", "StoveKnob", "Chair", "Blinds", "Painting", "HousePlant",
    "Television", "Curtains", "Mirror", "Poster", "ShowerDoor", "ShowerGlass", "TeddyBear", "Boots",
    "Footstool", "LaundryHamperLid", "ScrubBrush", "PaintingHanger"}
_TYPE_CASE = {t.lower(): t for t in _KNOWN_TYPES}


def _type_name(pddl_type: str) -> str:
    base = pddl_type[:-4] if pddl_type.lower().endswith("type") else pddl_type
    return _TYPE_CASE.get(base.lower(), base)


# -- s-expressions ---------------------------------------------------------------
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse_sexpr(text: str):
    """Parse PDDL text into nested lists of lowercase atoms (comments dropped)."""
    text = re.sub(r";[^\n]*", "", text)
    stack: list[list] = [[]]
    for tok in _TOKEN.findall(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise ValueError("unbalanced ')' in PDDL text")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok.lower())
    if len(stack) != 1:
        raise ValueError("unbalanced '(' in PDDL text")
    return stack[0]


def _section(problem: list, name: str) -> list:
    for item in problem:
        if isinstance(item, list) and item and item[0] == name:
            return item[1:]
    raise ValueError(f"PDDL problem has no {name} section")


def _typed_names(items: list) -> dict[str, str]:
    """``a b - t c - u`` -> {a: t, b: t, c: u}."""
    result, pending = {}, []
    i = 0
    while i < len(items):
        tok = items[i]
        if tok == "-":
            for name in pending:
                result[name] = items[i + 1]
            pending = []
            i += 2
            continue
        pending.append(tok)
        i += 1
    for name in pending:
        result[name] = "object"
    return result


def _atoms(expr) -> list[list]:
    """Every predicate atom inside a goal formula, with its polarity ignored."""
    if not isinstance(expr, list) or not expr:
        return []
    head = expr[0]
    if head in ("and", "or", "not"):
        return [a for sub in expr[1:] for a in _atoms(sub)]
    if head in ("exists", "forall"):
        return [a for sub in expr[2:] for a in _atoms(sub)]
    return [expr]


def goal_from_formula(goal_expr) -> tuple[str, str, str, str]:
    """(task type, object type, parent type, toggle type) of an ALFWorld goal formula."""
    atoms = _atoms(goal_expr)
    var_type = {a[1]: _type_name(a[2]) for a in atoms if a[0] in ("objecttype", "receptacletype") and len(a) == 3}
    preds = {a[0] for a in atoms}
    held = [a[2] for a in atoms if a[0] == "holds" and len(a) == 3]
    if "istoggled" in preds and held:
        lamp = next(a[1] for a in atoms if a[0] == "istoggled")
        return "look_at_obj_in_light", var_type.get(held[0], ""), "", var_type.get(lamp, "")
    placed = [a for a in atoms if a[0] == "inreceptacle" and len(a) == 3]
    if not placed:
        raise ValueError("goal formula names no inReceptacle condition")
    obj_type, parent = var_type.get(placed[0][1], ""), var_type.get(placed[0][2], "")
    if len({a[1] for a in placed}) >= 2:
        return "pick_two_obj_and_place", obj_type, parent, ""
    for pred, task in (("isclean", "pick_clean_then_place_in_recep"), ("ishot", "pick_heat_then_place_in_recep"),
                       ("iscool", "pick_cool_then_place_in_recep")):
        if pred in preds:
            return task, obj_type, parent, ""
    return "pick_and_place_simple", obj_type, parent, ""


_TASK_RULE = re.compile(r'"task"\s*:\s*\[\s*\{\s*"rhs"\s*:\s*"Your task is to: (.*?)\."\s*\}', re.S)


def goal_sentence(grammar: str) -> str:
    """The goal sentence of a grammar's ``task`` rule (without the final period)."""
    m = _TASK_RULE.search(grammar)
    if not m:
        raise ValueError("grammar has no 'task' rule of the form \"Your task is to: ...\"")
    return json.loads(f'"{m.group(1)}"')


def grammar_dialect(grammar: str) -> str:
    """``2.1.1`` for grammars with ``put {o} in/on {r}``, else ``2.1.2``."""
    return "2.1.1" if "put {o} in/on {r}" in grammar else "2.1.2"


# -- loading ----------------------------------------------------------------------
def parse_problem(problem_text: str, sentence: str = "", dialect: str = "2.1.2", game_id: str = "") -> Game:
    """A :class:`Game` from the text of an ALFWorld PDDL problem."""
    parsed = parse_sexpr(problem_text)
    if not parsed or not isinstance(parsed[0], list) or parsed[0][:1] != ["define"]:
        raise ValueError("not a PDDL problem: expected (define (problem ...) ...)")
    problem = parsed[0]
    declared = _typed_names(_section(problem, ":objects"))
    init = _section(problem, ":init")
    goal_expr = _section(problem, ":goal")
    goal_expr = goal_expr[0] if goal_expr else []
    facts: dict[str, list[tuple]] = {}
    for fact in init:
        if isinstance(fact, list) and fact:
            facts.setdefault(fact[0], []).append(tuple(fact[1:]))

    def unary(pred):
        return frozenset(args[0] for args in facts.get(pred, ()) if args)

    rec_type = {r: _type_name(t) for r, t in facts.get("receptacletype", ())}
    rec_loc = {r: loc for r, loc in facts.get("receptacleatlocation", ())}
    objects = {o: _type_name(t) for o, t in facts.get("objecttype", ()) if declared.get(o) == "object"}
    receptacles = {r: (rec_type.get(r, ""), rec_loc[r]) for r, kind in declared.items()
                   if kind == "receptacle" and r in rec_loc}
    locations = tuple(sorted(n for n, kind in declared.items() if kind == "location"))
    starts = [loc for a, loc in facts.get("atlocation", ())]
    if not starts:
        raise ValueError("PDDL problem has no atLocation fact for the agent")
    in_receptacle = {}
    for o, r in facts.get("inreceptacle", ()):
        if r in receptacles and o in objects:
            in_receptacle.setdefault(o, r)
    inner: dict[str, list[str]] = {}
    for o, outer in facts.get("inreceptacleobject", ()):
        inner.setdefault(outer, []).append(o)
    task_type, obj_type, parent, toggle = goal_from_formula(goal_expr)
    game = Game(
        receptacles=receptacles, objects=objects, locations=locations, start_location=starts[0],
        goal=Goal(task_type, obj_type, parent, toggle, sentence), in_receptacle=in_receptacle,
        object_location={o: loc for o, loc in facts.get("objectatlocation", ()) if o in objects},
        inner={k: tuple(v) for k, v in inner.items()},
        openable=unary("openable"), opened=unary("opened"), pickupable=unary("pickupable"),
        receptacle_objects=unary("isreceptacleobject"), heatable=unary("heatable"), coolable=unary("coolable"),
        cleanable=unary("cleanable"), toggleable=unary("toggleable"), sliceable=unary("sliceable"),
        is_hot=unary("ishot"), is_cool=unary("iscool"), is_clean=unary("isclean"), is_on=unary("ison"),
        is_toggled=unary("istoggled"), is_sliced=unary("issliced"),
        can_contain=frozenset((_type_name(r), _type_name(o)) for r, o in facts.get("cancontain", ())),
        dialect=dialect, game_id=game_id, declared=tuple(declared),
    )
    game.validate()
    return game


def load_game_file(path: str | os.PathLike) -> Game:
    """Load a ``game.tw-pddl`` file; its text version follows its own grammar."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or "pddl_problem" not in data or "grammar" not in data:
        raise ValueError(f"{path}: not a game.tw-pddl file (needs 'pddl_problem' and 'grammar')")
    grammar = data["grammar"]
    try:
        return parse_problem(data["pddl_problem"], goal_sentence(grammar), grammar_dialect(grammar), str(path))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


# -- exporting ----------------------------------------------------------------------
def _installed_logic(filename: str) -> str | None:
    try:
        import alfworld  # noqa: F401  (optional)
    except ImportError:
        return None
    candidate = Path(alfworld.__file__).parent / "data" / filename
    return candidate.read_text(encoding="utf-8") if candidate.is_file() else None


def domain_text(dialect: str = "2.1.2", prefer_installed: bool = True) -> str:
    """The ALFRED PDDL domain: the installed original's when there is one, else
    this package's. The 2.1.1 domain has no ``help`` action."""
    text = _installed_logic("alfred.pddl") if prefer_installed else None
    if text is None:
        from prism_gym.envs.alfworld.logic import DOMAIN as text
    if dialect == "2.1.1":
        text = _drop_action(text, "help")
    return text


def _drop_action(domain: str, action: str) -> str:
    """Remove one ``(:action NAME ...)`` block, found by balanced parentheses."""
    m = re.search(r"\(:action\s+" + re.escape(action) + r"\b", domain, flags=re.I)
    if not m:
        return domain
    depth = 0
    for end in range(m.start(), len(domain)):
        if domain[end] == "(":
            depth += 1
        elif domain[end] == ")":
            depth -= 1
            if depth == 0:
                return domain[:m.start()] + domain[end + 1:]
    raise ValueError(f"unbalanced parentheses in the domain's {action} action")


def grammar_text(dialect: str = "2.1.2", prefer_installed: bool = True) -> str:
    """The text grammar with the ``UNKNOWN GOAL`` placeholder, in the given text version."""
    text = _installed_logic("alfred.twl2") if prefer_installed else None
    if text is None:
        from prism_gym.envs.alfworld.logic import GRAMMAR as text
    if dialect == "2.1.1":
        text = to_2_1_1_grammar(text)
    return text


def to_2_1_1_grammar(grammar: str) -> str:
    """Turn a 2.1.2 grammar into the 2.1.1 text: ``put O in/on R``, ``loc N``, no help."""
    grammar = grammar.replace('"You arrive at {r.name}. ', '"You arrive at {lend.name}. ')
    grammar = grammar.replace('template :: "move {o} to {r}";\n    feedback :: "#PutObject.feedback#";',
                              'template :: "put {o} in/on {r}";\n    feedback :: "#PutObject.feedback#";')
    grammar = grammar.replace('"rhs": "You move the {o.name} to the {r.name}."',
                              '"rhs": "You put the {o.name} in/on the {r.name}."')
    grammar = re.sub(r'\naction help \{.*?\n\}\n', "\n", grammar, flags=re.S)
    return grammar


def _t(type_name: str) -> str:
    return f"{type_name}Type"


def goal_formula(goal: Goal) -> str:
    t, obj, parent = goal.task_type, _t(goal.object_type), _t(goal.parent_type) if goal.parent_type else ""
    if t == "look_at_obj_in_light":
        return ("(exists (?ot - object ?r - receptacle ?a - agent ?l - location ?o - object)\n"
                f"    (and (objectType ?ot {_t(goal.toggle_type)}) (toggleable ?ot) (isToggled ?ot)\n"
                "         (receptacleAtLocation ?r ?l) (inReceptacle ?ot ?r) (atLocation ?a ?l)\n"
                f"         (objectType ?o {obj}) (holds ?a ?o)))")
    if t == "pick_two_obj_and_place":
        return ("(exists (?r - receptacle ?o1 - object ?o2 - object)\n"
                f"    (and (receptacleType ?r {parent}) (objectType ?o1 {obj}) (objectType ?o2 {obj})\n"
                "         (inReceptacle ?o1 ?r) (inReceptacle ?o2 ?r) (not (= ?o1 ?o2))))")
    extra = {"pick_clean_then_place_in_recep": "(cleanable ?o) (isClean ?o) ",
             "pick_heat_then_place_in_recep": "(heatable ?o) (isHot ?o) ",
             "pick_cool_then_place_in_recep": "(coolable ?o) (isCool ?o) "}.get(t, "")
    return ("(exists (?r - receptacle ?o - object)\n"
            f"    (and (receptacleType ?r {parent}) (objectType ?o {obj}) {extra}(inReceptacle ?o ?r)))")


def problem_text(game: Game, name: str = "alfworld_game") -> str:
    """The PDDL problem of a game, in the original's layout."""
    obj_types = sorted(set(game.objects.values()))
    rec_types = sorted({t for t, _ in game.receptacles.values()})
    lines = [f"(define (problem {re.sub(r'[^a-z0-9_]', '_', name.lower())})", "(:domain alfred)", "(:objects",
             "    agent1 - agent"]
    lines += [f"    {_t(t)} - otype" for t in obj_types]
    lines += [f"    {_t(t)} - rtype" for t in rec_types]
    lines += [f"    {o} - object" for o in sorted(game.objects)]
    lines += [f"    {r} - receptacle" for r in sorted(game.receptacles)]
    lines += [f"    {loc} - location" for loc in sorted(game.locations)]
    lines += ["    )", "(:init", f"    (atLocation agent1 {game.start_location})"]
    for r, (t, loc) in sorted(game.receptacles.items()):
        lines.append(f"    (receptacleType {r} {_t(t)})")
    for o, t in sorted(game.objects.items()):
        lines.append(f"    (objectType {o} {_t(t)})")
    for rt, ot in sorted(game.can_contain):
        if rt in rec_types and ot in obj_types:
            lines.append(f"    (canContain {_t(rt)} {_t(ot)})")
    for pred, ids in (("pickupable", game.pickupable), ("isReceptacleObject", game.receptacle_objects),
                      ("openable", game.openable), ("opened", game.opened), ("cleanable", game.cleanable),
                      ("heatable", game.heatable), ("coolable", game.coolable), ("toggleable", game.toggleable),
                      ("sliceable", game.sliceable), ("isOn", game.is_on), ("isToggled", game.is_toggled),
                      ("isHot", game.is_hot), ("isCool", game.is_cool), ("isClean", game.is_clean),
                      ("isSliced", game.is_sliced)):
        lines += [f"    ({pred} {x})" for x in sorted(ids)]
    for o, r in sorted(game.in_receptacle.items()):
        lines.append(f"    (inReceptacle {o} {r})")
    for outer, inners in sorted(game.inner.items()):
        lines += [f"    (inReceptacleObject {o} {outer})" for o in inners]
    for r, (_, loc) in sorted(game.receptacles.items()):
        lines.append(f"    (receptacleAtLocation {r} {loc})")
    for o, loc in sorted(game.object_location.items()):
        lines.append(f"    (objectAtLocation {o} {loc})")
    lines += ["    )", "(:goal", "    " + goal_formula(game.goal).replace("\n", "\n    "), "    )", ")", ""]
    return "\n".join(lines)


def game_file_dict(game: Game, walkthrough=None, solvable: bool = True, dialect: str | None = None,
                   prefer_installed: bool = True) -> dict:
    dialect = dialect or game.dialect
    grammar = grammar_text(dialect, prefer_installed).replace("UNKNOWN GOAL", game.goal.sentence)
    return {"pddl_domain": domain_text(dialect, prefer_installed), "grammar": grammar,
            "pddl_problem": problem_text(game, name=game.game_id or "alfworld_game"),
            "solvable": bool(solvable), "walkthrough": list(walkthrough or [])}


def export_game(game: Game, path: str | os.PathLike, walkthrough=None, dialect: str | None = None,
                prefer_installed: bool = True) -> Path:
    """Write ``game`` as a ``game.tw-pddl`` file (atomically). Without a
    walkthrough the handcoded expert's solution is stored."""
    from prism_gym.envs.alfworld.engine import Engine
    from prism_gym.envs.alfworld.expert import solve
    from prism_gym.fileio import atomic_open

    solvable = True
    if walkthrough is None:
        solvable, walkthrough = solve(Engine(game, dialect=dialect))
    data = game_file_dict(game, walkthrough, solvable, dialect, prefer_installed)
    path = Path(path)
    with atomic_open(path) as fh:
        json.dump(data, fh)
    return path

