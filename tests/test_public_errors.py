"""Every public constructor, and its first use, raises only calsync's errors or a TypeError.

calsync promises that every error it raises is a :class:`~calsync.CalsyncError`
(a :class:`TypeError` when an argument has the wrong type). Hypothesis draws the
arguments of every public class and function that builds something (plausible
values, extreme ones, and junk of any type), builds it, then uses it the way a
caller first would (a store loads a pair, an adapter lists its calendar, a
synchronizer runs...). Anything else escaping, a bare ``ValueError``,
``AttributeError``, ``OverflowError``, ``sqlite3.DatabaseError``, a SQLAlchemy
or httpx error, fails the test.

:data:`CASES` names each constructor with the strategies of its parameters and
its first use; :func:`test_every_public_constructor_is_checked` keeps the list
complete: a new public class without a case fails it. Network uses reach only
loopback: the emulators, or a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calsync
from calsync import CalsyncError
from calsync.adapters import Create, Delete, Listing, RemoteEvent, Update
from calsync.adapters.memory import MemoryCalendar
from calsync.adapters.odoo import (
    AutoTransport,
    Json2Transport,
    JsonRpcTransport,
    OdooCalendar,
    OdooDatabase,
)
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.auth import ApplicationCredential, MicrosoftAuth
from calsync.engine import Link, Links, SideInput, SideRef, plan
from calsync.model import Event, Projection, Recurrence, RecurrenceRule, Window
from calsync.stores import MemoryStore, MemorySubscriptionStore, MemoryTokenStore, SQLiteStore
from calsync.testing import GraphEmulator, OdooEmulator
from tests.strategies import events

UTC = timezone.utc
PUBLIC = (
    "calsync",
    "calsync.model",
    "calsync.engine",
    "calsync.adapters",
    "calsync.adapters.memory",
    "calsync.adapters.odoo",
    "calsync.adapters.outlook",
    "calsync.stores",
    "calsync.auth",
    "calsync.subscriptions",
    "calsync.testing",
)
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))

# -- values ------------------------------------------------------------------------------------

EXTREME_DATETIMES = st.sampled_from(
    [
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime(9999, 12, 1, tzinfo=UTC),
        datetime(1, 1, 2, tzinfo=UTC),
        datetime(2027, 3, 1, 9),  # naive
    ]
)
datetimes = st.datetimes(timezones=st.just(UTC)) | EXTREME_DATETIMES
timedeltas = st.timedeltas() | st.sampled_from([timedelta.max, timedelta.min, timedelta(0)])
numbers = (
    st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from([0, -1, 1, 10**6, math.inf, -math.inf, math.nan])
)
texts = st.text(max_size=20) | st.sampled_from(["", " ", "\x00", "é" * 300, "a@b.c"])
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    texts,
    st.binary(max_size=8),
    datetimes,
    st.dates(),
    timedeltas,
    st.lists(st.none() | st.integers() | texts, max_size=3),
    st.dictionaries(texts, st.integers() | texts, max_size=2),
    st.builds(object),
)
URLS = st.sampled_from(
    [
        "http://",
        "https://",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:1",
        "http://localhost:1/v1.0",
        "127.0.0.1:8069",
        "odoo.example.com",
        "http://127.0.0.1:1/odoo",
        "ftp://127.0.0.1/",
        "http://[::1",
        "",
        "http://user:pass@127.0.0.1:1/",
    ]
)


def good_event() -> st.SearchStrategy[Event]:
    return events()


def junk_or(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the plausible values, sometimes junk of any type."""
    return st.one_of(strategy, strategy, JUNK)


def remote_events() -> st.SearchStrategy[RemoteEvent]:
    return st.builds(RemoteEvent, id=st.sampled_from(["1", "2"]), event=good_event())


# -- first uses ----------------------------------------------------------------------------------


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 20))


async def pull_and_close(adapter: Any) -> None:
    try:
        await adapter.pull(None, WINDOW)
    finally:
        await adapter.aclose()


def use_store(store: Any) -> None:
    with store.lock("p"):
        store.load("p")
        store.commit("p", links={}, cursors={"odoo": "1"}, done=(), held=())
    store.close()


def use_token_store(store: Any) -> None:
    store.set("ann", "{}")
    store.get("ann")
    store.close()


def use_subscription_store(store: Any) -> None:
    store.get("s")
    store.for_pair("p")
    store.close()


