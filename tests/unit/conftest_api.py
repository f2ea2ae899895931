"""Fixtures for the web app tests: apps on a fresh SQLite file, migrated or not."""
from __future__ import annotations

import pytest

from api.app import create_app
from engine.settings import Settings
from engine.store import migrate


@pytest.fixture
def app_settings(tmp_path) -> Settings:
    """Settings for a fresh, empty SQLite file in the test's tmp_path."""
    return Settings(database_url=f"sqlite:///{tmp_path / 't.sqlite3'}", var_dir=tmp_path,
                    secret_key="test")


@pytest.fixture
def make_app():
    """Build apps from settings, migrating their database unless told not to; close them after."""
    apps = []

    def make(settings: Settings, *, migrated: bool = True):
        app = create_app(settings)
        if migrated:
            migrate.upgrade(app.extensions["petiflow"].db)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["petiflow"].close()


@pytest.fixture
def app(make_app, app_settings):
    """The app on a migrated SQLite database."""
    return make_app(app_settings)


@pytest.fixture
def client(app):
    """A test client of the app on a migrated database."""
    return app.test_client()
