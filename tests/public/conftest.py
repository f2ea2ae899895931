"""Public intake fixtures: petitions filed on the web mailbox, and staff who reply to them."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from engine.queries import load_principal
from engine.services.public_intake import SubmitPetition, submit_petition
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import work_items
from tests.web.conftest import sign_in, web  # noqa: F401  (the staff pages' fixtures)

DRAFT = {"draft_action": "submit_reply", "reply_text": "本局已於 11 月 27 日完成路面修補。",
         "legal_basis": "市區道路條例第 9 條"}
APPROVE = {"approval_decision": "approve"}


def petition(**kw) -> SubmitPetition:
    """A pothole in Taoyuan district with a name and an e-mail: routed by trusted rule to public works."""
    values = {"subject": "中正路路面坑洞", "description": "中正路 100 號前有大坑洞，機車經過危險。",
              "category": "road_pothole", "district": "桃園", "location": "桃園區中正路 100 號",
              "name": "王小明", "email": "ming@example.tw", "site_url": "https://mailbox.city.example/"}
    values.update(kw)
    return SubmitPetition(**values)


def submit(runtime, **kw):
    with runtime.uow() as uow:
        done = submit_petition(petition(**kw), uow)
        uow.commit()
    return done


def open_item(runtime, case_id: int, task: str):
    with runtime.uow(read_only=True) as uow:
        return uow.conn.execute(select(work_items).where(work_items.c.case_id == case_id,
                                                         work_items.c.task_spec == task,
                                                         work_items.c.status == "open")).one_or_none()


def complete_as(runtime, username: str, case_id: int, task: str, data: dict):
    item = open_item(runtime, case_id, task)
    assert item is not None, f"no open {task} on case {case_id}"
    with runtime.uow() as uow:
        done = complete_work_item(CompleteWorkItem(item.id, data, load_principal(uow, username=username)), uow)
        uow.commit()
    return done


def reply(runtime, case_id: int) -> None:
    """The roads caseworker drafts, the chief approves: the reply goes out and the survey opens."""
    complete_as(runtime, "cw.roads", case_id, "draft_reply", DRAFT)
    complete_as(runtime, "chief.roads", case_id, "approve_reply", APPROVE)


def photo_with_exif(fmt: str = "JPEG") -> bytes:
    """A small photo whose EXIF names the camera (Acme PhoneX) and where it was taken (GPS)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Acme", "PhoneX"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (24.0, 59.0, 30.0), "E", (121.0, 18.0, 5.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (180, 40, 40)).save(out, fmt, exif=exif)
    return out.getvalue()


@pytest.fixture
def city(demo_runtime):
    """The demo city (shipped workflows, demo organisation and cases) on the test's clock."""
    return demo_runtime
