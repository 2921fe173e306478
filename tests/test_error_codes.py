"""The error codes are a closed vocabulary (monitor.errors.ErrorCode): the README's
"Failure codes" table lists exactly the codes a feed, a page or a delivery can
carry; an HTTP status maps onto a fixed set of them; a string that is no code is
refused; and a code is stored as its plain value."""

from __future__ import annotations

import ast
import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from monitor.alerts import post_webhook
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.db.models import FetchLog
from monitor.errors import (
    COMMAND_CODES,
    DeliveryError,
    ErrorCode,
    ExtractError,
    FeedParseError,
    FetchError,
    MonitorError,
)
from monitor.fetch import Fetcher
from monitor.sections import FetchSettings

from .httpserver import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# The statuses a feed reader meets often enough to name: each has a code of its own.
OWN_STATUSES = [400, 401, 403, 404, 405, 406, 408, 409, 410, 429, 451, 500, 501, 502, 503, 504]
VALUES = {c.value for c in ErrorCode}


def _configure_section() -> str:
    readme = README.read_text(encoding="utf-8")
    start = readme.index("\n## Configure\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def documented_codes() -> list[str]:
    """The codes in the first column of the README's "Failure codes" table."""
    lines = _configure_section().split("**Failure codes**", 1)[1].splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| code |"))
    codes: list[str] = []
    for row in lines[header + 2:]:           # past the header and its |---| line
        if not row.startswith("|"):
            break
        codes += re.findall(r"`([^`]+)`", row.split("|")[1])
    return codes


def codes_in_source(source: str) -> list[str]:
    """The string literals a module uses as codes: ``code="..."`` arguments and
    comparisons with a ``.code`` (``e.code == "..."``, ``e.code in ("...", ...)``)."""
    found: list[str] = []

    def strings(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for elt in node.elts for s in strings(elt)]
        return []

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found += [s for kw in node.keywords if kw.arg == "code" for s in strings(kw.value)]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "code" for side in sides):
                found += [s for side in sides for s in strings(side)]
    return found


# --- the README lists exactly the codes a user can meet --------------------------------

def test_readme_table_lists_every_code_a_feed_page_or_alert_can_carry() -> None:
    documented = documented_codes()
    assert len(documented) > 20, "the Failure codes table was not found or not parsed"
    assert len(documented) == len(set(documented)), "a code is listed twice"
    unknown = set(documented) - VALUES
    assert not unknown, f"the README lists codes that do not exist: {sorted(unknown)}"
    missing = {c.value for c in ErrorCode if c not in COMMAND_CODES} - set(documented)
    assert not missing, f"codes missing from the README's Failure codes table: {sorted(missing)}"


def test_readme_examples_are_codes() -> None:
    m = re.search(r"recorded with its code \((.*?)\)", _configure_section(), re.S)
    assert m is not None, "the sentence listing example codes is gone"
    examples = re.findall(r"`([^`]+)`", m[1])
    assert len(examples) >= 5
    for example in examples:
        assert ErrorCode(example).value == example


def test_every_code_literal_in_the_code_base_is_a_member() -> None:
    # alerts.py and digest.py may still pass codes as strings: each must be a member
    # (webhook_http_NNN is built from the status and mapped by DeliveryError)
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        for literal in codes_in_source(path.read_text(encoding="utf-8")):
            assert literal in VALUES, f"{path.name}: {literal!r} is no ErrorCode"


def test_the_literal_scan_finds_bad_codes() -> None:
    found = codes_in_source('raise DeliveryError("x", code="smtp_timeout")\n'
                            'if e.code in ("smtp_auth", "smtp_gone"): pass\n'
                            'if "http_999" != err.code: pass\n')
    assert found == ["smtp_timeout", "smtp_auth", "smtp_gone", "http_999"]
    assert [c for c in found if c not in VALUES] == ["smtp_timeout", "smtp_gone", "http_999"]


def test_command_codes_are_the_class_defaults_of_command_errors() -> None:
    from monitor.errors import ConfigError, DatabaseError, UsageError

    assert {MonitorError.code, ConfigError.code, UsageError.code, DatabaseError.code} == COMMAND_CODES
    for cls in (FetchError, FeedParseError, ExtractError, DeliveryError):
        assert cls.code not in COMMAND_CODES


# --- HTTP statuses map onto a fixed set ---------------------------------------------------

@pytest.mark.parametrize("status", OWN_STATUSES)
def test_common_statuses_have_a_code_of_their_own(status: int) -> None:
    assert ErrorCode.for_http_status(status) == f"http_{status}"
    assert ErrorCode.for_webhook_status(status) == f"webhook_http_{status}"