def use_sync(sync: calsync.Synchronizer) -> None:
    with sync:
        sync.preview()
        sync.run()


def use_event(event: Event) -> None:
    event.fingerprint()
    event.span()
    list(zip(range(3), event.occurrences(), strict=False))
    WINDOW.contains(event)


def edited(event_id: str, title: str, day: int) -> RemoteEvent:
    """An event of March 1st 2027 at 00:00 UTC, last modified on February ``day``."""
    start = datetime(2027, 3, 1, tzinfo=UTC)
    modified = datetime(2027, 2, day, tzinfo=UTC)
    return RemoteEvent(event_id, Event(title, start, start + timedelta(hours=1), modified=modified))


def use_rule(rule: Any) -> None:
    """Decide a conflict: the title changed on both sides since the link's base."""
    left, right, base = edited("L", "A", 1), edited("R", "B", 2), edited("", "C", 1).event
    link = Link("k", base, SideRef("L", "1"), SideRef("R", "1"))
    plan(SideInput("odoo", [left]), SideInput("outlook", [right]), [link], window=WINDOW, rule=rule)


def use_write(write: Any) -> None:
    run(MemoryCalendar().apply([write]))


def use_value(value: Any) -> None:
    """A data object's first use: shown and compared."""
    repr(value)
    str(value)
    _ = value == attrs.evolve(value) if attrs.has(type(value)) else value


def use_recurrence(recurrence: Recurrence) -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    use_event(Event("S", start, start + timedelta(hours=1), recurrence=recurrence))


def use_window(window: Window) -> None:
    window.contains(Event("A", datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC)))


def use_limiter(limiter: calsync.ConcurrencyLimiter) -> None:
    async def once() -> None:
        taken = await limiter.acquire("k")
        limiter.release("k", taken)

    run(once())


def use_projection(projection: Projection) -> None:
    projection(Event("A", datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC)))


def use_auth(auth: MicrosoftAuth) -> None:
    with auth:
        auth.authorization_url("ann@example.com")


def use_memory(adapter: MemoryCalendar) -> None:
    run(pull_and_close(adapter))


def pull_through(database: Any, odoo_url: str, odoo_db: str) -> None:
    """Bob's calendar pulls twice through the database: its second, incremental pull
    lists through it."""

    async def twice() -> None:
        bob = OdooCalendar(odoo_url, odoo_db, "bob", password="bob-pw", database=database)
        try:
            listing = await bob.pull(None, WINDOW)
            await bob.pull(listing.cursor, WINDOW)
        finally:
            await bob.aclose()
            await database.aclose()

    run(twice())


def use_transport(transport: Any) -> None:
    async def once() -> None:
        try:
            await transport.connect()
        finally:
            await transport.aclose()

    run(once())


# -- the cases -----------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class Case:
    """A public constructor, the strategies of its parameters, its first use.

    Its repr is its name: Hypothesis shows the test's arguments in a failure report,
    and some strategies build things (emulator mailboxes, files) when shown.
    """

    name: str
    make: Callable[..., Any]
    params: dict[str, st.SearchStrategy[Any]] = attrs.Factory(dict)
    use: Callable[[Any], Any] = use_value
    #: parameters that must be given (drawn every time)
    required: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"<case {self.name}>"


def store_paths(folder: Path) -> st.SearchStrategy[Any]:
    """A new file, a file that is no database, a directory, and junk."""
    junk = folder / "junk.bin"
    junk.write_bytes(b"this is not a SQLite database" * 50)
    text = folder / "text.sqlite3"
    text.write_text("SQLite format 3\x00 but broken" * 20)
    return st.sampled_from([folder / "new.sqlite3", junk, text, folder, str(folder / "s.db")])


def sql_urls(folder: Path) -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            f"sqlite:///{folder / 'sql.sqlite3'}",
            f"sqlite:///{folder / 'junk.bin'}",
            "nosuchdialect://x",
            "postgresql+nosuchdriver://x/y",
            "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
            "not a url",
            "",
        ]
    )


