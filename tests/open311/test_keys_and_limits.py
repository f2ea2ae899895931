"""Open311 keys issued and revoked by administrators; reports limited per key and per address."""
from dataclasses import replace

import pytest
from sqlalchemy import select

from api.app import create_app
from engine.errors import InvalidInput
from engine.queries.open311 import key_digest
from engine.queries.principals import load_principal
from engine.services.access_tokens import CreateAccessToken, create_access_token
from engine.store.schema import open311_keys

from .conftest import Open311


def bearer(runtime, username):
    with runtime.uow() as uow:
        token = create_access_token(CreateAccessToken(load_principal(uow, username=username), "t"), uow).token
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


def test_an_administrator_issues_a_key_shown_once_and_kept_as_a_hash(open311):
    admin = bearer(open311.runtime, "admin")
    issued = open311.client.post("/api/v1/admin/open311-keys", json={"name": "桃園 i 通報"}, headers=admin)
    assert issued.status_code == 201
    key = issued.get_json()["key"]
    assert key.startswith("o311_") and len(key) > 40
    with open311.runtime.uow(read_only=True) as uow:
        kept = uow.conn.execute(select(open311_keys.c.key_hash).where(open311_keys.c.name == "桃園 i 通報")).scalar_one()
    assert kept == key_digest(key) and key not in kept
    listed = open311.client.get("/api/v1/admin/open311-keys", headers=admin).get_json()
    assert listed[0]["name"] == "桃園 i 通報" and "key" not in listed[0] and listed[0]["prefix"] == key[:10]
    assert open311.report_id(api_key=key)
    assert open311.client.get("/api/v1/admin/open311-keys", headers=admin).get_json()[0]["last_used_at"]


def test_a_revoked_key_is_refused_at_once(open311):
    admin = bearer(open311.runtime, "admin")
    issued = open311.client.post("/api/v1/admin/open311-keys", json={"name": "old app"}, headers=admin).get_json()
    assert open311.report(api_key=issued["key"]).status_code == 200
    assert open311.client.delete(f"/api/v1/admin/open311-keys/{issued['id']}", headers=admin).status_code == 204
    assert open311.report(api_key=issued["key"]).status_code == 403


def test_only_administrators_issue_list_or_revoke_keys(open311):
    dispatcher = bearer(open311.runtime, "dispatcher")
    assert open311.client.post("/api/v1/admin/open311-keys", json={"name": "x"}, headers=dispatcher).status_code == 403
    assert open311.client.get("/api/v1/admin/open311-keys", headers=dispatcher).status_code == 403
    assert open311.client.delete("/api/v1/admin/open311-keys/1", headers=dispatcher).status_code == 403
    assert open311.client.post("/api/v1/admin/open311-keys", json={"name": "x"}).status_code == 401


def limited(open311, **limits) -> Open311:
    """The app again, with the given report limits (settings)."""
    app = create_app(replace(open311.runtime.settings, **limits), runtime=open311.runtime)
    return Open311(app, open311.runtime, open311.key)


def test_reports_past_the_address_limit_get_429_with_retry_after(open311):
    open311 = limited(open311, open311_address_limits="3 per minute")
    for i in range(3):
        assert open311.report(point=(24.9 + i / 100, 121.3)).status_code == 200
    refused = open311.report(point=(25.0, 121.3))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many" in refused.get_json()[0]["description"] and refused.get_json()[0]["code"] == 429
    other = open311.app.test_client()
    assert other.post("/open311/v2/requests.json", data={"api_key": open311.key, "service_code": "noise",
                                                          "lat": "24.95", "long": "121.2",
                                                          "attribute[district]": "桃園"},
                      environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_reports_past_the_key_limit_get_429_from_any_address(open311):
    open311 = limited(open311, open311_key_limits="2 per minute")
    for i, address in enumerate(("10.0.0.1", "10.0.0.2", "10.0.0.3")):
        response = open311.app.test_client().post("/open311/v2/requests.xml", data={
            "api_key": open311.key, "service_code": "noise", "lat": str(24.9 + i / 100), "long": "121.2",
            "attribute[district]": "桃園"}, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == (200 if i < 2 else 429)
    assert b"<code>429</code>" in response.get_data()


@pytest.mark.redis
def test_limits_are_shared_through_redis_in_scaled_mode(open311, tmp_path):
    import os

    import redis

    from api.app import create_app
    from engine.settings import Settings
    url = os.environ.get("PETIFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {url}")
    redis.Redis.from_url(url).flushdb()
    settings = Settings(database_url=open311.runtime.settings.database_url, redis_url=url, var_dir=tmp_path,
                        secret_key="test", open311_address_limits="2 per minute")
    # Two web processes' apps on one Redis: the second sees the first's count.
    first, second = (create_app(settings, runtime=open311.runtime) for _ in range(2))
    form = {"api_key": open311.key, "service_code": "noise", "long": "121.2", "attribute[district]": "桃園"}
    assert first.test_client().post("/open311/v2/requests.json", data={**form, "lat": "24.91"}).status_code == 200
    assert second.test_client().post("/open311/v2/requests.json", data={**form, "lat": "24.92"}).status_code == 200
    assert second.test_client().post("/open311/v2/requests.json", data={**form, "lat": "24.93"}).status_code == 429
    redis.Redis.from_url(url).flushdb()


def test_report_limits_are_settings_and_a_bad_one_is_refused_at_start(open311):
    with pytest.raises(InvalidInput, match="PETIFLOW_OPEN311_KEY_LIMITS"):
        create_app(replace(open311.runtime.settings, open311_key_limits="lots"), runtime=open311.runtime)
