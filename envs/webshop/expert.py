"""The oracle (expert) policy: it knows the goal's target product and options.

From any page it returns the next action of a shortest sensible route:

1. ``search[q]``: ``q`` is the instruction without its opener, option clause
   and price clause; if the target is not among that query's 50 hits, the
   target's title (lowercased) is used instead.
2. ``click[next >]`` / ``click[< prev]`` to the results page holding the
   target, then ``click[<asin>]``. From a wrong item page or a sub-page it
   goes back with ``click[< prev]``.
3. ``click[<value>]`` for each goal option not yet selected (an exact value
   first, else the value with the best token-set match above the threshold).
4. ``click[buy now]``.

On generated catalogues this reaches reward 1.0 on every goal within 10
steps; on original data buying the target does not always score 1.0 (see
the reward module), and when no query finds the target it buys the best hit
of the title query instead (its reward shows the miss).
"""
from __future__ import annotations

import re
from collections import OrderedDict

from prism_gym.envs.webshop.engine import DONE, ITEM, RESULTS, RESULTS_PER_PAGE, SEARCH, SUB_PAGE, Session
from prism_gym.envs.webshop.fuzz import token_set_ratio
from prism_gym.envs.webshop.reward import FUZZY_THRESHOLD

_PRICE_CLAUSE = re.compile(r",? and price lower than [\d.]+ dollars\s*$")
_SYNTHETIC_OPTIONS = re.compile(r" with [\w' -]+: .*$")
_OPENER = re.compile(r"^(i am looking for|i'm looking for|looking for|i need|i want to buy|i want|find me|"
                     r"i would like|get me|buy me|search for)\s+(an? )?", re.IGNORECASE)


def instruction_query(instruction: str) -> str:
    """A search query from an instruction: no price clause, option clause or opener."""
    text = _PRICE_CLAUSE.sub("", instruction.strip())
    text = _SYNTHETIC_OPTIONS.sub("", text)
    text = _OPENER.sub("", text)
    return text.strip().lower() or instruction.strip().lower()


class Expert:
    """Stateless apart from a small cache of planned queries per goal."""

    def __init__(self, cache_size: int = 512):
        self._plans: OrderedDict[tuple, tuple[str, int | None, int | None]] = OrderedDict()
        self._cache_size = cache_size

    def plan(self, session: Session) -> tuple[str, int | None, int | None]:
        """(query, rank of the product to buy in its hits, that product's row).

        The product is the goal's target when a query finds it; otherwise (an
        original goal whose product is not findable) the best hit of the
        title query, so that the episode still ends with a purchase."""
        goal = session.goal
        key = (id(session.site), goal["asin"], goal["instruction_text"])
        if key in self._plans:
            return self._plans[key]
        row = goal["product_row"]
        candidates = [instruction_query(goal["instruction_text"]), session.site.products[row]["Title"].lower()]
        plan = (candidates[-1], None, None)
        for query in candidates:
            hits = session.site.search(query)
            if row in hits:
                plan = (query, hits.index(row), row)
                break
        else:
            if hits:
                plan = (candidates[-1], 0, hits[0])
        self._plans[key] = plan
        if len(self._plans) > self._cache_size:
            self._plans.popitem(last=False)
        return plan

    def wanted_options(self, session: Session) -> list[str]:
        """The option values (clickable texts) the goal asks for, in goal order."""
        goal_options = session.goal["goal_options"]
        values = list(goal_options.values()) if isinstance(goal_options, dict) else list(goal_options)
        clickable = [t for t, (kind, _) in session.clickables.items() if kind == "option"]
        chosen = []
        for value in values:
            value = str(value).lower()
            if value in clickable:
                chosen.append(value)
                continue
            scored = [(token_set_ratio(c, value), c) for c in clickable]
            best = max(scored, default=(0, None))
            if best[0] > FUZZY_THRESHOLD:
                chosen.append(best[1])
        return chosen

    def next_action(self, session: Session) -> str:
        """The expert's next action from the session's current page ("" when done)."""
        if session.page == DONE:
            return ""
        query, rank, target = self.plan(session)
        if session.page == SEARCH:
            return f"search[{query}]"
        if session.page == RESULTS:
            if target is not None and target in session.page_rows():
                return f"click[{session.site.products[target]['asin'].lower()}]"
            if rank is not None and " ".join(session.keywords) == query:
                target_page = rank // RESULTS_PER_PAGE + 1
                return "click[next >]" if target_page > session.page_no else "click[< prev]"
            return f"search[{query}]"
        if session.page == SUB_PAGE:
            return "click[< prev]"
        if session.page == ITEM:
            if session.product_row != target:
                return "click[< prev]"
            selected, claimed = session.options, set()
            for value in self.wanted_options(session):
                _, name = session.clickables[value]
                if name in claimed:
                    continue  # two goal values for one option name: the first one wins
                claimed.add(name)
                if selected.get(name) != value:
                    return f"click[{value}]"
            return "click[buy now]"
        raise RuntimeError(f"unknown page {session.page!r}")


def noisy_action(expert: Expert, session: Session, noise: float, rng) -> str:
    """The expert's action, or with probability ``noise`` a detour.

    A detour is a random valid action other than buying (a search made of
    random words of the instruction stands for the search bar); on the item
    page of a wrong product, the detour is buying it. The expert recovers from
    any page afterwards, so noisy episodes mix detours, recoveries and
    occasional wrong purchases: varied trajectories for router training data.
    ``rng`` is a ``numpy.random.Generator`` (the env's, so episodes are seeded)."""
    action = expert.next_action(session)
    if not action or noise <= 0.0 or rng.random() >= noise:
        return action
    if session.page == ITEM and session.product_row != expert.plan(session)[2]:
        return "click[buy now]"
    choices = [f"click[{text}]" for text in session.clickables if text not in ("search", "buy now")]
    words = session.instruction.split()
    choices.append("search[" + " ".join(rng.choice(words, size=min(len(words), 3), replace=False)) + "]")
    return choices[int(rng.integers(len(choices)))]
