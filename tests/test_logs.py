"""Log formats: key=value text by default, one JSON object per line with SPENDLIMITS_LOG_FORMAT=json."""

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from spendlimits.logs import JsonFormatter, TextFormatter, configure_logging
from spendlimits.settings import Settings, SettingsError


def record(fields: dict[str, object] | None = None) -> logging.LogRecord:
    made = logging.LogRecord("spendlimits.request", logging.INFO, __file__, 1, "graphql request", (), None)
    if fields is not None:
        made.fields = fields
    return made


def test_text_lines_end_with_the_fields_as_key_value_pairs() -> None:
    line = TextFormatter().format(
        record({"operation": "MyUsage", "outcome": "ok", "duration_ms": 1.5, "error_codes": ["A", "B"]})
    )
    assert line.endswith(
        "INFO spendlimits.request: graphql request operation=MyUsage outcome=ok duration_ms=1.5 error_codes=A,B"
    )


def test_text_quotes_a_value_that_would_read_as_several_fields() -> None:
    line = TextFormatter().format(record({"operation": "a b=c"}))
    assert line.endswith('operation="a b=c"')


def test_json_lines_carry_time_level_logger_message_and_fields() -> None:
    line = json.loads(JsonFormatter().format(record({"operation": "MyUsage", "status": 200})))
    assert line["level"] == "INFO"
    assert line["logger"] == "spendlimits.request"
    assert line["message"] == "graphql request"
    assert (line["operation"], line["status"]) == ("MyUsage", 200)
    assert line["time"].endswith("+00:00")


def test_json_lines_include_the_exception_of_an_error() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in line["exception"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    uvicorn = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error")]
    saved = (root.handlers[:], root.level, [(lg.handlers[:], lg.propagate) for lg in uvicorn])
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for lg, (handlers, propagate) in zip(uvicorn, saved[2], strict=True):
        lg.handlers[:], lg.propagate = handlers, propagate


@pytest.mark.usefixtures("restore_logging")
def test_json_format_applies_to_every_logger_uvicorn_included() -> None:
    configure_logging("INFO", "json")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert logging.getLogger("uvicorn.error").handlers == []
    assert logging.getLogger("uvicorn.error").propagate


def test_the_log_format_setting_accepts_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPENDLIMITS_LOG_FORMAT", raising=False)
    assert Settings.from_env().log_format == "text"
    monkeypatch.setenv("SPENDLIMITS_LOG_FORMAT", "JSON")
    assert Settings.from_env().log_format == "json"
    monkeypatch.setenv("SPENDLIMITS_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="SPENDLIMITS_LOG_FORMAT"):
        Settings.from_env()
