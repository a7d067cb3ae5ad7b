"""Replay every recorded exchange with a real Odoo 18.0 server against the emulator.

Each request of ``tests/data/odoo-transcripts/NN_*.json`` is sent over HTTP exactly
as recorded (same path, same JSON body) and the answer is compared with the
recorded one. Ids, timestamps and rule texts are reproduced exactly, not
normalised: the only inputs the test controls are the ones a real server takes
from its environment, each listed below with the recording it comes from.

Environment inputs
------------------
* **Two databases.** Transcripts 01-34 ran on one fresh database (2026-11-23);
  35-43 on a second fresh database (2026-11-24; partner ids start at 7 again).
  Each gets its own emulator.
* **Clock.** The emulator's clock follows the recording: :data:`CLOCK_ANCHORS`
  sets it at the exchanges whose writes later reads show (their ``write_date``,
  ``create_date`` or ``rrule`` DTSTART second); between anchors it advances by
  each exchange's recorded ``elapsed_ms``.
* **Series creation order.** Odoo creates the missing occurrences of a series in
  the iteration order of a Python ``set`` of datetimes, which depends on the
  server process's hash seed. :data:`SERIES_ORDERS` gives the recorded order of
  each series (read off the ids the recording shows) to the emulator's
  ``series_order`` hook.
* **Unrecorded activity in the second database** (:func:`prepare_second_database`):
  before 35 it had used event ids 1-10 (35 creates event 11, attendee 11) and
  six of those events were still active (39 counts 14 events = 6 + the 8 created
  in 35-39); between 42 and 43 a separate timing run used event ids 31-238 and
  external ids 19380-19587 (43 creates event 239, external id 19588).

* **Concurrency [42].** Exchanges 9/10 and 12/13 were sent at the same instant on
  two connections; PostgreSQL serialised them and Odoo retried the loser, which
  committed last with the later ``write_date``. The replay sends each pair one
  after the other in that commit order (the emulator runs one transaction at a
  time), with the clock anchored at each one's recorded second.

Normalisers (each a named, documented difference)
-------------------------------------------------
* ``traceback``: ``error.data.debug`` is any string (the recordings elide the frames).
* ``chatter ids``: ``message_ids``/``message_follower_ids`` hold as many ints as
  recorded; their values come from chatter rows of a fresh install and of
  unrecorded activity that the emulator does not model.
* ``server address``: ``web.base.url`` names the emulator's port, not 8069.
* ``random tag colour``: a tag created without a colour gets a random 1-11 [37].
* ``session cookie``: ``Set-Cookie`` must be present exactly when recorded and have
  the recorded attributes and expiry; the ``session_id`` token is random.
* ``preview prefix``: transcript 34 kept only the first ~300 characters of each
  answer (``result_preview``); the emulator's JSON text must start with them.

Everything else (ids, timestamps, rrule texts, names, orders, error messages)
is compared exactly. Exemptions: :data:`EXEMPTIONS` (each with its reason).

Recordings of the conformance scenarios
---------------------------------------
``tests/data/odoo-recordings/*.json`` hold every exchange of the conformance
scenarios (``tests/conformance``) with a real server, calsync's and the
scenario's own, refusals included, made by ``python -m tests.conformance.record``
(see :mod:`tests.conformance.record` to re-record). Each replays on a new
emulator of the recorded version and database name, with the same
normalisers and no exemptions. Their environment inputs are in the files:

* **Database.** A copy of a new database (``db.create_database``, then
  ``calendar`` installed): the state a new emulator starts from.
* **Clock.** Each exchange's ``at``, the time the recorder forwarded it; a
  request that may write was held until less than half of its second had
  gone, so its ``write_date`` (the transaction's start) falls in that second.
* **Series creation order.** Each exchange's ``new_events``: the event rows it
  created, in id order; :class:`RecordedOrder` hands it to ``series_order``.
* **Physical row order.** Each writing exchange's ``heap``: the ``ctid`` order of
  the event and attendee tables after it, when it changed. Odoo orders
  attendees by ``create_date`` alone (events by ``start``): ties come back as
  PostgreSQL's quicksort leaves the rows it read in that order. The emulator
  sorts like PostgreSQL; where its rows lie it only approximates (a write
  moves a row to the end when Odoo would flush it; pages, HOT updates and
  pruning it does not model), so the replay lays them out as recorded
  (``OdooEmulator.set_physical_order``) after each exchange.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import pytest

from calsync.testing import OdooEmulator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "odoo-transcripts"
RECORDED_HOST = "http://127.0.0.1:8069"
FIRST_DATABASE = range(1, 35)
INSTALL_TIMES = {1: "2026-11-23 23:28:29", 35: "2026-11-24 09:18:00"}

#: (transcript, exchange) -> the recording's clock when that exchange started
CLOCK_ANCHORS: dict[tuple[int, int], str] = {
    (1, 0): "2026-11-23 23:30:50.000000",
    (6, 0): "2026-11-23 23:30:56.986170",  # odoo.md 5.2: event 1 stored at :56.98617
    (7, 0): "2026-11-23 23:30:57.300000",  # event 2 write_date :57
    (8, 0): "2026-11-23 23:30:58.031000",  # odoo.md 5.9: event 3 at :58.031
    (8, 2): "2026-11-23 23:30:58.225000",  # odoo.md 5.9: event 5 at :58.225
    (9, 0): "2026-11-23 23:30:58.463089",  # odoo.md 5.9: the weekly series at :58.463089
    (11, 0): "2026-11-23 23:30:59.100000",  # DTSTART 233059
    (13, 0): "2026-11-23 23:31:00.300000",  # event 7 write_date 23:31:00
    (15, 0): "2026-11-23 23:31:01.000000",  # DTSTART 233101
    (25, 0): "2026-11-23 23:31:03.029201",  # odoo.md 5.2: multi-create at :03.029201
    (26, 0): "2026-11-23 23:32:20.000000",
    (27, 0): "2026-11-23 23:32:25.100000",  # session cookie issued at 23:32:25
    (33, 1): "2026-11-23 23:32:30.100000",  # attendee write_date 23:32:30
    (35, 0): "2026-11-24 09:18:50.100000",
    (35, 20): "2026-11-24 09:18:51.000000",
    (36, 0): "2026-11-24 09:19:27.000000",
    (37, 0): "2026-11-24 09:19:39.000000",
    (37, 9): "2026-11-24 09:19:40.000000",
    (38, 0): "2026-11-24 09:20:07.000000",
    (39, 0): "2026-11-24 09:20:56.000000",
    (39, 6): "2026-11-24 09:20:58.200000",
    (39, 11): "2026-11-24 09:20:59.000000",
    (40, 0): "2026-11-24 09:21:34.000000",
    (40, 3): "2026-11-24 09:21:35.000000",
    (41, 0): "2026-11-24 09:21:47.000000",
    (42, 0): "2026-11-24 09:22:16.000000",
    (42, 2): "2026-11-24 09:22:17.000000",
    (
        42,
        9,
    ): "2026-11-24 09:22:18.900000",  # 9 and 10 ran concurrently; 10 retried and committed at :19
    (42, 10): "2026-11-24 09:22:19.500000",
    (42, 12): "2026-11-24 09:22:20.000000",
    (42, 13): "2026-11-24 09:22:20.500000",
    (42, 16): "2026-11-24 09:22:23.000000",
    (42, 18): "2026-11-24 09:22:24.000000",
    (42, 20): "2026-11-24 09:22:25.000000",
    (42, 22): "2026-11-24 09:22:27.000000",
    (43, 0): "2026-11-24 09:26:02.000000",
}

#: recorded creation order of each new series' occurrences, as (start, ...) in id order
SERIES_ORDERS: tuple[tuple[str, ...], ...] = (
    (
        "2026-12-14 14:00:00",
        "2026-12-16 14:00:00",
        "2026-12-09 14:00:00",
        "2026-12-21 14:00:00",
    ),  # [09] ids 7-10
    (
        "2027-01-01 08:00:00",
        "2027-01-15 08:00:00",
        "2026-12-18 08:00:00",
        "2027-01-29 08:00:00",
    ),  # [10] ids 12-15
    ("2027-03-29 12:00:00", "2027-03-22 13:00:00", "2027-04-05 12:00:00"),  # [11] ids 17-19
    ("2027-03-27 13:00:00", "2027-03-29 13:00:00", "2027-03-28 13:00:00"),  # [30] ids 31-33
    ("2027-02-15 09:00:00", "2027-02-08 09:00:00"),  # [31] ids 39-40
    ("2027-02-15 11:00:00", "2027-02-08 11:00:00"),  # [31] rebuilt series, ids 41-42
)

#: (transcript, exchange): reason the recorded answer cannot be reproduced (none needed)
EXEMPTIONS: dict[tuple[int, int], str] = {}


class ReplayClock:
    """A settable clock: anchored to the recording, advanced by each exchange's duration."""

    def __init__(self, start: str) -> None:
        self.now = datetime.fromisoformat(start)

    def __call__(self) -> datetime:
        return self.now