def cases(folder: Path, odoo: OdooEmulator, graph: GraphEmulator) -> list[Case]:
    """Every public constructor and function that builds something."""
    from calsync.stores import (
        SQLiteSubscriptionStore,
        SQLiteTokenStore,
        SQLStore,
        SQLSubscriptionStore,
        SQLTokenStore,
    )
    from calsync.subscriptions import SubscriptionManager

    paths, urls = store_paths(folder), sql_urls(folder)
    memory = st.builds(MemoryCalendar, name=st.sampled_from(["odoo", "outlook", "memory"]))
    adapters = memory | st.sampled_from([None, "odoo", 3])
    stores = st.sampled_from([MemoryStore(), None, "state.sqlite3"])
    odoo_urls = URLS | st.just(odoo.url)
    limiters = st.sampled_from([None, calsync.ConcurrencyLimiter(per_key=2), "eight", 8])
    graph_urls = URLS | st.just(graph.base_url)
    token = StaticToken(graph.add_mailbox(f"u{id(folder)}@example.com").token)
    rules = st.sampled_from([calsync.LatestWins(), calsync.Prefer("odoo"), calsync.KEEP_BOTH])
    return [
        # the model
        Case(
            "Event",
            Event,
            {
                "title": texts,
                "start": datetimes | st.dates(),
                "end": datetimes | st.dates(),
                "timezone": st.sampled_from(["UTC", "Europe/Paris", "Nowhere/City", ""]),
                "recurrence": st.builds(
                    Recurrence, st.builds(RecurrenceRule, st.sampled_from(["WEEKLY", "DAILY"]))
                ),
                "attendees": st.lists(texts, max_size=2),
                "reminders": st.lists(numbers, max_size=2),
            },
            use_event,
            frozenset({"title", "start", "end"}),
        ),
        Case(
            "Attendee",
            calsync.model.Attendee,
            {"email": texts, "name": texts, "kind": texts, "response": texts},
            use_value,
            frozenset({"email"}),
        ),
        Case(
            "Person",
            calsync.model.Person,
            {"email": texts, "name": texts},
            use_value,
            frozenset({"email"}),
        ),
        Case(
            "RecurrenceRule",
            RecurrenceRule,
            {
                "frequency": st.sampled_from(["WEEKLY", "MONTHLY", "x", None]),
                "interval": numbers,
                "count": numbers,
                "until": st.dates(),
                "by_day": st.lists(texts, max_size=2),
                "by_month_day": st.lists(numbers, max_size=2),
                "by_month": st.lists(numbers, max_size=2),
                "week_start": texts,
            },
            lambda r: use_recurrence(Recurrence(r)),
            frozenset({"frequency"}),
        ),
        Case(
            "RecurrenceRule.parse",
            RecurrenceRule.parse,
            {
                "text": st.sampled_from(
                    [
                        "FREQ=WEEKLY;BYDAY=MO",
                        "FREQ=YEARLY;COUNT=0",
                        "RRULE:FREQ=DAILY;UNTIL=99991231",
                        "FREQ=",
                        None,
                        3,
                    ]
                )
            },
            lambda r: use_recurrence(Recurrence(r)),
            frozenset({"text"}),
        ),
        Case(
            "Recurrence",
            Recurrence,
            {
                "rule": st.builds(RecurrenceRule, st.just("WEEKLY")),
                "exceptions": st.lists(
                    st.none()
                    | good_event()
                    | st.builds(calsync.model.ModifiedOccurrence, datetimes, good_event()),
                    max_size=2,
                ),
                "cancelled": st.lists(datetimes | st.none(), max_size=2),
            },
            use_recurrence,
            frozenset({"rule"}),
        ),
        *(
            Case(
                kind.__name__,
                kind,
                {"original_start": datetimes, "event": good_event()},
                use_value,
                frozenset({"original_start", "event"}),
            )
            for kind in (calsync.model.ModifiedOccurrence, calsync.model.Occurrence)
        ),
        Case(
            "WeekdayRule",
            calsync.model.WeekdayRule,
            {"weekday": texts, "ordinal": numbers},
            use_value,
            frozenset({"weekday"}),
        ),
        Case(
            "WeekdayRule.parse",
            calsync.model.WeekdayRule.parse,
            {"text": st.sampled_from(["MO", "-1FR", "9XX", ""])},
            use_value,
            frozenset({"text"}),
        ),
        Case(
            "Window",
            Window,
            {"start": datetimes, "end": datetimes},
            use_window,
            frozenset({"start", "end"}),
        ),
        Case(
            "Window.around",
            Window.around,
            {"now": datetimes, "past": timedeltas, "future": timedeltas},
            use_window,
        ),
        Case(
            "Projection",
            Projection,
            {
                "name": texts,
                "reminders": numbers,
                "availability": st.dictionaries(texts, texts, max_size=1),
                "privacy": st.dictionaries(texts, texts, max_size=1),
            },
            use_projection,
        ),
        Case(
            "canonical",
            calsync.model.canonical,
            {"event": good_event()},
            use_value,
            frozenset({"event"}),
        ),
        Case(
            "fingerprint",
            calsync.model.fingerprint,
            {"event": good_event()},
            use_value,
            frozenset({"event"}),
        ),
        # rules and the engine
        Case(
            "LatestWins",
            calsync.LatestWins,
            {"tolerance": timedeltas, "tie": st.sampled_from(["odoo", "outlook", "nowhere"])},
            use_rule,
        ),
        Case(
            "Prefer",
            calsync.Prefer,
            {"side": st.sampled_from(["odoo", "outlook", "nowhere"])},
            use_rule,
            frozenset({"side"}),
        ),
        Case("KeepBoth", calsync.KeepBoth, {}, use_rule),
        Case("Raise", calsync.Raise, {}, use_rule),
        Case(
            "DeletionGuard",
            calsync.DeletionGuard,
            {"max_fraction": numbers, "min_count": numbers},
            lambda g: g.blocks(10, 20),
        ),
        Case(
            "ConcurrencyLimiter",
            calsync.ConcurrencyLimiter,
            {"per_key": numbers, "total": numbers},
            use_limiter,
        ),
        Case(
            "SideRef",
            SideRef,
            {"id": texts, "version": texts, "seen": good_event(), "read_only": st.booleans()},
            use_value,
            frozenset({"id"}),
        ),
        Case(
            "Link",
            Link,
            {
                "key": texts,
                "base": good_event(),
                "left": st.builds(SideRef, texts),
                "right": st.builds(SideRef, texts),
            },
            lambda link: Links([link]),
            frozenset({"key", "base", "left", "right"}),
        ),
        Case(
            "Links",
            Links,
            {
                "links": st.lists(
                    st.none()
                    | st.builds(Link, texts, good_event(), st.builds(SideRef, texts), st.none()),
                    max_size=2,
                )
            },
            len,
        ),
        Case(
            "SideInput",
            SideInput,
            {
                "name": texts,
                "items": st.lists(remote_events(), max_size=2),
                "removed": st.lists(texts, max_size=2),
                "projection": st.builds(Projection),
            },
            lambda side: plan(side, SideInput("other"), [], window=WINDOW),
            frozenset({"name"}),
        ),
        Case(
            "plan",
            plan,
            {
                "left": st.builds(SideInput, st.just("odoo")),
                "right": st.builds(SideInput, st.just("outlook")),
                "links": st.lists(st.none(), max_size=1),
                "window": st.just(WINDOW),
                "rule": rules,
            },
            use_value,
            frozenset({"left", "right", "links", "window"}),
        ),
        # the protocol's values
        Case(
            "RemoteEvent",
            RemoteEvent,
            {"id": texts, "event": good_event(), "version": texts},
            lambda item: plan(SideInput("odoo", [item]), SideInput("outlook"), [], window=WINDOW),
            frozenset({"id", "event"}),
        ),
        Case(
            "Listing",
            Listing,
            {
                "items": st.lists(remote_events(), max_size=2),
                "removed": st.lists(texts, max_size=2),
                "cursor": texts,
            },
            use_value,
        ),
        *(
            Case(kind.__name__, kind, params, use_write, frozenset(params))
            for kind, params in (
                (Create, {"key": texts, "event": good_event()}),
                (Update, {"key": texts, "event": good_event(), "current": remote_events()}),
                (Delete, {"key": texts, "current": remote_events()}),
            )
        ),
        # adapters and credentials
        Case(
            "MemoryCalendar",
            MemoryCalendar,
            {
                "name": texts,
                "account": texts,
                "owner_email": texts,
                "projection": st.builds(Projection),
            },
            use_memory,
        ),
        Case(
            "StaticToken",
            StaticToken,
            {"token": texts, "expires_on": numbers},
            lambda t: t.get_token("scope"),
            frozenset({"token"}),
        ),
        Case(
            "OutlookCalendar",
            OutlookCalendar,
            {
                "credential": st.sampled_from([token, "a-token-string", None, b"x"]),
                "base_url": graph_urls,
                "user": texts,
                "calendar_id": texts,
                "name": texts,
                "account": texts,
                "page_size": numbers,
                "max_concurrency": numbers,
                "timeout": st.sampled_from([0.5, 5.0, 0, -1, math.nan, math.inf]),
                "scopes": st.lists(texts, max_size=2) | texts,
            },
            lambda a: run(pull_and_close(a)),
            frozenset({"credential"}),
        ),
        Case(
            "OdooCalendar",
            OdooCalendar,
            {
                "url": odoo_urls,
                "db": st.sampled_from([odoo.db, "nosuchdb", ""]) | texts,
                "login": st.sampled_from(["bob", "nobody", ""]),
                "password": st.sampled_from(["bob-pw", "wrong", ""]),
                "api_key": st.sampled_from(["k" * 40, ""]),
                "transport": st.sampled_from(["auto", "jsonrpc", "json2", "carrier-pigeon"]),
                "timeout": st.sampled_from([5.0, 0, -1, math.nan]),
                "page_size": numbers,
                "on_delete": texts,
                "user_login": texts,
                "limiter": limiters,
            },
            lambda a: run(pull_and_close(a)),
            frozenset({"url", "db", "login"}),
        ),
        Case(
            "OdooDatabase",
            OdooDatabase,
            {
                "url": odoo_urls,
                "db": st.sampled_from([odoo.db, "nosuchdb", ""]) | texts,
                "login": st.sampled_from(["admin", "nobody", ""]),
                "password": st.sampled_from(["admin", "wrong", ""]),
                "api_key": st.sampled_from(["k" * 40, ""]),
                "transport": st.sampled_from(["auto", "jsonrpc", "json2", "carrier-pigeon"]),
                "timeout": st.sampled_from([5.0, 0, -1, math.nan]),
                "limiter": limiters,
            },
            lambda d: pull_through(d, odoo.url, odoo.db),
            frozenset({"url", "db", "login"}),
        ),
        Case(
            "AutoTransport",
            AutoTransport,
            {
                "url": odoo_urls,
                "db": st.sampled_from([odoo.db, "nosuchdb", ""]) | texts,
                "login": st.sampled_from(["bob", "nobody", ""]),
                "password": st.sampled_from(["bob-pw", "wrong", ""]),
                "api_key": st.sampled_from(["k" * 40, ""]),
                "choice": st.sampled_from(["auto", "jsonrpc", "json2", "carrier-pigeon"]),
                "timeout": st.sampled_from([5.0, 0, -1, math.nan]),
                "limiter": limiters,
            },
            use_transport,
            frozenset({"url", "db", "login"}),
        ),
        Case(
            "JsonRpcTransport",
            JsonRpcTransport,
            {
                "url": odoo_urls,
                "db": texts,
                "login": texts,
                "secret": texts,
                "timeout": st.sampled_from([5.0, 0, -1]),
                "limiter": limiters,
            },
            use_transport,
            frozenset({"url", "db", "login", "secret"}),
        ),
        Case(
            "Json2Transport",
            Json2Transport,
            {
                "url": odoo_urls,
                "db": texts,
                "api_key": texts,
                "timeout": st.sampled_from([5.0, 0, -1]),
                "version": texts,
                "limiter": limiters,
            },
            use_transport,
            frozenset({"url", "db", "api_key"}),
        ),
        # stores
        Case("MemoryStore", MemoryStore, {}, use_store),
        Case("SQLiteStore", SQLiteStore, {"path": paths}, use_store),
        Case(
            "SQLStore", SQLStore, {"url_or_engine": urls}, use_store, frozenset({"url_or_engine"})
        ),
        Case("MemoryTokenStore", MemoryTokenStore, {"key": texts}, use_token_store),
        Case(
            "SQLiteTokenStore",
            SQLiteTokenStore,
            {"path": paths, "key": texts | st.just(calsync.stores.generate_token_key())},
            use_token_store,
        ),
        Case(
            "SQLTokenStore",
            SQLTokenStore,
            {"url_or_engine": urls, "key": texts},
            use_token_store,
            frozenset({"url_or_engine"}),
        ),
        Case("MemorySubscriptionStore", MemorySubscriptionStore, {}, use_subscription_store),
        Case(
            "SQLiteSubscriptionStore",
            SQLiteSubscriptionStore,
            {"path": paths},
            use_subscription_store,
        ),
        Case(
            "SQLSubscriptionStore",
            SQLSubscriptionStore,
            {"url_or_engine": urls},
            use_subscription_store,
            frozenset({"url_or_engine"}),
        ),
        Case(
            "Held",
            calsync.stores.Held,
            {
                "side": texts,
                "id": texts,
                "title": texts,
                "error": texts,
                "since": datetimes,
                "attempts": numbers,
            },
            use_store_with,
            frozenset({"side", "id", "title", "error", "since"}),
        ),
        Case(
            "Intent",
            calsync.stores.Intent,
            {"key": texts, "side": texts, "kind": texts, "title": texts},
            lambda i: MemoryStore().record_intents("p", [i]),
            frozenset({"key", "side", "kind", "title"}),
        ),
        # running pairs
        Case(
            "Synchronizer",
            calsync.Synchronizer,
            {
                "left": adapters,
                "right": adapters,
                "store": stores,
                "pair": texts,
                "window": st.builds(Window, datetimes, datetimes),
                "window_refresh": timedeltas,
                "rule": rules | texts,
                "max_notifications": numbers,
                "first_sync_max_notifications": numbers,
                "lock_timeout": numbers,
                "max_deletions": st.builds(calsync.DeletionGuard),
            },
            use_sync,
            frozenset({"left", "right", "store"}),
        ),
        Case(
            "reset",
            calsync.reset,
            {
                "sync": st.builds(
                    lambda: calsync.Synchronizer(
                        MemoryCalendar("odoo"),
                        MemoryCalendar("outlook"),
                        MemoryStore(),
                        window=WINDOW,
                    )
                ),
                "existing": st.sampled_from(["leave", "delete_from_both", "nope", "LEAVE", None]),
                "next_sync": st.sampled_from(["new", "all", "later", None]),
                "preview": st.booleans(),
            },
            use_value,
            frozenset({"sync"}),
        ),
        Case(
            "sync_many",
            calsync.sync_many,
            {
                "synchronizers": st.lists(
                    st.builds(
                        lambda: calsync.Synchronizer(
                            MemoryCalendar("odoo"),
                            MemoryCalendar("outlook"),
                            MemoryStore(),
                            window=WINDOW,
                        )
                    )
                    | st.none(),
                    max_size=2,
                ),
                "concurrency": numbers,
                "per_mailbox": numbers,
                "app_concurrency": numbers,
                "timeout": numbers,
            },
            use_value,
            frozenset({"synchronizers"}),
        ),
        # sign-in
        Case(
            "MicrosoftAuth",
            MicrosoftAuth,
            {
                "client_id": texts,
                "client_secret": texts,
                "redirect_uri": st.sampled_from(
                    ["https://app.example.com/microsoft_account/authentication", "nope", ""]
                ),
                "token_store": st.sampled_from([MemoryTokenStore(), None]),
                "tenant": st.sampled_from(["common", "a/b", ""]),
                "authority_host": st.sampled_from([graph.url, "http://127.0.0.1:1", "ftp://x", ""]),
                "scopes": st.lists(texts, max_size=2) | texts,
                "timeout": st.sampled_from([5.0, 0, -1]),
                "flow_ttl": numbers,
                "response_mode": texts,
            },
            use_auth,
            frozenset({"client_id", "client_secret", "redirect_uri", "token_store"}),
        ),
        Case(
            "ApplicationCredential",
            ApplicationCredential,
            {
                "tenant": st.sampled_from(["emulator.onmicrosoft.com", "common", "a/b", ""]),
                "client_id": texts,
                "client_secret": texts | st.none(),
                "certificate_path": paths | st.none(),
                "certificate_data": st.binary(max_size=64) | st.none(),
                "certificate_password": texts | st.binary(max_size=8) | st.none(),
                "authority_host": st.sampled_from([graph.url, "http://127.0.0.1:1", "ftp://x", ""]),
            },
            use_app_credential,
            frozenset({"tenant", "client_id"}),
        ),
        Case(
            "SubscriptionManager",
            SubscriptionManager,
            {
                "store": st.sampled_from([MemorySubscriptionStore(), None]),
                "notification_url": URLS,
                "lifecycle_url": URLS | st.none(),
                "lifetime": timedeltas,
                "renew_before": timedeltas,
            },
            lambda m: m.due(),
            frozenset({"store", "notification_url"}),
        ),
    ]


