"""The shape of the code: engine/ imports point inward, models and migrations agree."""
import ast
from pathlib import Path

import pytest

from engine import migrate

ROOT = Path(__file__).resolve().parents[2]

#: What engine/ must never import: web, serialization-for-web, queue and cache libraries.
FORBIDDEN_IN_ENGINE = ("flask", "flask_smorest", "marshmallow", "webargs", "dramatiq", "redis",
                       "api", "handlers", "waitress", "gunicorn")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_modules_import_no_web_or_queue_library(path):
    bad = [name for name in _imports(path) if name.split(".")[0] in FORBIDDEN_IN_ENGINE]
    assert bad == []


def test_models_and_migrations_agree(runtime):
    assert migrate.schema_differences(runtime.db) == []
    assert migrate.is_current(runtime.db)
