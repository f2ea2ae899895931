"""The mailbox's settings: read once from the environment, a bad value refused naming its variable."""
import pytest

from engine.errors import InvalidInput
from engine.settings import Settings


def test_the_mailbox_settings_default_to_no_map_the_requests_address_and_sixty_an_hour():
    found = Settings.from_env({"SECRET_KEY": "x"})
    assert (found.map_tile_url, found.public_url, found.mailbox_submissions_per_hour) == (None, None, 60)


def test_the_mailbox_settings_are_read_and_checked():
    found = Settings.from_env({"SECRET_KEY": "x", "PETIFLOW_MAP_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
                               "PETIFLOW_PUBLIC_URL": "https://mailbox.example", "PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR": "5"})
    assert (found.map_tile_url, found.public_url, found.mailbox_submissions_per_hour) == (
        "https://tiles.example/{z}/{x}/{y}.png", "https://mailbox.example/", 5)
    for name, value in (("PETIFLOW_MAP_TILE_URL", "https://tiles.example/map.png"),
                        ("PETIFLOW_PUBLIC_URL", "javascript:alert(1)"), ("PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR", "0")):
        with pytest.raises(InvalidInput, match=name):
            Settings.from_env({"SECRET_KEY": "x", name: value})
