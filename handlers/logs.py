"""Log lines of the web, worker and scheduler processes: text or JSON, each with its request id.

Every record carries the correlation id in hand (`request_id`, engine/correlation.py): the id
of the web request, or of the request whose message a worker is handling. PETIFLOW_LOG_FORMAT
picks the line: `text` (the default) puts the id in brackets after the logger's name, `json`
writes one JSON object a line, for a log shipper.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from engine.correlation import LOG_ATTRIBUTE, stamp_log_records

#: The text line of petiflow's own commands.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"

#: The text line of Dramatiq worker processes: Dramatiq's own, with the request id.
WORKER_TEXT_FORMAT = "[%(asctime)s] [PID %(process)d] [%(threadName)s] [%(name)s] [%(levelname)s]%(request)s %(message)s"


class TextFormatter(logging.Formatter):
    """A plain line, with ` [<request id>]` where the format says %(request)s, when there is an id."""

    def format(self, record: logging.LogRecord) -> str:
        found = getattr(record, LOG_ATTRIBUTE, None)
        record.request = f" [{found}]" if found else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, process,
    thread, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, LOG_ATTRIBUTE, None),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(log_format: str, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    """The formatter of a PETIFLOW_LOG_FORMAT value (text or json)."""
    return JsonFormatter() if log_format == "json" else TextFormatter(text_format)


def configure_logging(log_format: str, *, text_format: str = TEXT_FORMAT, loggers: tuple[str, ...] = ()) -> None:
    """Stamp records with the request id and format the lines of the root logger's console and file
    handlers (and of `loggers`' own, such as gunicorn's, which do not pass their lines to the root).

    Only plain stream and file handlers are changed: others (a test runner's capture) keep theirs.
    """
    stamp_log_records()
    chosen = formatter(log_format, text_format)
    for name in ("", *loggers):
        for handler in logging.getLogger(name).handlers:
            if type(handler) in (logging.StreamHandler, logging.FileHandler):
                handler.setFormatter(chosen)