def use_app_credential(credential: ApplicationCredential) -> None:
    """An app-only token, asked as msgraph-sdk asks it; then closed."""
    with credential:
        credential.get_token("https://graph.microsoft.com/.default")


def use_store_with(held: Any) -> None:
    store = MemoryStore()
    store.commit("p", links={}, cursors={}, done=(), held=[held])
    store.load("p")


# -- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OdooEmulator, GraphEmulator]]:
    with OdooEmulator(login_delay=0.0) as odoo, GraphEmulator() as graph:
        odoo.add_user("bob", "bob-pw", email="bob@example.com")
        yield odoo, graph


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder of this module's own, also the working directory while its tests run: a
    store given a drawn relative path (or none: calsync-state.sqlite3) makes its file there."""
    made = Path(tempfile.mkdtemp(prefix="calsync-public-errors-"))
    before = Path.cwd()
    os.chdir(made)
    try:
        yield made
    finally:
        os.chdir(before)
        shutil.rmtree(made, ignore_errors=True)


#: The cases by name, made once per test module (they need the emulators and a folder). Not
#: a fixture argument: Hypothesis would show a large argument in every failure report.
CASES: dict[str, Case] = {}


@pytest.fixture(scope="module")
def case_registry(folder: Path, servers: tuple[OdooEmulator, GraphEmulator]) -> Iterator[None]:
    CASES.update((case.name, case) for case in cases(folder, *servers))
    yield
    CASES.clear()


NAMES = [
    "Event", "Attendee", "Person", "RecurrenceRule", "RecurrenceRule.parse", "Recurrence",
    "ModifiedOccurrence", "Occurrence", "WeekdayRule", "WeekdayRule.parse", "Window",
    "Window.around", "Projection", "canonical", "fingerprint", "LatestWins", "Prefer",
    "KeepBoth", "Raise", "DeletionGuard", "ConcurrencyLimiter", "SideRef", "Link", "Links",
    "SideInput", "plan", "RemoteEvent", "Listing", "Create", "Update", "Delete",
    "MemoryCalendar", "StaticToken", "OutlookCalendar", "OdooCalendar", "OdooDatabase",
    "AutoTransport", "JsonRpcTransport", "Json2Transport", "MemoryStore", "SQLiteStore", "SQLStore",
    "MemoryTokenStore", "SQLiteTokenStore", "SQLTokenStore", "MemorySubscriptionStore",
    "SQLiteSubscriptionStore", "SQLSubscriptionStore", "Held", "Intent", "Synchronizer",
    "reset", "sync_many", "MicrosoftAuth", "ApplicationCredential", "SubscriptionManager",
]  # fmt: skip


@pytest.mark.usefixtures("case_registry")
@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=int(os.environ.get("CALSYNC_FUZZ_EXAMPLES", "30")),
    suppress_health_check=list(HealthCheck),
    deadline=None,
)
@given(data=st.data())
def test_only_calsync_errors_or_type_errors(name: str, data: st.DataObject) -> None:
    case = CASES[name]
    kwargs: dict[str, Any] = {}
    try:  # a strategy may build an argument (an Event, a Window) that its own checks refuse
        for param, strategy in case.params.items():
            if param in case.required or data.draw(st.booleans(), label=f"give {param}"):
                kwargs[param] = data.draw(junk_or(strategy), label=param)
        built = case.make(**kwargs)
        case.use(built)
    except (CalsyncError, TypeError):
        pass


def test_every_public_constructor_is_checked() -> None:
    """Each public class (data, enum or not) and builder function has a case or a reason."""
    covered = set(NAMES)
    reasons = {
        # enums: their lookup is checked below
        **dict.fromkeys(ENUMS, "enum"),
        # Protocols and data that only calsync itself builds and hands out
        "CalendarAdapter": "Protocol", "OdooTransport": "Protocol", "MappingStore": "Protocol",
        "ServerClock": "Protocol",
        "TokenStore": "Protocol", "SubscriptionStore": "Protocol", "LinkIndex": "Protocol",
        "SubscriptionTarget": "Protocol",
        "Plan": "engine output", "Operation": "engine output", "Outcome": "report",
        "SyncReport": "report", "PairOutcome": "report", "Progress": "report",
        "Conflict": "rule input", "MergeOutcome": "engine output", "Quarantined": "engine output",
        "SideView": "merge input", "Notification": "adapter output",
        "WriteResult": "adapter output", "PairState": "store output",
        "Subscription": "store record", "MicrosoftAccount": "sign-in output",
        "WebhookResult": "webhook output", "MicrosoftCredential": "MicrosoftAuth.credential",
        "DeviceCode": "MicrosoftAuth.start_device_login",
        "TokenStatus": "MicrosoftAuth.token_status",
        "PairStatus": "store output", "RunRecord": "store output", "StatusStore": "Protocol",
        # the emulators and their records: test servers, not the library
        "GraphEmulator": "testing", "OdooEmulator": "testing", "GraphMailbox": "testing",
        "GraphRequest": "testing", "MailMessage": "testing", "OdooCall": "testing",
        "OdooMail": "testing",
        # functions that build nothing
        "merge": "engine", "derive_key": "engine", "signature": "engine",
        "generate_token_key": "no arguments", "handle_webhook": "webhook",
        "sync_many_async": "sync_many",
    }  # fmt: skip
    found = set()
    for module in PUBLIC:
        for name in importlib.import_module(module).__all__:
            obj = getattr(importlib.import_module(module), name)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.add(name)
    missing = sorted(found - covered - set(reasons) - {n.split(".")[0] for n in covered})
    assert missing == [], "public constructors without a case"


ENUMS = (
    "AttendeeKind", "Availability", "DeletionRule", "ExistingEvents", "Frequency", "MailKind",
    "NextSync", "OperationKind", "Privacy", "Response", "Weekday",
)  # fmt: skip


@pytest.mark.parametrize("name", ENUMS)
@given(value=JUNK)
def test_an_unknown_choice_is_a_configuration_error(name: str, value: object) -> None:
    choice = getattr(calsync, name, None) or getattr(calsync.model, name, None)
    choice = choice or getattr(calsync.adapters, name, None) or getattr(calsync.engine, name)
    known = {member.value for member in choice}
    if isinstance(value, str) and value in known:
        assert choice(value).value == value
        return
    with pytest.raises(calsync.ConfigurationError, match=f"unknown {name}"):
        choice(value)


def _junk_state_file(folder: Path) -> str:
    path = folder / "corrupt.sqlite3"
    path.write_bytes(b"not a database at all" * 64)
    return str(path)


FOUND = {
    # what issue 14 met, each once (the Hypothesis test above finds such cases by chance)
    "a corrupt state file": lambda folder: SQLiteStore(_junk_state_file(folder)),
    "a non-SQLite token file": lambda folder: calsync.stores.SQLiteTokenStore(
        _junk_state_file(folder)
    ),
    "a token string as the credential": lambda _: OutlookCalendar("eyJ0eXAi.token"),  # type: ignore[arg-type]
    "base_url http://": lambda _: OutlookCalendar(StaticToken("t"), base_url="http://"),
    "port 99999": lambda _: OutlookCalendar(
        StaticToken("t"), base_url="http://127.0.0.1:99999/v1.0"
    ),
    "an unknown SQL dialect": lambda _: calsync.stores.SQLStore("nosuchdialect://x"),
    "an unknown reset choice": lambda _: calsync.Synchronizer(
        MemoryCalendar("odoo"), MemoryCalendar("outlook"), MemoryStore()
    ).reset("nope", "all"),
    "None as an adapter": lambda _: calsync.Synchronizer(None, MemoryCalendar(), MemoryStore()),  # type: ignore[arg-type]
    "None as a rule string": lambda _: calsync.model.WeekdayRule.parse(None),  # type: ignore[arg-type]
    "None as an occurrence": lambda _: Recurrence(RecurrenceRule("WEEKLY"), exceptions=[None]),  # type: ignore[list-item]
    "an empty StaticToken": lambda _: StaticToken(""),
    "Window.around near year 9999": lambda _: Window.around(datetime(9999, 6, 1, tzinfo=UTC)),
}


@pytest.mark.parametrize("what", sorted(FOUND))
def test_what_issue_14_found_raises_calsync_errors(what: str, tmp_path: Path) -> None:
    with pytest.raises((CalsyncError, TypeError)) as caught:
        FOUND[what](tmp_path)
    assert isinstance(caught.value, CalsyncError) or type(caught.value) is TypeError
