"""calsync's public API used as an application would; checked by ``nox -s typing``.

mypy --strict must accept every line. The file is type-checked, not run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from typing_extensions import assert_type

import calsync
from calsync import engine, model
from calsync.adapters import CalendarAdapter, Notification
from calsync.adapters.memory import MemoryCalendar
from calsync.adapters.outlook import OutlookCalendar
from calsync.auth import MicrosoftAccount, MicrosoftAuth, MicrosoftCredential
from calsync.stores import (
    MappingStore,
    SQLiteStore,
    SQLiteSubscriptionStore,
    SQLiteTokenStore,
    SQLStore,
    SQLTokenStore,
    Subscription,
    TokenStore,
    generate_token_key,
)
from calsync.subscriptions import SubscriptionManager, WebhookResult


def prefer_outlook_for_times(conflict: calsync.Conflict) -> str:
    """A custom conflict rule: Outlook wins on times, Odoo on everything else."""
    return "outlook" if conflict.field == "when" else "odoo"


def build() -> calsync.Synchronizer:
    odoo: CalendarAdapter = MemoryCalendar("odoo")
    outlook: CalendarAdapter = MemoryCalendar("outlook", projection=model.Projection(reminders=1))
    store: MappingStore = SQLiteStore("state.sqlite3")
    return calsync.Synchronizer(
        odoo,
        outlook,
        store,
        window=calsync.Window.around(past=timedelta(days=30)),
        rule=prefer_outlook_for_times,
        max_notifications=10,
        progress=lambda step: print(step.stage, step.done, step.total),
    )


def use(sync: calsync.Synchronizer) -> None:
    plan = sync.preview()
    assert_type(plan, calsync.Plan)
    emails: tuple[Notification, ...] = plan.notifications
    for operation in plan.operations:
        assert_type(operation.kind, calsync.OperationKind)
        print(operation.reason, operation.side, len(emails))
    try:
        report = sync.run()
    except calsync.NotificationLimitError as error:
        print(error.count, error.limit)
        return
    except calsync.GuardError as error:
        print(error.pair)
        return
    assert_type(report, calsync.SyncReport)
    print(str(report), report.ok, report.count("create", "outlook"), report.requests["odoo"])
    for item in report.held:
        print(item.title, item.error, item.since.isoformat())


def model_values() -> model.Event:
    start = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)
    rule = model.RecurrenceRule.parse("FREQ=WEEKLY;COUNT=3;BYDAY=MO")
    series = model.Event(
        "Standup",
        start,
        start + timedelta(minutes=15),
        timezone="Europe/Brussels",
        attendees=[model.Attendee("ann@example.com", kind=model.AttendeeKind.OPTIONAL)],
        recurrence=model.Recurrence(rule),
    )
    for occurrence in series.occurrences(before=start + timedelta(days=30)):
        assert_type(occurrence.event, model.Event)
    print(series.fingerprint(model.Projection(reminders=1)))
    return series


def pure_planning() -> engine.Plan:
    left = engine.SideInput("odoo")
    right = engine.SideInput("outlook")
    window = calsync.Window.around()
    return engine.plan(left, right, [], window=window, rule=engine.LatestWins(), pair="demo")


def resetting(sync: calsync.Synchronizer) -> None:
    assert_type(calsync.reset(sync, preview=True), calsync.Plan)
    assert_type(calsync.reset(sync, existing="delete_from_microsoft"), calsync.SyncReport)


async def asynchronous(sync: calsync.Synchronizer) -> calsync.SyncReport:
    await sync.preview_async()
    return await sync.run_async()


def shared_state(url: str) -> tuple[MappingStore, TokenStore]:
    store: MappingStore = SQLStore(url)
    tokens: TokenStore = SQLTokenStore(url, key=[generate_token_key(), generate_token_key()])
    with store.lock("pair-1", timeout=5.0):
        pass
    return store, tokens


def sign_in(query: dict[str, str]) -> MicrosoftCredential | None:
    auth = MicrosoftAuth(
        "client-id",
        "secret",
        "https://odoo.example.com/microsoft_account/authentication",
        SQLiteTokenStore("state.sqlite3", key=generate_token_key()),
        tenant="organizations",
    )
    url: str = auth.authorization_url("user-1", prompt="select_account")
    print(url)
    try:
        who = auth.complete("user-1", query)
    except calsync.ReauthorizationRequiredError as error:
        print(error.account, error.aadsts)
        return None
    except calsync.AppRegistrationError as error:
        print(error.code)
        return None
    assert_type(who, MicrosoftAccount)
    credential = auth.credential("user-1")
    token = credential.get_token("https://graph.microsoft.com/.default")
    print(token.expires_on, credential.get_token_info().refresh_on)
    return credential


def many(syncs: list[calsync.Synchronizer]) -> int:
    limiter = calsync.ConcurrencyLimiter(per_key=4, total=16)
    outcomes = calsync.sync_many(syncs, concurrency=8, limiter=limiter, timeout=600.0)
    assert_type(outcomes, list[calsync.PairOutcome])
    for outcome in outcomes:
        if outcome.report is not None:
            assert_type(outcome.report, calsync.SyncReport)
        elif outcome.locked:
            print("later:", outcome.pair)
    return limiter.peak()


async def notifications(outlook: OutlookCalendar, body: bytes) -> set[str]:
    manager = SubscriptionManager(
        SQLiteSubscriptionStore("state.sqlite3"),
        "https://app.example.com/calsync/notifications",
        lifetime=timedelta(hours=48),
    )
    subscription: Subscription = await manager.ensure("pair-1", outlook)
    print(subscription.expires)
    result: WebhookResult = manager.handle("POST", {"validationToken": ["x"]}, {}, body)
    print(result.status, result.headers, result.body)
    await calsync.sync_many_async([], full=True)
    return set(result.sync | result.full)


def operations(state: str, tenant: str, client_id: str, secret: str) -> int:
    """Per-pair status, app-only access and the device sign-in, as a user types them."""
    from calsync.auth import ApplicationCredential, DeviceCode, MicrosoftAuth, TokenStatus
    from calsync.stores import PairStatus, RunRecord, SQLiteStore, SQLiteTokenStore

    with SQLiteStore(state) as store:
        status: PairStatus = store.status("ann")
        last: RunRecord | None = status.last_run
        print(status.outcome, status.held, status.next_due, last.failures if last else 0)
    with ApplicationCredential(tenant, client_id, client_secret=secret) as app:
        OutlookCalendar(app, user="ann@example.com")
    with MicrosoftAuth(
        client_id, secret, "https://x.example/microsoft_account/authentication",
        SQLiteTokenStore(state),
    ) as auth:  # fmt: skip
        code: DeviceCode = auth.start_device_login("ann")
        print(code.message)
        auth.finish_device_login(code, timeout=60.0)
        found: TokenStatus | None = auth.token_status("ann")
        return 0 if found is None else int(found.refresh_expires or 0)


def many_users_of_one_odoo_database(logins: list[str]) -> list[calsync.PairOutcome]:
    """Odoo calendars listing their changes through one OdooDatabase, kept for every round."""
    from calsync.adapters.odoo import OdooCalendar, OdooDatabase

    database = OdooDatabase("https://odoo.example.com", "prod", "admin", api_key="k" * 40)
    synchronizers = [
        calsync.Synchronizer(
            OdooCalendar(
                "https://odoo.example.com",
                "prod",
                "admin",
                transport=database.transport,
                user_login=login,
                database=database,
            ),
            MemoryCalendar("outlook", account=login),
            SQLiteStore("state.sqlite3"),
            pair=login,
        )
        for login in logins
    ]
    outcomes = calsync.sync_many(synchronizers)
    assert_type(database.listings, int)
    for sync in synchronizers:
        sync.close()
    database.close()
    return outcomes
