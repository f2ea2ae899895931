"""The outbox: queued in the transaction, sent after commit, relayed when lost, delivered once."""
from datetime import timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import insert, select

from engine.accounts.identity import Principal
from engine.errors import DeliveryFailed, DeliveryRejected, InvalidInput
from engine.queries.notifications import notices_for
from engine.services.notifications import (
    ClaimDelivery,
    MarkRead,
    QueueEmail,
    QueueInApp,
    claim_delivery,
    mark_read,
    queue_email,
    queue_in_app,
)
from engine.store.outbox import RELAY, claim_unsent, queue_message, set_publisher
from engine.store.schema import agencies, incidents, notifications, outbox, users

EMAIL = {"to": "chen@example.tw", "subject": "陳情案件即將逾期", "body": "請於明日前回覆。"}


@pytest.fixture
def actors():
    """The notification actors, bound to a fresh stub broker (no worker: tests call deliver())."""
    broker = StubBroker()
    dramatiq.set_broker(broker)
    from handlers import notification_actors
    notification_actors.bind_to(broker)
    return notification_actors


def rows(rt, table=outbox):
    with rt.db.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


def queue(rt, key="reminder:1:1", topic="email", payload=EMAIL):
    with rt.uow() as uow:
        outbox_id = queue_message(uow, topic, payload, key)
        uow.commit()
    return outbox_id


def test_a_second_message_with_the_same_dedup_key_is_ignored(runtime):
    first = queue(runtime)
    assert queue(runtime) is None
    assert [(r.id, r.status, r.payload) for r in rows(runtime)] == [(first, "pending", EMAIL)]


def test_nothing_is_queued_when_the_unit_of_work_rolls_back(runtime):
    sent = []
    set_publisher(runtime.db, sent.append)
    with runtime.uow() as uow:
        queue_message(uow, "email", EMAIL, "reminder:1:1")
    assert rows(runtime) == [] and sent == []


def test_ids_are_published_only_after_the_commit(runtime):
    sent = []
    set_publisher(runtime.db, sent.append)
    with runtime.uow() as uow:
        outbox_id = queue_message(uow, "email", EMAIL, "reminder:1:1")
        queue_message(uow, "email", EMAIL, "reminder:1:1")  # a duplicate publishes nothing
        assert sent == []
        uow.commit()
    assert sent == [outbox_id]


def test_a_broker_failing_after_commit_leaves_the_row_pending_for_the_relay(runtime):
    def broken(outbox_id):
        raise ConnectionError("redis is down")
    set_publisher(runtime.db, broken)
    outbox_id = queue(runtime)
    assert [(r.id, r.status) for r in rows(runtime)] == [(outbox_id, "pending")]


def test_an_unknown_topic_or_an_oversized_key_is_refused(runtime):
    with runtime.uow() as uow:
        with pytest.raises(InvalidInput):
            queue_message(uow, "carrier_pigeon", {}, "k")
        with pytest.raises(InvalidInput):
            queue_message(uow, "email", EMAIL, "k" * 201)


def test_the_relay_claims_old_unleased_pending_rows_once_per_lease(runtime, clock):
    outbox_id = queue(runtime)
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30)) == []  # on its way after commit
    clock.advance(seconds=31)
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30), lease=timedelta(minutes=5)) == [outbox_id]
        uow.commit()
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30)) == []
    clock.advance(minutes=5, seconds=1)
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30)) == [outbox_id]


def test_delivering_a_message_twice_sends_it_once(runtime, actors, monkeypatch):
    sent = []
    monkeypatch.setattr(actors, "send_email", lambda delivery, settings: sent.append(delivery.dedup_key))
    outbox_id = queue(runtime)
    assert actors.deliver(runtime, outbox_id, owner="w1") is True
    assert actors.deliver(runtime, outbox_id, owner="w2") is False
    assert sent == ["reminder:1:1"]
    [row] = rows(runtime)
    assert (row.status, row.attempts, row.lease_owner, row.sent_at) == ("sent", 1, None, runtime.clock.now())


def test_a_row_being_delivered_by_another_worker_is_left_alone(runtime, actors, monkeypatch):
    monkeypatch.setattr(actors, "send_email", lambda delivery, settings: pytest.fail("sent twice"))
    outbox_id = queue(runtime)
    with runtime.uow() as uow:
        assert claim_delivery(ClaimDelivery(outbox_id, "w1"), uow) is not None
        uow.commit()
    assert actors.deliver(runtime, outbox_id, owner="w2") is False