@pytest.mark.parametrize(("status", "code", "webhook"), [
    (418, "http_4xx", "webhook_http_4xx"),
    (402, "http_4xx", "webhook_http_4xx"),
    (499, "http_4xx", "webhook_http_4xx"),
    (505, "http_5xx", "webhook_http_5xx"),
    (522, "http_5xx", "webhook_http_5xx"),
    (599, "http_5xx", "webhook_http_5xx"),
    (300, "http_other", "webhook_http_other"),
    (301, "http_other", "webhook_http_other"),
    (399, "http_other", "webhook_http_other"),
    (600, "http_other", "webhook_http_other"),
    (999, "http_other", "webhook_http_other"),
])
def test_other_statuses_fall_into_groups(status: int, code: str, webhook: str) -> None:
    assert ErrorCode.for_http_status(status) is ErrorCode(code)
    assert ErrorCode.for_webhook_status(status) is ErrorCode(webhook)


def test_every_status_member_is_reached_by_its_status() -> None:
    numbered = [c for c in ErrorCode if re.fullmatch(r"(webhook_)?http_[0-9]+", c)]
    assert len(numbered) == 2 * len(OWN_STATUSES)
    for c in numbered:
        status = int(c.rsplit("_", 1)[1])
        mapped = ErrorCode.for_webhook_status if c.startswith("webhook_") else ErrorCode.for_http_status
        assert mapped(status) is c


def test_the_fetcher_maps_the_status_it_gets() -> None:
    settings = FetchSettings(allow_private_networks=True, respect_robots=False,
                             min_host_delay=timedelta(0), timeout=timedelta(seconds=5))

    async def fetch(url: str) -> FetchError:
        async with Fetcher(settings) as f:
            with pytest.raises(FetchError) as e:
                await f.fetch_feed(url)
        return e.value

    with LoopbackServer() as srv:
        for status in (404, 418, 503, 599):
            srv.route(f"/{status}", b"no", status=status)
        srv.route("/moved", b"", status=301)                     # no Location
        got = {path: asyncio.run(fetch(srv.url(path)))
               for path in ("/404", "/418", "/503", "/599", "/moved")}
    assert {path: e.code for path, e in got.items()} == {
        "/404": "http_404", "/418": "http_4xx", "/503": "http_503", "/599": "http_5xx",
        "/moved": "http_other"}
    assert all(isinstance(e.code, ErrorCode) for e in got.values())
    assert got["/418"].status == 418 and "HTTP 418" in str(got["/418"])   # the status is kept
    assert got["/moved"].status == 301


def test_a_webhook_status_gets_its_code() -> None:
    with LoopbackServer() as srv:
        srv.route("/gone", b"", status=410)
        srv.route("/teapot", b"", status=418)
        codes = {}
        for path in ("/gone", "/teapot"):
            with pytest.raises(DeliveryError) as e:
                post_webhook(srv.url(path), {"text": "t"}, timeout=5)
            codes[path] = e.value.code
    assert codes == {"/gone": ErrorCode.WEBHOOK_HTTP_410, "/teapot": ErrorCode.WEBHOOK_HTTP_4XX}


# --- a code that is not in the vocabulary is refused --------------------------------------

@pytest.mark.parametrize("value", ["no_such_code", "http_418", "http_301", "HTTP_404", "Timeout",
                                   "webhook_http_999", ""])
def test_an_unknown_code_string_is_rejected(value: str) -> None:
    with pytest.raises(ValueError):
        ErrorCode(value)


def test_errors_refuse_an_unknown_code() -> None:
    with pytest.raises(ValueError):
        FetchError("x", code="http_418", url="http://x.example/")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ExtractError("x", code="empty_txt")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FeedParseError("x", code="empty_feed")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DeliveryError("x", code="smtp_timeout")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DeliveryError("x", code="webhook_http_")  # type: ignore[arg-type]


def test_a_code_given_as_its_string_becomes_the_member() -> None:
    assert DeliveryError("x", code="smtp_auth").code is ErrorCode.SMTP_AUTH  # type: ignore[arg-type]
    with pytest.raises(ValueError):   # a status outside the fixed set is no code of its own
        DeliveryError("x", code="webhook_http_418")  # type: ignore[arg-type]
    assert FetchError("x", code="timeout", url="u").code is ErrorCode.TIMEOUT  # type: ignore[arg-type]
    assert DeliveryError("x").code is ErrorCode.DELIVERY_ERROR


# --- members are their strings ----------------------------------------------------------

def test_members_read_and_format_as_their_value() -> None:
    code = ErrorCode.HTTP_404
    assert code == "http_404" and str(code) == "http_404" and f"{code}: gone" == "http_404: gone"
    assert ErrorCode("not_a_feed") is ErrorCode.NOT_A_FEED


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_code_is_stored_as_its_value(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        at = datetime.now(UTC)
        with Session(engine) as s, s.begin():
            s.add(FetchLog(feed_id=None, url="http://x.example/a", code=ErrorCode.HTTP_4XX,
                           message="HTTP 418", at=at))
            s.add(FetchLog(feed_id=None, url="http://x.example/b", code="http_418",
                           message="stored before the vocabulary", at=at))
        with Session(engine) as s:
            raw = s.execute(text("SELECT code FROM fetch_errors ORDER BY url")).scalars().all()
            read = s.scalars(select(FetchLog.code).order_by(FetchLog.url)).all()
    finally:
        engine.dispose()
    assert raw == ["http_4xx", "http_418"] and read == raw     # an old row reads as it was
