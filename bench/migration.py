"""Moving running cases to a later version: what a dry run and a move cost per case, on SQLite.

    python bench/migration.py [--cases 2000] [--repeats 5]

`--cases` cases of tests/data/migrate_v1.bpmn are opened on a fresh SQLite file (half waiting at
`confirm`, half at `draft` with its boundary timer), version 2 (migrate_v2_added.bpmn: a task added,
a lane and a name changed) is deployed, then:

1. the dry run is paged through (pages of 100) `--repeats` times: the median time per case, beside
   the median time per case of only loading the same states (the floor a dry run cannot go under);
2. every case is moved by the bulk driver (each in its own unit of work): the time per case.

Only ratios within this run are meaningful on the shared machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from sqlalchemy import select

    from engine.accounts.identity import SYSTEM
    from engine.bootstrap import connect
    from engine.queries.migration import preview_migration
    from engine.services.cases import StartCase, start_case
    from engine.services.deployment import DeployBundle, deploy_bundle
    from engine.services.migration import MigrateCases, migrate_cases
    from engine.services.work import CompleteWorkItem, complete_work_item
    from engine.settings import Settings
    from engine.store import migrate
    from engine.store.schema import workflow_instances
    from engine.workflow import state

    folder = Path(tempfile.mkdtemp(prefix="petiflow-bench-migration-"))
    runtime = connect(Settings(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", var_dir=folder,
                               secret_key="bench"))
    migrate.upgrade(runtime.db)

    def deploy(name):
        with runtime.uow() as uow:
            deploy_bundle(DeployBundle({"revise.bpmn": (DATA / name).read_text(encoding="utf-8")}), uow)
            uow.commit()

    deploy("migrate_v1.bpmn")
    print(f"opening {args.cases} cases...", file=sys.stderr)
    for n in range(args.cases):
        with runtime.uow() as uow:
            started = start_case(StartCase("petition", process_key="revise"), uow)
            if n % 2:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
            uow.commit()
    deploy("migrate_v2_added.bpmn")

    def dry_run() -> float:
        began, after, seen = time.perf_counter(), None, 0
        while True:
            with runtime.uow(read_only=True) as uow:
                page = preview_migration(uow, SYSTEM, "revise", 1, 2, after=after, limit=100)
            seen += len(page.cases)
            assert all(c.can_move for c in page.cases)
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == args.cases
        return (time.perf_counter() - began) / seen

    def load_only() -> float:
        began = time.perf_counter()
        with runtime.uow(read_only=True) as uow:
            definition = uow.specs.get(uow.conn, 1)
            rows = uow.conn.execute(select(workflow_instances.c.state)).scalars().all()
            for text in rows:
                state.load(text, definition.spec, definition.subprocess_specs, uow.script_engine)
        return (time.perf_counter() - began) / len(rows)

    dry, floor = [], []
    for _ in range(args.repeats):
        dry.append(dry_run())
        floor.append(load_only())
    began = time.perf_counter()
    report = migrate_cases(MigrateCases("revise", 1, 2, SYSTEM), runtime)
    moved = (time.perf_counter() - began) / max(report.moved, 1)
    assert report.moved == args.cases, (report.moved, report.refused, report.failed)
    runtime.close()
    d, f = statistics.median(dry), statistics.median(floor)
    print(f"{args.cases} cases, medians of {args.repeats} runs")
    print(f"  dry run:      {d * 1000:.2f} ms per case ({args.cases * d:.1f} s for all)")
    print(f"  load only:    {f * 1000:.2f} ms per case (dry run / load = {d / f:.1f}x)")
    print(f"  move (bulk):  {moved * 1000:.2f} ms per case, one unit of work each ({args.cases * moved:.1f} s for all)")


if __name__ == "__main__":
    main()
