"""`petiflow deploy` reads diagrams in the encoding they declare, and names a file that is not XML."""
import random

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from engine.bootstrap import bootstrap
from engine.settings import Settings
from engine.store.schema import process_definitions
from engine.workflow.definitions import parse_process

#: A small process whose names are Chinese, with the encoding it declares left to fill in.
BPMN = """<?xml version="1.0" encoding="{encoding}"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="encoded_definitions" targetNamespace="http://petiflow.example/test">
  <bpmn:process id="encoded" name="市民陳情（測試）" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_caseworker" name="Caseworker"><bpmn:flowNodeRef>reply</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="收文"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="reply" name="承辦人擬辦答復"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end" name="結案"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="reply" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh, migrated embedded installation of its own."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))
    assert invoke("db", "upgrade").exit_code == 0


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def folder_with(tmp_path, name: str, data: bytes):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / name).write_bytes(data)
    return folder


def deployed() -> dict:
    runtime = bootstrap(Settings.from_env())
    try:
        with runtime.db.connect() as conn:
            row = conn.execute(select(process_definitions)).one()
    finally:
        runtime.close()
    spec, _ = parse_process(row.process_key, row.sources)
    return {"name": row.name, "version": row.version, "tasks": {n: spec.task_specs[n].bpmn_name
                                                                 for n in ("start", "reply", "end")}}


@pytest.mark.parametrize("encoding", ["Big5", "UTF-16"])
def test_a_diagram_in_big5_or_utf16_deploys_and_keeps_its_chinese_names(env, tmp_path, encoding):
    data = BPMN.format(encoding=encoding).encode(encoding)
    if encoding == "UTF-16":
        assert data.startswith(b"\xff\xfe")  # with its byte-order mark, as editors write it
    folder = folder_with(tmp_path, "encoded.bpmn", data)

    result = invoke("deploy", "--dir", str(folder))
    assert (result.exit_code, result.output) == (0, "encoded: version 1 (new)\n")
    assert deployed() == {"name": "市民陳情（測試）", "version": 1,
                          "tasks": {"start": "收文", "reply": "承辦人擬辦答復", "end": "結案"}}
    # The same file again is the same version.
    assert invoke("deploy", "--dir", str(folder)).output == "encoded: version 1 (unchanged)\n"


@pytest.mark.parametrize(("what", "data", "why"), [
    ("random bytes", bytes(random.Random(7).randrange(256) for _ in range(4096)), "not well-formed XML"),
    ("UTF-8 text declaring Big5", BPMN.format(encoding="Big5").encode("utf-8"), "not well-formed XML"),
    ("an encoding nobody knows", BPMN.format(encoding="x-petiflow").encode("utf-8"), "Unsupported encoding"),
])
def test_a_file_that_is_not_xml_text_is_refused_in_one_line_naming_it(env, tmp_path, what, data, why):
    folder = folder_with(tmp_path, "broken.bpmn", data)
    result = invoke("deploy", "--dir", str(folder))
    assert result.exit_code == 1, what
    (line,) = result.stderr.splitlines()
    assert line.startswith("petiflow: deployment refused, nothing changed: broken.bpmn, line ") and why in line
    assert "Traceback" not in result.output
