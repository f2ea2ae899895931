"""The interactive API documentation, served by petiflow itself (no CDN: many city networks have no internet).

Swagger UI comes from npm and is bundled into api/static/build at set-up (`make setup`); the
page keeps the app's content security policy: its script and style are files of this app.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template

bp = Blueprint("docs", __name__)

#: The bundle `npm run build` writes.
BUNDLE = "build/api-docs.js"


@bp.get("/api/v1/docs")
def api_docs():
    """Swagger UI on /api/v1/openapi.json; a plain page pointing at the document when not built."""
    built = (Path(current_app.static_folder) / BUNDLE).is_file()
    return render_template("api_docs.html", built=built)