def series_order(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The recorded order of a series' new occurrences (chronological when not recorded)."""
    starts = {start.strftime("%Y-%m-%d %H:%M:%S"): (start, stop) for start, stop in ranges}
    for recorded in SERIES_ORDERS:
        if set(recorded) == set(starts):
            return [starts[start] for start in recorded]
    return sorted(ranges)


# -- normalisers ----------------------------------------------------------------------------


@attrs.frozen
class Normaliser:
    """A documented, named difference: where it ``applies``, which values it ``accepts``."""

    name: str
    reason: str
    applies: Callable[[tuple[Any, ...], int], bool]
    accepts: Callable[[Any, Any], bool]


def _is_str(_recorded: Any, actual: Any) -> bool:
    return isinstance(actual, str)


def _int_list(recorded: Any, actual: Any) -> bool:
    return (
        isinstance(actual, list)
        and len(actual) == len(recorded)
        and all(isinstance(item, int) for item in actual)
    )


def _tail(path: tuple[Any, ...], *names: str) -> bool:
    return bool(path) and path[-1] in names


NORMALISERS: tuple[Normaliser, ...] = (
    Normaliser(
        "traceback",
        "error.data.debug holds the server traceback; the recordings elide the frames",
        lambda path, _n: _tail(path, "debug"),
        _is_str,
    ),
    Normaliser(
        "chatter ids",
        "ids of mail.message / mail.followers rows: a fresh install's chatter rows and the second "
        "database's unrecorded activity decide them; the number of rows must match",
        lambda path, _n: _tail(path, "message_ids", "message_follower_ids"),
        _int_list,
    ),
    Normaliser(
        "server address",
        "web.base.url is the address the admin's web login came from (the emulator's port)",
        lambda path, _n: _tail(path, "web.base.url"),
        lambda recorded, actual: isinstance(actual, str) and actual.startswith("http://127.0.0.1:"),
    ),
    Normaliser(
        "random tag colour",
        "calendar.event.type picks a random colour 1-11 when none is given [37]",
        lambda path, n: n == 37 and _tail(path, "color"),
        lambda recorded, actual: isinstance(actual, int) and 1 <= actual <= 11,
    ),
)


@attrs.define
class Tally:
    """Counts for the summary."""

    compared: int = 0
    exact: int = 0
    normalised: int = 0
    exempted: int = 0
    used: dict[str, int] = attrs.field(factory=dict)


def _where(path: tuple[Any, ...]) -> str:
    return "/".join(map(str, path))


def compare(
    recorded: Any, actual: Any, path: tuple[Any, ...], transcript: int, hits: list[str]
) -> list[str]:
    """Differences between a recorded and an actual JSON value (normalisers applied)."""
    for normaliser in NORMALISERS:
        if normaliser.applies(path, transcript) and recorded != actual:
            if normaliser.accepts(recorded, actual):
                hits.append(normaliser.name)
                return []
            return [f"{_where(path)}: {normaliser.name} rejects {actual!r} (recorded {recorded!r})"]
    if isinstance(recorded, dict) and isinstance(actual, dict):
        problems = []
        for key in recorded.keys() | actual.keys():
            if key not in actual or key not in recorded:
                side = "recording" if key in recorded else "emulator"
                problems.append(f"{_where((*path, key))}: key only in the {side}")
                continue
            problems += compare(recorded[key], actual[key], (*path, key), transcript, hits)
        return problems
    if isinstance(recorded, list) and isinstance(actual, list) and len(recorded) == len(actual):
        problems = []
        for index, (left, right) in enumerate(zip(recorded, actual, strict=True)):
            problems += compare(left, right, (*path, index), transcript, hits)
        return problems
    if recorded == actual and type(recorded) is type(actual):
        return []
    return [f"{'/'.join(map(str, path))}: recorded {recorded!r}, emulator {actual!r}"]


# -- replay ---------------------------------------------------------------------------------


def transcripts() -> Iterator[tuple[int, dict[str, Any]]]:
    """Every transcript in order, with its number."""
    for file in sorted(TRANSCRIPTS.glob("*.json")):
        yield int(file.name[:2]), json.loads(file.read_text("utf-8"))


def prepare_second_database(odoo: OdooEmulator) -> None:
    """Event ids 1-10 were used before transcript 35; six of those events stayed active."""
    placeholders = [
        {
            "name": f"unrecorded {index}",
            "start": "2027-06-01 09:00:00",
            "stop": "2027-06-01 10:00:00",
        }
        for index in range(1, 11)
    ]
    ids = odoo.execute(
        "admin", "calendar.event", "create", placeholders, context={"no_mail_to_attendees": True}
    )
    odoo.execute("admin", "calendar.event", "unlink", ids[6:])


def before_exchange(odoo: OdooEmulator, number: int, index: int) -> None:
    """Unrecorded activity between two recorded exchanges."""
    if (number, index) == (43, 0):
        odoo.set_next_id("calendar.event", 239)
        odoo.set_next_id("ir.model.data", 19588)


def request_of(exchange: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The path and JSON body of a recorded request."""
    path = exchange["url"].replace(RECORDED_HOST, "")
    if "request" in exchange:
        return path, exchange["request"]
    request_id = int(re.search(r'"id": (\d+)', exchange["result_preview"]).group(1))  # type: ignore[union-attr]
    return path, {
        "jsonrpc": "2.0",
        "method": "call",
        "params": exchange["params"],
        "id": request_id,
    }


def check_exchange(
    number: int,
    index: int,
    exchange: dict[str, Any],
    response: httpx.Response,
    tally: Tally,
    where: str = "",
) -> list[str]:
    """Compare one answer; returns the problems (empty when it matches)."""
    where = where or f"[{number:02d}/{index}]"
    if "result_preview" in exchange:
        text = json.dumps(response.json(), ensure_ascii=False)
        preview = exchange["result_preview"]
        tally.used["preview prefix"] = tally.used.get("preview prefix", 0) + 1
        tally.normalised += 1
        return (
            []
            if text.startswith(preview)
            else [
                f"{where} preview differs:\n  recorded {preview}\n  emulator {text[: len(preview)]}"
            ]
        )
    problems = []
    if response.status_code != exchange["http_status"]:
        problems.append(f"{where} HTTP {response.status_code}, recorded {exchange['http_status']}")
    hits: list[str] = []
    problems += [
        f"{where} {problem}"
        for problem in compare(exchange["response"], response.json(), (), number, hits)
    ]
    problems += [f"{where} {problem}" for problem in check_cookie(exchange, response)]
    if exchange.get("set_cookie"):
        hits.append("session cookie")
    for name in hits:
        tally.used[name] = tally.used.get(name, 0) + 1
    if not problems:
        if hits:
            tally.normalised += 1
        else:
            tally.exact += 1
    return problems


def check_cookie(exchange: dict[str, Any], response: httpx.Response) -> list[str]:
    """Normaliser "session cookie": same presence, attributes and expiry; the token is random."""
    if "set_cookie" not in exchange:
        return []
    recorded = exchange["set_cookie"]
    actual = response.headers.get("set-cookie")
    if not recorded:
        return [] if actual is None else [f"unexpected Set-Cookie {actual!r}"]
    shape = re.compile(
        r"^session_id=[\w-]{20,}; Expires=\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT; "
        r"Max-Age=604800; HttpOnly; Path=/$"
    )
    if actual is None or not shape.match(actual):
        return [f"Set-Cookie {actual!r} does not look like {recorded!r}"]
    recorded_expiry = recorded.split("Expires=")[1].split(";")[0]
    actual_expiry = actual.split("Expires=")[1].split(";")[0]
    return (
        []
        if recorded_expiry == actual_expiry
        else [f"cookie expiry {actual_expiry}, recorded {recorded_expiry}"]
    )


def replay() -> tuple[Tally, list[str]]:
    """Run the whole recorded session against two emulators."""
    tally = Tally()
    problems: list[str] = []
    clock = ReplayClock(INSTALL_TIMES[1])
    odoo = OdooEmulator(clock=clock, series_order=series_order)
    odoo.start()
    try:
        for number, transcript in transcripts():
            if number == 35:
                odoo.stop()
                clock = ReplayClock(INSTALL_TIMES[35])
                odoo = OdooEmulator(clock=clock, series_order=series_order).start()
                prepare_second_database(odoo)
            problems += replay_transcript(odoo, clock, number, transcript, tally)
    finally:
        odoo.stop()
    return tally, problems


def replay_transcript(
    odoo: OdooEmulator, clock: ReplayClock, number: int, transcript: dict[str, Any], tally: Tally
) -> list[str]:
    """Send one transcript's requests on one client (its cookies stay within the transcript)."""
    problems = []
    with httpx.Client(base_url=odoo.url, timeout=30) as client:
        for index, exchange in enumerate(transcript["exchanges"]):
            anchor = CLOCK_ANCHORS.get((number, index))
            if anchor is not None:
                clock.now = datetime.fromisoformat(anchor)
            before_exchange(odoo, number, index)
            path, body = request_of(exchange)
            response = client.post(
                path, content=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            clock.now += timedelta(milliseconds=exchange.get("elapsed_ms", 1.0))
            tally.compared += 1
            if (number, index) in EXEMPTIONS:
                tally.exempted += 1
                continue
            problems += check_exchange(number, index, exchange, response, tally)
    return problems


# -- recordings of the conformance scenarios ------------------------------------------------

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "odoo-recordings"
_STAMP = "%Y-%m-%d %H:%M:%S"


@attrs.define
class RecordedOrder:
    """``series_order`` from the recording: the rows the current exchange created, by id."""

    created: list[list[Any]] = attrs.Factory(list)
    problems: list[str] = attrs.Factory(list)

    def __call__(self, ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
        ids = {(start, stop): row_id for row_id, start, stop in reversed(self.created)}
        keyed = [(ids.get((a.strftime(_STAMP), b.strftime(_STAMP))), (a, b)) for a, b in ranges]
        unknown = [pair for key, pair in keyed if key is None]
        if unknown:
            self.problems.append(f"series_order: {unknown} not created in the recording")
        return [pair for _, pair in sorted(keyed, key=lambda item: (item[0] is None, item[0] or 0))]


def recordings() -> list[Path]:
    """Every recording file, by name."""
    return sorted(RECORDINGS.glob("*.json.gz"))


def replay_recording(path: Path) -> tuple[Tally, list[str]]:
    """Replay one recording on a new emulator; returns the tally and the problems."""
    recording = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    exchanges = recording["exchanges"]
    clock = ReplayClock(exchanges[0]["at"])
    order = RecordedOrder()
    version = recording["server"].split()[1]
    tally, problems = Tally(), []
    odoo = OdooEmulator(version, db=recording["db"], clock=clock, series_order=order)
    with odoo, httpx.Client(base_url=odoo.url, timeout=60) as client:
        for index, exchange in enumerate(exchanges):
            clock.now = datetime.fromisoformat(exchange["at"])
            order.created = exchange.get("new_events", [])
            client.cookies.clear()  # the recorded headers carry the client's cookie, if any
            body = exchange["request"]
            response = client.request(
                exchange["method"],
                exchange["path"],
                content=body if isinstance(body, str) else json.dumps(body),
                headers=exchange["headers"],
            )
            tally.compared += 1
            where = f"[{path.name.split('.')[0]}/{index}]"
            problems += check_exchange(0, index, exchange, response, tally, where)
            problems += [f"{where} {problem}" for problem in order.problems]
            order.problems.clear()
            for model, ids in exchange.get("heap", {}).items():
                odoo.set_physical_order(model, ids)
    return tally, problems


@pytest.mark.parametrize("path", recordings(), ids=lambda path: path.name.split(".")[0])
def test_replay_a_conformance_recording(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every answer of a recorded conformance scenario is reproduced, up to the normalisers."""
    tally, problems = replay_recording(path)
    with capsys.disabled():
        used = ", ".join(f"{name} {count}" for name, count in sorted(tally.used.items()))
        print(
            f"\n{path.name.split('.')[0]}: {tally.compared} exchanges, {tally.exact} exact, "
            f"{tally.normalised} normalised" + (f" ({used})" if used else "")
        )
    assert not problems, "\n".join(problems[:40]) + (
        f"\n... and {len(problems) - 40} more" if len(problems) > 40 else ""
    )


def test_replay_every_recorded_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    """Every recorded answer is reproduced, up to the named normalisers and listed exemptions."""
    tally, problems = replay()
    with capsys.disabled():
        print(
            f"\nOdoo replay: {tally.compared} exchanges compared, {tally.exact} exact, "
            f"{tally.normalised} normalised, {tally.exempted} exempted"
        )
        for name, count in sorted(tally.used.items()):
            print(f"  normaliser {name!r}: {count}")
        for key, reason in sorted(EXEMPTIONS.items()):
            print(f"  exempted {key}: {reason}")
    assert not problems, "\n".join(problems)
