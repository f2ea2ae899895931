"""An agency's escalation queue counts its late work under the unit (科) each case is in, through transfers."""
from sqlalchemy import select

from engine.queries.escalation import escalation_queue
from engine.store.schema import cases, units, work_items
from tests.scenarios.test_petition import open_pothole_petition

#: Wide enough that every open item of these cases is in the queue (at risk), whatever its due time.
EVERYTHING_DUE = 60


def unit_counts(library, agency_code: str) -> dict:
    """The agency's queue counted per unit, by the unit's code (None: no unit)."""
    with library.runtime.uow(read_only=True) as uow:
        queue = escalation_queue(uow, agency_id=library.agency_id(agency_code), at_risk_days=EVERYTHING_DUE)
        codes = dict(uow.conn.execute(select(units.c.id, units.c.code)).all())
    found: dict = {}
    for c in queue.unit_counts:
        found[codes.get(c.unit_id)] = found.get(codes.get(c.unit_id), 0) + c.count
    assert sum(found.values()) == sum(c.count for c in queue.counts)  # the agency's counts are its units'
    return found


def open_work_units(library) -> set:
    """(case's unit, item's unit) of every open item: the same on each."""
    with library.runtime.db.connect() as conn:
        return set(conn.execute(select(cases.c.unit_id, work_items.c.unit_id)
                                .join(cases, cases.c.id == work_items.c.case_id)
                                .where(work_items.c.status == "open")).all())


def transfer(library, case_id: int, agency_code: str, unit_code: str | None = None):
    library.complete(library.item(case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "非本局權責"})
    library.complete(library.item(case_id, "confirm_transfer").id, {
        "transfer_decision": "transfer", "transfer_to_agency": agency_code,
        **({"transfer_to_unit": unit_code} if unit_code else {})})


def test_late_work_is_counted_under_its_case_s_unit_after_transfers_between_units_and_agencies(library):
    # Given a pothole at public works' roads unit and a traffic signal at transport's signals unit
    open_pothole_petition(library)
    signal = open_pothole_petition(library, category="traffic_signal")
    assert unit_counts(library, "public_works") == {"roads": 1}
    assert unit_counts(library, "transport") == {"signals": 1}

    # When the signal goes to public works' buildings unit
    transfer(library, signal.case_id, "public_works", "buildings")
    # Then public works counts it there and transport no longer counts it
    assert unit_counts(library, "public_works") == {"roads": 1, "buildings": 1}
    assert unit_counts(library, "transport") == {}

    # When it moves within public works to the roads unit, and then to transport naming no unit
    transfer(library, signal.case_id, "public_works", "roads")
    assert unit_counts(library, "public_works") == {"roads": 2}
    transfer(library, signal.case_id, "transport")
    assert unit_counts(library, "public_works") == {"roads": 1}
    assert unit_counts(library, "transport") == {None: 1}
    assert all(case_unit == item_unit for case_unit, item_unit in open_work_units(library))
