"""The site's page state machine for one session, and its ``text`` pages.

Pages and transitions follow the original exactly (search from any page,
``Next >`` on every results page, options kept on sub-pages, invalid actions
as silent no-ops); see docs/webshop.md. Page texts are built
directly as the segments the original's HTML-to-text step produces, joined
with `` [SEP] ``.
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from prism_gym.envs.webshop.reward import get_reward

if TYPE_CHECKING:
    from prism_gym.envs.webshop.site import Site

SEP = " [SEP] "
RESULTS_PER_PAGE = 10
SITE_TITLE = "WebShop"
SUB_PAGES = ("description", "features", "reviews", "attributes")

SEARCH, RESULTS, ITEM, SUB_PAGE, DONE = "search", "results", "item", "sub_page", "done"
_ACTION = re.compile(r"(.+)\[(.+)\]")  # the original's parser: greedy, anchored at the start


def parse_action(action: str) -> tuple[str, str | None]:
    """(verb, argument) the way the original parses; the argument is lowercased."""
    match = _ACTION.match(action)
    if match is None:
        return action, None
    verb, arg = match.groups()
    return verb, arg.lower()


def _join(segments: list[str]) -> str:
    # Text nodes are stripped; empty values produce no node at all.
    return SEP.join(s.strip() for s in segments if s and s.strip())


class Session:
    """One shopper: the goal plus the page state. Small; never shares mutable state."""

    def __init__(self, site: "Site", goal: dict, show_attrs: bool = False):
        self.site = site
        self.goal = goal
        self.show_attrs = show_attrs
        self.instruction = goal["instruction_text"]
        self.reset()

    # -- state -------------------------------------------------------------------
    def reset(self) -> None:
        self.page = SEARCH
        self.keywords: list[str] = []
        self.hits: list[int] = []  # catalogue rows of the last search, best first
        self.page_no = 1
        self.product_row: int | None = None
        self.options: dict[str, str] = {}
        self.sub_page: str | None = None
        self.visited: set[str] = set()
        self.reward: float | None = None
        self.reward_info: dict = {}
        self._refresh()

    @property
    def done(self) -> bool:
        return self.page == DONE

    @property
    def product(self) -> dict | None:
        return None if self.product_row is None else self.site.products[self.product_row]

    def page_rows(self) -> list[int]:
        start = (self.page_no - 1) * RESULTS_PER_PAGE
        return self.hits[start:start + RESULTS_PER_PAGE]

    # -- actions -------------------------------------------------------------------
    def step(self, action: str) -> bool:
        """Apply ``action``; return whether it was valid (an invalid one changes nothing)."""
        verb, arg = parse_action(action)
        if verb == "search" and arg:
            self._search(arg)
        elif verb == "click" and arg is not None and arg != "search" and arg in self.clickables:
            self._click(arg)
        else:
            return False
        self._refresh()
        return True

    def _search(self, arg: str) -> None:
        self.keywords = arg.split(" ")
        self.hits = self.site.search(" ".join(self.keywords))
        self.page, self.page_no = RESULTS, 1
        self.product_row, self.options, self.sub_page = None, {}, None

    def _click(self, text: str) -> None:
        kind, target = self.clickables[text]
        if kind == "product":
            self.product_row = target
            self.visited.add(self.site.products[target]["asin"])
            self.page, self.options = ITEM, {}
        elif kind == "option":
            self.options[target] = text
        elif text == "back to search":
            self.page, self.keywords, self.hits, self.page_no = SEARCH, [], [], 1
            self.product_row, self.visited, self.options, self.sub_page = None, set(), {}, None
        elif text == "next >":
            self.page_no += 1
        elif text == "< prev":
            if self.page == RESULTS:
                self.page_no -= 1
            elif self.page == ITEM:
                self.page, self.product_row, self.options = RESULTS, None, {}
            else:  # sub-page -> item page, options kept
                self.page, self.sub_page = ITEM, None
        elif text in SUB_PAGES:
            self.page, self.sub_page = SUB_PAGE, text
        elif text == "buy now":
            self._buy()

    def _buy(self) -> None:
        product = self.product
        self.reward, self.reward_info = get_reward(self.goal, product, self.options, product["price"], verbose=True)
        self.page = DONE

    # -- what the page shows -------------------------------------------------------------
    def _refresh(self) -> None:
        self.clickables = self._clickables()
        self.observation = self._render()

    def _clickables(self) -> dict[str, tuple[str, object]]:
        """text -> (kind, target), in the original's order; later keys override earlier ones."""
        table: dict[str, tuple[str, object]] = {}
        if self.page == SEARCH:
            table["search"] = ("button", None)
        elif self.page == RESULTS:
            table["back to search"] = ("button", None)
            if self.page_no > 1:
                table["< prev"] = ("button", None)
            table["next >"] = ("button", None)
            for row in self.page_rows():
                table[self.site.products[row]["asin"].lower()] = ("product", row)
        elif self.page == ITEM:
            for name in ("back to search", "< prev", "description", "features", "reviews"):
                table[name] = ("button", None)
            if self.show_attrs:
                table["attributes"] = ("button", None)
            table["buy now"] = ("button", None)
            for name, values in self.product["options"].items():
                for value in values:
                    table[value] = ("option", name)  # a shared value: the later option name wins
        elif self.page == SUB_PAGE:
            table["back to search"] = ("button", None)
            table["< prev"] = ("button", None)
        return table

    def available_actions(self) -> dict:
        """The original's ``{'has_search_bar': bool, 'clickables': [str]}``."""
        return {"has_search_bar": self.page == SEARCH, "clickables": list(self.clickables)}

    def _render(self) -> str:
        head = ["Instruction:", self.instruction]
        if self.page == SEARCH:
            return _join([SITE_TITLE, *head, "Search"])
        if self.page == RESULTS:
            segments = [*head, "Back to Search", f"Page {self.page_no} (Total results: {len(self.hits)})"]
            if self.page_no > 1:
                segments.append("< Prev")
            segments.append("Next >")
            for row in self.page_rows():
                product = self.site.products[row]
                segments += [product["asin"], product["Title"], product["Price"]]
            return _join(segments)
        product = self.product
        if self.page == ITEM:
            segments = [*head, "Back to Search", "< Prev"]
            for name, values in product["options"].items():
                segments.append(name)
                segments += values
            segments += [product["Title"], f"Price: {product['Price']}", f"Rating: {product.get('Rating', 'N.A.')}",
                         "Description", "Features", "Reviews"]
            if self.show_attrs:
                segments.append("Attributes")
            segments.append("Buy Now")
            return _join(segments)
        if self.page == SUB_PAGE:
            segments = [*head, "Back to Search", "< Prev"]
            if self.sub_page == "description":
                segments.append(product["Description"])
            elif self.sub_page == "features":
                segments += product["BulletPoints"]
            elif self.sub_page == "attributes":
                segments += product["Attributes"]
            # reviews: always empty, as in the original
            return _join(segments)
        return _join([
            "Thank you for shopping with us!", "Your code:", "None", "(Paste it in your MTurk interface.)",
            "Purchased", "asin", product["asin"], "options", json.dumps(self.options), "attrs", "None",
            "category", "None", "query", "None", "product category", "None",
            "Target", "asin", "options", "attrs", "price upper", "instuction text", "category",
            "product category", "query", "Goal", "None",
            "Reward", "Your score (min 0.0, max 1.0)", repr(self.reward), "Reward Details", "None",
        ])
