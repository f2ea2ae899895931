"""Deployed process versions, newest first, each with the cases it still runs."""
from engine.queries import deployed_processes
from engine.services.deployment import DeployBundle, deploy_bundle
from tests.conftest import bundle
from tests.unit.queries_city import city, taipei  # noqa: F401


def deployed(city):
    with city.runtime.uow(read_only=True) as uow:
        return {p.process_key: p for p in deployed_processes(uow)}


def test_each_version_counts_the_cases_it_still_runs(city):
    first = [city.open_case(taipei(23 + n)) for n in range(3)]
    city.clock.set(taipei(30, 8))
    changed = bundle("simple.bpmn")
    changed["simple.bpmn"] = changed["simple.bpmn"].replace('name="Simple reply"', 'name="Simple reply, v2"')
    with city.runtime.uow() as uow:
        deploy_bundle(DeployBundle(changed, deployed_by="designer"), uow)
        uow.commit()
    city.open_case(taipei(30, 9))
    city.complete(first[0].work_item_ids[0])  # finished: no longer running
    city.open_case(taipei(30, 10), process="approval")

    processes = deployed(city)
    assert list(processes) == ["approval", "simple"]  # by key
    simple = processes["simple"]
    assert [(v.version, v.name, v.deployed_by, v.running_cases) for v in simple.versions] == [
        (2, "Simple reply, v2", "designer", 1), (1, "Simple reply", "system", 2)]
    assert simple.versions[0].deployed_at == taipei(30, 8)
    assert simple.running_cases == 3
    assert [(v.version, v.running_cases) for v in processes["approval"].versions] == [(1, 1)]


def test_a_version_no_case_ever_started_counts_none(city):
    assert {key: [v.running_cases for v in p.versions] for key, p in deployed(city).items()} == {
        "approval": [0], "simple": [0]}
