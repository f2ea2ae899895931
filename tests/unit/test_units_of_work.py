"""Units of work: roll back unless committed, run callbacks after commit, readers never wait."""
import pytest
from sqlalchemy import func, insert, select

from engine.errors import NotReady
from engine.store.schema import agencies


def _count(rt):
    with rt.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(agencies)).scalar_one()


def test_leaving_without_commit_rolls_back(runtime):
    with runtime.uow() as uow:
        uow.conn.execute(insert(agencies), {"code": "x", "name": "X", "kind": "bureau"})
    assert _count(runtime) == 0


def test_after_commit_callbacks_run_only_after_a_commit(runtime):
    ran = []
    with runtime.uow() as uow:
        uow.after_commit(lambda: ran.append("rolled back"))
    with runtime.uow() as uow:
        uow.after_commit(lambda: ran.append(_count(runtime)))
        uow.conn.execute(insert(agencies), {"code": "x", "name": "X", "kind": "bureau"})
        uow.commit()
    assert ran == [1]


def test_a_reader_is_not_blocked_by_a_writer_holding_the_lock(runtime):
    with runtime.uow() as writer:
        writer.conn.execute(insert(agencies), {"code": "x", "name": "X", "kind": "bureau"})
        with runtime.uow(read_only=True) as reader:
            # On SQLite a second writer would wait for the lock; a reader sees the last commit.
            assert reader.conn.execute(select(func.count()).select_from(agencies)).scalar_one() == 0
        writer.commit()


def test_a_read_only_unit_of_work_refuses_to_commit(runtime):
    with runtime.uow(read_only=True) as uow:
        with pytest.raises(RuntimeError):
            uow.commit()


def test_an_unreachable_database_is_not_ready(tmp_path):
    from engine.bootstrap import bootstrap
    from engine.settings import Settings
    rt = bootstrap(Settings(database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
                            var_dir=tmp_path, secret_key="t"))
    with pytest.raises(NotReady):
        with rt.uow():
            pass
    rt.close()
