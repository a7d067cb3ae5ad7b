"""OutlookCalendar against the Graph emulator: paging, tokens, retries, batches, ownership."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import attrs
import pytest

from calsync._errors import (
    AccessDeniedError,
    RejectedError,
    ThrottledError,
)
from calsync.adapters import Create, Delete, Update
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.model import Attendee, Event, Recurrence, RecurrenceRule, Response
from calsync.testing import GraphEmulator, GraphMailbox
from calsync.testing._graph import GraphRequest
from tests.adapters.outlook_support import WINDOW, Sleeps, fast_retry, make_adapter, user_body

UTC = timezone.utc


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 4, day, hour, tzinfo=UTC)


def single(title: str, day: int = 5, **changes: object) -> Event:
    event = Event(title, at(day), at(day, 10), timezone="Europe/Brussels")
    return attrs.evolve(event, **changes) if changes else event


def weekly(title: str = "Weekly", count: int = 5) -> Event:
    start = datetime(2027, 4, 5, 7, tzinfo=UTC)  # Monday 09:00 Brussels
    rule = RecurrenceRule("WEEKLY", count=count, by_day=["MO"])
    return Event(
        title,
        start,
        start + timedelta(minutes=30),
        timezone="Europe/Brussels",
        recurrence=Recurrence(rule),
    )


@attrs.define
class Setup:
    graph: GraphEmulator
    alice: GraphMailbox
    loop: asyncio.AbstractEventLoop
    adapters: list[OutlookCalendar] = attrs.Factory(list)

    def adapter(self, **options: object) -> OutlookCalendar:
        adapter = make_adapter(self.graph, self.alice, **options)
        self.adapters.append(adapter)
        return adapter

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)


@pytest.fixture
def setup() -> Iterator[Setup]:
    with GraphEmulator() as graph:
        alice = graph.add_mailbox("alice@example.com", name="Alice")
        state = Setup(graph, alice, asyncio.new_event_loop())
        try:
            yield state
        finally:
            for adapter in state.adapters:
                state.run(adapter.aclose())
            state.loop.close()
        assert graph.errors == []


def delta_requests(graph: GraphEmulator) -> list[GraphRequest]:
    return [r for r in graph.requests if "delta" in r.path]


# -- pulls ---------------------------------------------------------------------------------


def test_paging_and_prefer_headers_on_every_request(setup: Setup) -> None:
    for day in range(1, 6):
        setup.graph.create_event(setup.alice, user_body(single(f"E{day}", day)))
    adapter = setup.adapter(page_size=2)
    listing = setup.run(adapter.pull(None, WINDOW))
    assert listing.full
    assert sorted(item.event.title for item in listing.items) == [f"E{d}" for d in range(1, 6)]
    assert adapter.calls["delta"] == 3
    for request in setup.graph.all_requests:
        prefer = request.headers.get("prefer", "")
        assert 'IdType="ImmutableId"' in prefer
        assert 'outlook.timezone="UTC"' in prefer
    for request in delta_requests(setup.graph):
        assert "odata.maxpagesize=2" in request.headers["prefer"]


def test_noop_incremental_pull_is_one_request(setup: Setup) -> None:
    setup.graph.create_event(setup.alice, user_body(single("One")))
    setup.graph.create_event(setup.alice, user_body(weekly()))
    adapter = setup.adapter()
    full = setup.run(adapter.pull(None, WINDOW))
    before = adapter.requests
    quiet = setup.run(adapter.pull(full.cursor, WINDOW))
    print(f"\nno-op incremental pull: {adapter.requests - before} request(s)")
    assert adapter.requests - before == 1
    assert not quiet.items
    assert not quiet.full


def test_full_pull_request_count(setup: Setup) -> None:
    for day in range(1, 11):
        setup.graph.create_event(setup.alice, user_body(single(f"E{day}", day)))
    for n in range(3):
        setup.graph.create_event(setup.alice, user_body(weekly(f"S{n}")))
    adapter = setup.adapter()
    listing = setup.run(adapter.pull(None, WINDOW))
    assert len(listing.items) == 13
    print(f"\nfull pull of 13 events (3 series), page size 50: {adapter.requests} requests "
          f"{dict(adapter.calls)}")  # fmt: skip
    assert adapter.requests == 2  # one delta page, one $batch reading the 3 series


def test_expired_token_runs_a_full_round(setup: Setup) -> None:
    created = setup.graph.create_event(setup.alice, user_body(single("Kept")))
    adapter = setup.adapter()
    cursor = setup.run(adapter.pull(None, WINDOW)).cursor
    setup.graph.expire_delta_tokens(setup.alice)
    listing = setup.run(adapter.pull(cursor, WINDOW))
    assert listing.full
    assert [item.id for item in listing.items] == [created["id"]]
    assert any(setup.graph.status_of(r) == 410 for r in delta_requests(setup.graph))


def test_foreign_cursor_is_never_followed(setup: Setup) -> None:
    adapter = setup.adapter()
    listing = setup.run(
        adapter.pull("https://attacker.example/v1.0/me/calendarView/delta?$deltatoken=x", WINDOW)
    )
    assert listing.full
    assert all("attacker" not in r.target for r in setup.graph.requests)


def test_removed_events_are_reported(setup: Setup) -> None:
    gone = setup.graph.create_event(setup.alice, user_body(single("Gone")))
    adapter = setup.adapter()
    cursor = setup.run(adapter.pull(None, WINDOW)).cursor
    setup.graph.delete_event(setup.alice, gone["id"])
    listing = setup.run(adapter.pull(cursor, WINDOW))
    assert gone["id"] in listing.removed


# -- retries -------------------------------------------------------------------------------


def test_429_is_retried_by_calsync_not_by_the_sdk(setup: Setup) -> None:
    setup.graph.create_event(setup.alice, user_body(single("One")))
    sleeps = Sleeps()
    adapter = setup.adapter(retry=fast_retry(sleeps))
    setup.graph.throttle(setup.alice, retry_after=7, path=r"delta", times=1)
    listing = setup.run(adapter.pull(None, WINDOW))
    assert len(listing.items) == 1
    assert sleeps.delays == [7.0]  # Retry-After honoured
    assert len(delta_requests(setup.graph)) == 2
    assert adapter.requests == setup.graph.request_count()  # nothing sent behind calsync's back


def test_sdk_retry_handler_is_off(setup: Setup) -> None:
    adapter = setup.adapter(retry=fast_retry(attempts=1))
    setup.graph.throttle(setup.alice, retry_after=0, path=r"delta", times=1)
    with pytest.raises(ThrottledError):
        setup.run(adapter.pull(None, WINDOW))
    assert setup.graph.request_count() == 1


def test_503_on_a_batch_is_retried(setup: Setup) -> None:
    sleeps = Sleeps()
    adapter = setup.adapter(retry=fast_retry(sleeps))
    setup.graph.fail(503, retry_after=2, path=r"\$batch", times=1)
    (result,) = setup.run(adapter.apply([Create("k1", single("One"))]))
    assert result.ok, result.error
    assert sleeps.delays == [2.0]
    assert len(setup.graph.events(setup.alice)) == 1


def test_dropped_connection_is_retried(setup: Setup) -> None:
    setup.graph.create_event(setup.alice, user_body(single("One")))
    adapter = setup.adapter()
    setup.graph.drop(path=r"delta", times=1)
    listing = setup.run(adapter.pull(None, WINDOW))
    assert len(listing.items) == 1
    assert adapter.requests == 2


def test_inner_429_retries_only_the_throttled_requests(setup: Setup) -> None:
    sleeps = Sleeps()
    adapter = setup.adapter(retry=fast_retry(sleeps))
    setup.graph.throttle(setup.alice, retry_after=3, inner=True, method="POST", skip=1, times=1)
    writes = [Create(f"k{n}", single(f"E{n}", n + 1)) for n in range(3)]
    results = setup.run(adapter.apply(writes))
    assert all(r.ok for r in results), [r.error for r in results]
    assert sleeps.delays == [3.0]
    posts = [r for r in setup.graph.inner_requests if r.method == "POST"]
    assert len(posts) == 4  # three creates, one of them twice
    assert len(setup.graph.events(setup.alice)) == 3


def test_throttling_that_outlasts_the_policy_is_a_result(setup: Setup) -> None:
    adapter = setup.adapter(retry=fast_retry(attempts=2))
    setup.graph.throttle(setup.alice, retry_after=1, inner=True, method="POST", times=5)
    (result,) = setup.run(adapter.apply([Create("k1", single("One"))]))
    assert isinstance(result.error, ThrottledError)
    assert result.error.retry_after == 1.0


# -- writes --------------------------------------------------------------------------------


def test_some_failed_inner_requests_do_not_stop_the_others(setup: Setup) -> None:
    adapter = setup.adapter()
    setup.graph.fail(400, "ErrorInvalidRequest", inner=True, method="POST", skip=1, times=1)
    writes = [Create(f"k{n}", single(f"E{n}", n + 1)) for n in range(3)]
    results = setup.run(adapter.apply(writes))
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, RejectedError)
    assert results[1].error.code == "ErrorInvalidRequest"
    assert len(setup.graph.events(setup.alice)) == 2


def test_lost_answer_to_a_create_makes_no_duplicate(setup: Setup) -> None:
    adapter = setup.adapter()
    setup.graph.drop(after=True, inner=True, method="POST", times=1)
    (result,) = setup.run(adapter.apply([Create("key-1", single("Once"))]))
    assert result.ok, result.error
    events = setup.graph.events(setup.alice)
    assert [e["subject"] for e in events] == ["Once"]
    assert result.stored is not None
    assert result.stored.id == events[0]["id"]
    assert result.stored.key == "key-1"
    assert any(setup.graph.status_of(r) == 400 for r in setup.graph.inner_requests)


def test_a_cancelled_apply_sends_nothing_afterwards(setup: Setup) -> None:
    """A run cancelled while its ``$batch`` is out (a dying worker, a timeout around it)
    leaves no task behind that would send that batch again once the loop runs on."""
    adapter = setup.adapter()
    task = setup.loop.create_task(adapter.apply([Create("k1", single("Lost"))]))

    def cancel(request: GraphRequest) -> bool:
        setup.loop.call_soon_threadsafe(task.cancel)
        return True

    setup.graph.drop(path=r"/\$batch$", match=cancel)
    with pytest.raises(asyncio.CancelledError):
        setup.run(task)
    assert setup.graph.wait_idle()
    assert [t for t in asyncio.all_tasks(setup.loop) if not t.done()] == []
    setup.run(asyncio.sleep(0.1))  # the loop runs on, as it would for the next run
    assert setup.graph.request_count() == 1, "the dropped batch was not sent again"
    assert setup.graph.events(setup.alice) == []


def test_create_again_after_the_user_deleted_it(setup: Setup) -> None:
    adapter = setup.adapter()
    (first,) = setup.run(adapter.apply([Create("key-1", single("Once"))]))
    assert first.stored is not None
    setup.graph.delete_event(setup.alice, first.stored.id)
    (again,) = setup.run(adapter.apply([Create("key-1", single("Twice"))]))
    assert again.ok, again.error
    assert [e["subject"] for e in setup.graph.events(setup.alice)] == ["Twice"]


def test_create_with_a_known_key_updates_the_event(setup: Setup) -> None:
    adapter = setup.adapter()
    (first,) = setup.run(adapter.apply([Create("key-1", single("Draft"))]))
    (again,) = setup.run(adapter.apply([Create("key-1", single("Final", location="Hall"))]))
    assert again.ok, again.error
    assert again.stored is not None
    assert first.stored is not None
    assert again.stored.id == first.stored.id
    assert again.stored.event.title == "Final"
    assert again.stored.event.location == "Hall"


def test_412_with_only_bookkeeping_changed_is_retried_once(setup: Setup) -> None:
    adapter = setup.adapter()
    meeting = single("Review", attendees=[Attendee("bob@example.com", "Bob")])
    (created,) = setup.run(adapter.apply([Create("k1", meeting)]))
    assert created.stored is not None
    setup.graph.respond(setup.alice, created.stored.id, "bob@example.com", "accepted")
    moved = attrs.evolve(meeting, title="Review (renamed)")
    (result,) = setup.run(adapter.apply([Update("k1", moved, created.stored)]))
    assert result.ok, result.error
    assert result.stored is not None
    assert result.stored.event.title == "Review (renamed)"
    statuses = [setup.graph.status_of(r) for r in setup.graph.inner_requests if r.method == "PATCH"]
    assert statuses == [412, 200]


def test_412_with_a_real_edit_is_a_precondition_failure(setup: Setup) -> None:
    from calsync._errors import PreconditionFailedError

    adapter = setup.adapter()
    (created,) = setup.run(adapter.apply([Create("k1", single("Review"))]))
    assert created.stored is not None
    setup.graph.update_event(setup.alice, created.stored.id, {"subject": "Edited in Outlook"})
    (result,) = setup.run(adapter.apply([Update("k1", single("Mine"), created.stored)]))
    assert isinstance(result.error, PreconditionFailedError)
    assert setup.graph.get_event(setup.alice, created.stored.id)["subject"] == "Edited in Outlook"


def test_update_sends_only_changed_properties(setup: Setup) -> None:
    adapter = setup.adapter()
    (created,) = setup.run(adapter.apply([Create("k1", single("Review"))]))
    assert created.stored is not None
    setup.run(adapter.apply([Update("k1", single("Renamed"), created.stored)]))
    (patch,) = [r for r in setup.graph.inner_requests if r.method == "PATCH"]
    assert patch.json() == {"subject": "Renamed"}
    assert patch.headers["if-match"] == f'W/"{created.stored.version}"'


def test_read_only_meeting_gets_an_answer_only(setup: Setup) -> None:
    invite = single("Their meeting", attendees=[Attendee("alice@example.com", "Alice")])
    seeded = setup.graph.seed_event(
        setup.alice, user_body(invite), organizer=("Bob", "bob@example.com")
    )
    adapter = setup.adapter()
    (item,) = setup.run(adapter.pull(None, WINDOW)).items
    assert item.read_only
    assert item.id == seeded["id"]
    accepted = attrs.evolve(
        item.event,
        title="calsync must not rename it",
        attendees=[Attendee("alice@example.com", "Alice", response=Response.ACCEPTED)],
    )
    (result,) = setup.run(adapter.apply([Update("k", accepted, item)]))
    assert result.ok, result.error
    assert result.stored is not None
    assert result.stored.event.title == "Their meeting"
    (own,) = [a for a in result.stored.event.attendees if a.email == "alice@example.com"]
    assert own.response is Response.ACCEPTED
    methods = {(r.method, r.path.rsplit("/", 1)[-1]) for r in setup.graph.inner_requests}
    assert ("POST", "accept") in methods
    assert not [r for r in setup.graph.inner_requests if r.method in ("PATCH", "DELETE")]
    (accept,) = [r for r in setup.graph.inner_requests if r.path.endswith("/accept")]
    assert accept.json() == {"sendResponse": False}
    assert setup.graph.mail_log(setup.alice) == []
    (deleted,) = setup.run(adapter.apply([Delete("k", result.stored)]))
    assert isinstance(deleted.error, AccessDeniedError)
    assert setup.graph.get_event(setup.alice, item.id)["subject"] == "Their meeting"


def test_series_with_exceptions_and_cancellations(setup: Setup) -> None:
    adapter = setup.adapter()
    series = weekly()
    assert series.recurrence is not None
    keys = list(series.recurrence.original_starts(series.start, series.timezone))
    moved = attrs.evolve(
        series, recurrence=None, title="Moved", start=keys[1] + timedelta(hours=3),
        end=keys[1] + timedelta(hours=3, minutes=30),
    )  # fmt: skip
    wanted = attrs.evolve(
        series,
        recurrence=Recurrence(
            series.recurrence.rule, exceptions={keys[1]: moved}, cancelled=[keys[3]]
        ),
    )
    (result,) = setup.run(adapter.apply([Create("s", wanted)]))
    assert result.ok, result.error
    assert result.stored is not None
    assert result.stored.event.recurrence == wanted.recurrence or (
        result.stored.event.fingerprint(adapter.projection)
        == wanted.fingerprint(adapter.projection)
    )
    instances = setup.graph.instances(setup.alice, result.stored.id, WINDOW.start, WINDOW.end)
    assert [i["subject"] for i in instances] == ["Weekly", "Moved", "Weekly", "Weekly"]
    # A user's edit of one occurrence changes the series' version.
    setup.graph.update_event(setup.alice, instances[2]["id"], {"subject": "Edited"})
    fetched = setup.run(adapter.fetch([result.stored.id]))[result.stored.id]
    assert fetched is not None
    assert fetched.version != result.stored.version
    assert fetched.key == "s"
    exceptions = fetched.event.recurrence.exception_map if fetched.event.recurrence else {}
    assert exceptions[keys[2]].title == "Edited"


def test_unsupported_rule_is_a_rejected_result(setup: Setup) -> None:
    adapter = setup.adapter()
    start = datetime(2027, 1, 31, 9, tzinfo=UTC)
    monthly = Event(
        "Month end", start, start + timedelta(hours=1),
        recurrence=Recurrence(RecurrenceRule("MONTHLY", by_month_day=31, count=3)),
    )  # fmt: skip
    (result,) = setup.run(adapter.apply([Create("m", monthly)]))
    assert isinstance(result.error, RejectedError)
    assert result.error.code == "unsupported-recurrence"
    assert "Outlook cannot hold this series" in str(result.error)
    assert "2027-02-28 where the rule has 2027-03-31" in str(result.error)  # RFC skips February
    assert setup.graph.request_count() == 0


def test_hundred_creates_take_five_batches(setup: Setup) -> None:
    adapter = setup.adapter()
    writes = [Create(f"k{n}", single(f"E{n}", 1 + n % 28)) for n in range(100)]
    results = setup.run(adapter.apply(writes))
    assert all(r.ok for r in results)
    print(f"\n100 creates: {adapter.requests} requests {dict(adapter.calls)}")
    assert adapter.calls["batch"] == 5
    assert adapter.requests == 5
    assert len(setup.graph.events(setup.alice)) == 100


def test_never_more_than_four_requests_in_flight() -> None:
    with GraphEmulator(latency=0.01, concurrency_limit=4) as graph:
        alice = graph.add_mailbox("alice@example.com")
        loop = asyncio.new_event_loop()
        adapter = make_adapter(graph, alice)
        writes = [Create(f"k{n}", single(f"E{n}", 1 + n % 28)) for n in range(45)]

        async def busy() -> None:
            results = await adapter.apply(writes)
            assert all(r.ok for r in results)
            ids = [r.stored.id for r in results if r.stored is not None]
            await asyncio.gather(adapter.fetch(ids[:25]), adapter.fetch(ids[25:]),
                                 adapter.pull(None, WINDOW))  # fmt: skip

        try:
            loop.run_until_complete(busy())
        finally:
            loop.run_until_complete(adapter.aclose())
            loop.close()
        assert graph.max_concurrency(alice) <= 4
        assert not [r for r in graph.all_requests if graph.status_of(r) == 429]


def test_no_token_in_logs_or_reprs(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = setup.adapter()
    setup.graph.throttle(setup.alice, retry_after=0, path=r"delta", times=1)
    setup.graph.fail(400, inner=True, times=1)
    setup.run(adapter.apply([Create("k1", single("One")), Create("k2", single("Two", 6))]))
    setup.run(adapter.pull(None, WINDOW))
    token = setup.alice.token
    assert caplog.records
    assert token not in caplog.text
    assert token not in repr(adapter)
    assert token not in repr(StaticToken(token))
    assert token not in str(StaticToken(token))


def test_import_calsync_does_not_import_msgraph() -> None:
    code = (
        "import sys, calsync, calsync.adapters, calsync.adapters.outlook, calsync.model; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('msgraph', 'msgraph_core', "
        "'kiota_abstractions', 'kiota_http')]; print(loaded); assert not loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_return_existing_mode_makes_no_duplicate() -> None:
    with GraphEmulator(duplicate_transaction="return_existing") as graph:
        alice = graph.add_mailbox("alice@example.com")
        loop = asyncio.new_event_loop()
        adapter = make_adapter(graph, alice)
        try:
            (first,) = loop.run_until_complete(adapter.apply([Create("k", single("Draft"))]))
            (again,) = loop.run_until_complete(adapter.apply([Create("k", single("Final"))]))
        finally:
            loop.run_until_complete(adapter.aclose())
            loop.close()
        assert first.stored is not None
        assert again.stored is not None
        assert again.stored.id == first.stored.id
        assert [e["subject"] for e in graph.events(alice)] == ["Final"]


def test_series_and_singles_over_small_pages(setup: Setup) -> None:
    setup.graph.create_event(setup.alice, user_body(single("A", 1)))
    setup.graph.create_event(setup.alice, user_body(weekly("S", count=5)))
    setup.graph.create_event(setup.alice, user_body(single("B", 20)))
    adapter = setup.adapter(page_size=2)
    listing = setup.run(adapter.pull(None, WINDOW))
    assert sorted(i.event.title for i in listing.items) == ["A", "B", "S"]
    (series,) = [i for i in listing.items if i.event.recurrence is not None]
    assert series.key is None  # made by the user, not by calsync
    assert adapter.calls["batch:series"] == 1


def test_a_round_expiring_while_paging_starts_again(setup: Setup) -> None:
    for day in range(1, 6):
        setup.graph.create_event(setup.alice, user_body(single(f"E{day}", day)))
    adapter = setup.adapter(page_size=2)
    graph = setup.graph
    graph.fail(410, "syncStateNotFound", path=r"delta", skip=1, times=1)
    listing = setup.run(adapter.pull(None, WINDOW))
    assert listing.full
    assert len(listing.items) == 5