def test_a_failed_attempt_leaves_the_row_to_its_retry_and_then_to_the_relay(runtime, actors, clock, monkeypatch):
    def refuse(delivery, settings):
        raise DeliveryFailed("SMTP 451: try later")
    monkeypatch.setattr(actors, "send_email", refuse)
    outbox_id = queue(runtime)
    clock.advance(minutes=1)
    with pytest.raises(DeliveryFailed):
        actors.deliver(runtime, outbox_id, owner="w1")
    [row] = rows(runtime)
    assert (row.status, row.attempts, row.last_error, row.lease_owner) == (
        "pending", 1, "DeliveryFailed: SMTP 451: try later", RELAY)
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30)) == []  # the retry is on its way
    clock.set(row.lease_expires_at + timedelta(seconds=1))
    with runtime.uow() as uow:
        assert claim_unsent(uow, older_than=timedelta(seconds=30)) == [outbox_id]  # the retry was lost


def test_a_rejected_message_fails_at_once_with_an_incident(runtime, actors, monkeypatch):
    def reject(delivery, settings):
        raise DeliveryRejected("invalid e-mail address 'chen'")
    monkeypatch.setattr(actors, "send_email", reject)
    outbox_id = queue(runtime)
    with pytest.raises(DeliveryRejected):
        actors.deliver(runtime, outbox_id, owner="w1")
    [row] = rows(runtime)
    assert (row.status, row.lease_owner) == ("failed", None)
    [incident] = rows(runtime, incidents)
    assert (incident.kind, incident.subject_table, incident.subject_id, incident.status, incident.attempts) == (
        "notification_failed", "outbox", outbox_id, "open", 1)
    assert incident.message == "email: invalid e-mail address 'chen'"


def test_an_email_to_a_user_goes_to_the_address_they_have_at_delivery(runtime):
    with runtime.uow() as uow:
        user_id = uow.conn.execute(insert(users).returning(users.c.id), {
            "username": "cw", "display_name": "承辦人", "email": "old@city.gov.tw",
            "created_at": uow.clock.now()}).scalar_one()
        outbox_id = queue_email(QueueEmail(dedup_key="k", subject="s", body="b", user_id=user_id), uow)
        uow.commit()
    with runtime.uow() as uow:
        uow.conn.execute(users.update().values(email="new@city.gov.tw"))
        assert claim_delivery(ClaimDelivery(outbox_id, "w1"), uow).payload["to"] == "new@city.gov.tw"


def _org(rt):
    with rt.uow() as uow:
        agency = uow.conn.execute(insert(agencies).returning(agencies.c.id),
                                  {"code": "roads", "name": "工務局"}).scalar_one()
        other = uow.conn.execute(insert(agencies).returning(agencies.c.id),
                                 {"code": "parks", "name": "公園處"}).scalar_one()
        user = uow.conn.execute(insert(users).returning(users.c.id), {
            "username": "cw", "display_name": "承辦人", "created_at": uow.clock.now()}).scalar_one()
        uow.commit()
    return agency, other, user


def test_in_app_notices_become_one_row_each_however_often_delivered(runtime, actors):
    agency, _, user = _org(runtime)
    with runtime.uow() as uow:
        mine = queue_in_app(QueueInApp(dedup_key="n:1", kind="reminder", title="案件即將逾期", user_id=user), uow)
        group = queue_in_app(QueueInApp(dedup_key="n:2", kind="escalation", title="逾期案件", role="section_chief",
                             agency_id=agency), uow)
        uow.commit()
    for outbox_id in (mine, group, mine):
        actors.deliver(runtime, outbox_id, owner="w1")
    assert [(n.user_id, n.role, n.agency_id, n.title) for n in rows(runtime, notifications)] == [
        (user, None, None, "案件即將逾期"), (None, "section_chief", agency, "逾期案件")]
    assert {r.status for r in rows(runtime)} == {"sent"}


def test_a_group_notice_reaches_whoever_holds_the_role_in_its_agency_when_read(runtime, actors):
    agency, other, user = _org(runtime)
    with runtime.uow() as uow:
        outbox_id = queue_in_app(QueueInApp(dedup_key="n:1", kind="escalation", title="逾期案件", role="section_chief",
                                 agency_id=agency), uow)
        uow.commit()
    actors.deliver(runtime, outbox_id, owner="w1")
    chief = Principal(user_id=user, username="chief", roles=frozenset({("section_chief", agency)}))
    elsewhere = Principal(user_id=None, username="x", roles=frozenset({("section_chief", other)}))
    with runtime.uow() as uow:
        assert notices_for(uow, elsewhere) == []
        [notice] = notices_for(uow, chief, unread_only=True)
        assert (notice.title, notice.to_group, notice.read_at) == ("逾期案件", True, None)
        assert mark_read(MarkRead(notice.id, chief), uow) is True
        assert mark_read(MarkRead(notice.id, chief), uow) is False
        uow.commit()
    with runtime.uow() as uow:
        assert notices_for(uow, chief, unread_only=True) == []
