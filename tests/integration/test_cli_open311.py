"""`petiflow open311-keys`: an operator issues a key, lists it (never the key itself) and revokes it."""
import pytest

from tests.integration.test_cli import run


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """A fresh embedded installation: its own var/ folder, no DATABASE_URL or REDIS_URL."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))


@pytest.mark.slow
def test_a_key_is_issued_listed_and_revoked_from_the_command_line(embedded):
    code, output = run("db", "upgrade")
    assert code == 0, output
    code, output = run("open311-keys", "issue", "桃園 i 通報")
    assert code == 0, output
    key = output.strip().rsplit(" ", 1)[1]
    assert key.startswith("o311_")
    code, output = run("open311-keys", "list")
    assert code == 0 and "桃園 i 通報" in output and "active" in output and key not in output
    code, output = run("open311-keys", "revoke", "1")
    assert (code, output.strip()) == (0, "key 1 revoked")
    assert "revoked" in run("open311-keys", "list")[1]
    assert run("open311-keys", "revoke", "1")[1].strip() == "key 1 was revoked before"
    code, output = run("open311-keys", "revoke", "7")
    assert code == 1 and "does not exist" in output
