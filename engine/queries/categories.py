"""The categories of cases citizens report (the 19 dispatch categories, also petitions' categories and
Open311's service codes), from the shipped seed file."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from engine.settings import PROJECT_ROOT

#: The categories, their names and descriptions (workflows/seed/dispatch_categories.json).
CATEGORIES_FILE = PROJECT_ROOT / "workflows" / "seed" / "dispatch_categories.json"


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str
    group: str
    description: str


@lru_cache(maxsize=1)
def categories() -> tuple[Category, ...]:
    """Every category, in the file's order (the most reported first)."""
    found = json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))["categories"]
    return tuple(Category(c["code"], c["name"], c.get("name_en", c["code"]), c.get("group", ""),
                          c.get("description", "")) for c in found)
