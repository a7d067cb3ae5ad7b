"""``OutlookCalendar``: one Outlook calendar behind calsync's adapter Protocol.

Reading (``pull``): a windowed ``calendarView/delta`` round, paged by hand
(``@odata.nextLink`` until ``@odata.deltaLink``, the SDK's PageIterator never
sees the latter), every request with ``Prefer: IdType="ImmutableId",
outlook.timezone="UTC", odata.maxpagesize=N``. A delta page carries singles
in full, series masters and exceptions in full and occurrences as stubs; for
each series seen in a round, one GET of its master with ``$select`` (for
``cancelledOccurrences``) and ``$expand=exceptionOccurrences`` gives the
whole series, all of them in shared ``$batch`` calls. A no-op incremental
pull is one request. An expired or unknown delta token (410,
``syncStateNotFound``, ``resyncRequired``, ``syncStateInvalid``), or a cursor
that is not a delta link on this API's host, starts a full round instead.

Writing (``apply``): every write runs as a small sequential job (POST, then
the series' occurrences, then a read-back) and the jobs' requests share
``$batch`` calls round by round (:class:`~._batch.Batcher`). Creates carry a
``transactionId`` derived from the calsync key and the key itself in a
single-value extended property: a repeat answered
``ErrorDuplicateTransactionId`` finds the first event through the property
and updates it (or, if it was deleted since, creates again under a fresh
transaction id). Updates PATCH only changed properties with ``If-Match``; on
412 the event is read again: if it already holds what calsync wanted the
write is done, if it still holds what calsync last read (only bookkeeping
changed, an attendee's answer for example) the PATCH is sent once more with
the new etag, else the result is :class:`PreconditionFailedError` and the
engine plans again next run. Deletes send ``If-Match`` too; 404 is success.
Meetings the mailbox only attends are never patched or deleted: only the
owner's answer changes, with ``sendResponse: false``.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import attrs

from calsync import _arguments as checks
from calsync._errors import (
    AccessDeniedError,
    InvalidEventError,
    MalformedAnswerError,
    NotFoundError,
    PreconditionFailedError,
    ProviderError,
    RejectedError,
    UnsupportedRecurrenceError,
)
from calsync._limits import ConcurrencyLimiter
from calsync._model._event import Event
from calsync._model._projection import Projection
from calsync._model._recurrence import OccurrenceKey
from calsync._model._values import Privacy, Response
from calsync._model._window import Window
from calsync._protocol import (
    Create,
    Delete,
    Listing,
    Notification,
    RemoteEvent,
    Update,
    Write,
    WriteResult,
)
from calsync._retry import RetryPolicy
from calsync.adapters.outlook import _mail, _subscriptions
from calsync.adapters.outlook._answers import entries_of, item_of, page_of
from calsync.adapters.outlook._batch import Batcher, Call, Result, error_of
from calsync.adapters.outlook._client import GraphTransport
from calsync.adapters.outlook._mapping import (
    SELECT,
    create_body,
    event_from_graph,
    event_zone,
    master_patch_body,
    occurrence_key,
    series_from_graph,
)
from calsync.adapters.outlook._subscriptions import GraphSubscription
from calsync.adapters.outlook._writes import instance_changes

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["KEY_PROPERTY", "OUTLOOK_PROJECTION", "OutlookCalendar", "transaction_id"]

logger = logging.getLogger("calsync.outlook")

#: What Outlook stores of an event: one reminder, no "default" privacy, no
#: responses written for other attendees, no join URL written.
OUTLOOK_PROJECTION = Projection(
    name="outlook",
    reminders=1,
    privacy={Privacy.DEFAULT: Privacy.PUBLIC},
    responses=False,
    online_meeting_url=False,
)

#: The single-value extended property that carries the calsync key on each event.
KEY_PROPERTY = "String {6f1d2c4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f} Name calsyncKey"
_TRANSACTIONS = uuid.UUID("3b0c8e52-4f1a-4d7e-9a61-2c5b7d9e0f13")
_RESYNC = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_RSVP = {
    Response.ACCEPTED: "accept",
    Response.TENTATIVE: "tentativelyAccept",
    Response.DECLINED: "decline",
}
_CREATE_ATTEMPTS = 4
#: The code of a write refused because Outlook cannot hold the series (Odoo's is the same).
UNSUPPORTED = "unsupported-recurrence"
UTC = timezone.utc


_Signature = tuple[str, frozenset[tuple[str, str]]]


def _signature(master: Mapping[str, Any], exceptions: Iterable[Mapping[str, Any]]) -> _Signature:
    """A series' master change key and its exceptions' (id, change key) pairs."""
    keys = frozenset((str(e.get("id")), str(e.get("changeKey") or e.get("@odata.etag")))
                     for e in exceptions)  # fmt: skip
    return str(master.get("changeKey") or master.get("@odata.etag")), keys


@attrs.define
class _Page:
    """A delta round's entries by what they are."""

    singles: dict[str, Mapping[str, Any]] = attrs.Factory(dict)
    masters: dict[str, None] = attrs.Factory(dict)
    shown: dict[str, Mapping[str, Any]] = attrs.Factory(dict)
    exceptions: dict[str, list[Mapping[str, Any]]] = attrs.Factory(dict)
    removed: set[str] = attrs.Factory(set)

    @classmethod
    def of(cls, entries: Iterable[Mapping[str, Any]]) -> _Page:
        """Singles in full, series (from masters, exceptions and stubs), removed ids."""
        page = cls()
        for entry in entries:
            event_id = str(entry.get("id") or "")
            kind, master = entry.get("type"), entry.get("seriesMasterId")
            if not event_id:
                continue
            if "@removed" in entry or withdrawn(entry):
                page.removed.add(event_id)
            elif kind == "seriesMaster":
                page.masters[event_id] = None
                page.shown[event_id] = entry
            elif isinstance(master, str) and master:
                page.masters[master] = None
                if kind == "exception":
                    page.exceptions.setdefault(master, []).append(entry)
            else:
                page.singles[event_id] = entry
        return page


#: What reading an event the model cannot hold raises (see ``_try_remote`` and ``_stored``).
_UNREADABLE = (InvalidEventError, ValueError, KeyError, TypeError)


def withdrawn(data: Mapping[str, Any]) -> bool:
    """A meeting its organiser cancelled, as the attendee's copy shows it until deleted.

    Graph keeps the attendee's single event or series marked ``isCancelled``
    (Odoo's own Outlook sync reads it as a cancellation too); calsync reads
    it as gone, not as an active event titled "Canceled: ...". A cancelled
    occurrence of a series is read with its series (a cancelled occurrence).
    """
    return data.get("isCancelled") is True and data.get("type") in (
        "singleInstance",
        "seriesMaster",
        None,
    )


class _ResyncError(Exception):
    """The delta token is gone: run a full round."""


def transaction_id(key: str, attempt: int = 0) -> str:
    """The ``transactionId`` of the ``attempt``-th create of ``key`` (a GUID, deterministic)."""
    name = key if attempt == 0 else f"{key}#{attempt}"
    return str(uuid.uuid5(_TRANSACTIONS, name))


def _etag(version: str | None) -> str | None:
    if not version:
        return None
    return f'W/"{version.split("|", 1)[0]}"'


def _series_version(data: Mapping[str, Any]) -> str:
    exceptions = data.get("exceptionOccurrences") or []
    cancelled = data.get("cancelledOccurrences") or []
    parts = sorted(
        f"{item.get('id')}:{item.get('changeKey')}"
        for item in exceptions
        if isinstance(item, Mapping)
    )
    parts += sorted(f"x:{value}" for value in cancelled)
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return f"{data.get('changeKey') or ''}|{digest}"


def _key_of(data: Mapping[str, Any]) -> str | None:
    for prop in data.get("singleValueExtendedProperties") or []:
        if isinstance(prop, Mapping) and str(prop.get("id", "")).lower() == KEY_PROPERTY.lower():
            value = prop.get("value")
            return str(value) if value is not None else None
    return None


def _instant(value: OccurrenceKey) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _response_of(event: Event, email: str | None) -> Response | None:
    if not email:
        return None
    wanted = email.lower()
    return next((a.response for a in event.attendees if a.email == wanted), None)


class OutlookCalendar:
    """One Outlook calendar (Microsoft Graph through msgraph-sdk) as a calsync side.

    ``credential`` is any azure-core ``TokenCredential`` (:class:`StaticToken`
    for tests). ``user`` None addresses ``/me``, else ``/users/{id or UPN}``;
    ``calendar_id`` None the default calendar. ``account`` is the mailbox
    address (looked up with one GET on first use when not given; then
    :attr:`account` stays what it was at construction, ``user`` or "me", so
    that a pair's name never changes). ``page_size`` is the delta page size,
    ``max_concurrency`` the most requests in flight for this adapter, ``retry``
    calsync's retry policy (the SDK's own retries are off).

    ``limiter``: a :class:`~calsync.ConcurrencyLimiter` shared with other
    adapters (``per_key=4`` for Graph's per-mailbox limit, ``total=`` for an
    app-wide ceiling). Every request then also holds a permit keyed by this
    mailbox (:attr:`mailbox_key`), so adapters of one mailbox never exceed its
    limit together. :func:`calsync.sync_many` gives one to adapters that have
    none for the duration of its run.
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        user: str | None = None,
        calendar_id: str | None = None,
        base_url: str = "https://graph.microsoft.com/v1.0",
        name: str = "outlook",
        account: str | None = None,
        page_size: int = 50,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        scopes: Sequence[str] = ("https://graph.microsoft.com/.default",),
        timeout: float = 30.0,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        if not callable(getattr(credential, "get_token", None)):
            raise TypeError(
                "credential must be an azure-core TokenCredential (an object with get_token), "
                f"not {type(credential).__name__}: wrap a bare access token in StaticToken"
            )
        checks.http_url("base_url", base_url, "https://graph.microsoft.com/v1.0")
        if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
            raise TypeError("scopes must be a sequence of scope strings")
        if limiter is not None:
            checks.instance("limiter", limiter, ConcurrencyLimiter)
        self._name = checks.text("name", name)
        self._user = checks.optional_text("user", user)
        self._calendar_id = checks.optional_text("calendar_id", calendar_id)
        self._account = checks.optional_text("account", account)
        self._owner = account.lower() if account else None
        self.page_size = checks.count("page_size", page_size)
        checks.count("max_concurrency", max_concurrency)
        checks.seconds("timeout", timeout)
        self._transport = GraphTransport(
            credential,
            base_url=base_url,
            scopes=scopes,
            retry=retry or RetryPolicy(),
            max_concurrency=max_concurrency,
            timeout=timeout,
            side=name,
            mailbox=lambda: self.mailbox_key,
        )
        self._transport.limiter = limiter
        root = "/me" if user is None else f"/users/{quote(user, safe='@')}"
        self._root = root
        self._events = f"{root}/events"
        self._create_url = (
            self._events
            if calendar_id is None
            else f"{root}/calendars/{quote(calendar_id, safe='')}/events"
        )
        #: Events pulled but left out because the model cannot hold them (id: reason).
        self.unreadable: dict[str, str] = {}
        # Series as last read whole, with the change keys they were read at: a delta
        # round that shows a series at those same keys (calsync's own writes coming
        # back) needs no new read of it.
        self._series_seen: dict[str, tuple[_Signature, RemoteEvent]] = {}

    # -- identity ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The side's label in plans and reports."""
        return self._name

    @property
    def account(self) -> str:
        """The mailbox: the ``account`` given, else ``user``, else "me" (stable for pair names)."""
        return self._account or self._user or "me"

    @property
    def owner_email(self) -> str | None:
        """The mailbox owner's address (known once given or looked up)."""
        return self._owner

    @property
    def mailbox_key(self) -> str:
        """Who this adapter's requests count against: the mailbox address (lower case).

        ``account`` when given, else the address looked up on first use, else
        ``user``; before that first lookup of ``/me``, a key of its own.
        """
        known = self._owner or self._user
        return known.lower() if known else f"me#{id(self):x}"

    @property
    def limiter(self) -> ConcurrencyLimiter | None:
        """The limiter shared with other adapters, if any (see the class docstring)."""
        return self._transport.limiter

    @limiter.setter
    def limiter(self, value: ConcurrencyLimiter | None) -> None:
        self._transport.limiter = value

    @property
    def holds_others_meetings(self) -> bool:
        """No: meetings arrive by invitation; one created here would be the mailbox's own."""
        return False

    @property
    def projection(self) -> Projection:
        """What Outlook stores of an event."""
        return OUTLOOK_PROJECTION

    @property
    def requests(self) -> int:
        """Top-level HTTP requests sent so far (a ``$batch`` counts 1, retries count)."""
        return self._transport.requests

    @property
    def throttled(self) -> int:
        """Answers 429 (Graph throttled a request) so far, inner ``$batch`` answers included."""
        return self._transport.throttled

    @property
    def calls(self) -> Mapping[str, int]:
        """Requests by kind: "delta", "batch", "me", and inner ones as "batch:<kind>"."""
        return self._transport.calls

    def __repr__(self) -> str:
        return f"OutlookCalendar(name={self._name!r}, account={self.account!r})"

    def notifications(self, write: Write) -> tuple[Notification, ...]:
        """The attendee e-mails Outlook sends because of ``write`` (see :mod:`._mail`)."""
        return _mail.predict(write, self._owner)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._transport.aclose()

    # -- change notifications (calsync.subscriptions drives these) ------------------------------

    @property
    def subscription_resource(self) -> str:
        """What a change-notification subscription of this mailbox watches.

        ``me/events`` or ``users/{user}/events``: every calendar of the
        mailbox (Graph has no subscription on one calendar's view).
        """
        return "me/events" if self._user is None else f"users/{self._user}/events"

    async def create_subscription(
        self,
        *,
        notification_url: str,
        client_state: str,
        expires: datetime,
        lifecycle_url: str | None = None,
        change_type: str = "created,updated,deleted",
    ) -> GraphSubscription:
        """Subscribe to this mailbox's event changes (Graph validates the URLs first)."""
        return await _subscriptions.create(
            self._transport,
            resource=self.subscription_resource,
            notification_url=notification_url,
            client_state=client_state,
            expires=expires,
            lifecycle_url=lifecycle_url,
            change_type=change_type,
            side=self._name,
        )

    async def renew_subscription(self, subscription_id: str, expires: datetime) -> datetime:
        """Move a subscription's expiry; :class:`~calsync.NotFoundError` when it is gone."""
        return await _subscriptions.renew(
            self._transport, subscription_id, expires, side=self._name
        )

    async def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription (one already gone counts as deleted)."""
        await _subscriptions.delete(self._transport, subscription_id, side=self._name)

    # -- requests ------------------------------------------------------------------------------

    def _headers(self, page_size: int | None = None) -> dict[str, str]:
        return {"Prefer": self._transport.prefer(page_size)}

    def _query(self, **params: str) -> str:
        return urlencode(params, quote_via=quote, safe="$,()'=:")

    def _read_query(self) -> str:
        expand = (
            f"exceptionOccurrences,singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}')"
        )
        return self._query(**{"$select": ",".join(SELECT), "$expand": expand})

    def _get(self, event_id: str, kind: str = "get") -> Call:
        url = f"{self._events}/{quote(event_id, safe='')}?{self._read_query()}"
        return Call("GET", url, headers=self._headers(), kind=kind)

    def _write_call(
        self, method: str, url: str, body: Mapping[str, Any] | None, etag: str | None, kind: str
    ) -> Call:
        headers = self._headers()
        if etag:
            headers["If-Match"] = etag
        return Call(method, url, body, headers, kind)

    def _event_url(self, event_id: str) -> str:
        return f"{self._events}/{quote(event_id, safe='')}"

    async def _ensure_owner(self) -> None:
        if self._owner is not None:
            return
        transport = self._transport
        info = transport.request("GET", f"{transport.base_url}{self._root}")
        result = await transport.send(info, "me")
        data = item_of(result, side=self._name)
        address = data.get("mail") or data.get("userPrincipalName")
        if isinstance(address, str) and address:
            self._owner = address.lower()

    # -- reading -------------------------------------------------------------------------------

    def _remote(self, data: Mapping[str, Any], key: str | None = None) -> RemoteEvent:
        """A Graph event (a master read with its exceptions) as a RemoteEvent."""
        version: str | None
        if data.get("type") == "seriesMaster" or data.get("recurrence"):
            event = series_from_graph(
                data,
                [e for e in data.get("exceptionOccurrences") or [] if isinstance(e, Mapping)],
                [str(c) for c in data.get("cancelledOccurrences") or []],
                owner=self._owner,
            )
            version = _series_version(data)
        else:
            event = event_from_graph(data, owner=self._owner)
            version = str(data.get("changeKey") or "") or None
        item = RemoteEvent(
            id=str(data["id"]),
            event=event,
            version=version,
            uid=data.get("iCalUId") if isinstance(data.get("iCalUId"), str) else None,
            key=_key_of(data) or key,
            read_only=data.get("isOrganizer") is False,
        )
        if event.recurrence is not None:
            exceptions = [
                e for e in data.get("exceptionOccurrences") or [] if isinstance(e, Mapping)
            ]
            self._series_seen[item.id] = (_signature(data, exceptions), item)
        return item

    def _stored(self, data: Mapping[str, Any], key: str | None) -> RemoteEvent:
        """An event Graph answered a write (or its read-back) with; unreadable: malformed.

        calsync wrote it, so Graph must hand back an event calsync can read: one
        it cannot is an answer to retry, not content to quarantine.
        """
        try:
            return self._remote(data, key)
        except _UNREADABLE as error:
            raise MalformedAnswerError(
                f"Graph answered with an event calsync cannot read: {type(error).__name__}: "
                f"{error}",
                event=str(data.get("id")),
            ) from None

    def _try_remote(self, data: Mapping[str, Any]) -> RemoteEvent | None:
        try:
            return self._remote(data)
        except _UNREADABLE as error:
            event_id = str(data.get("id"))
            self.unreadable[event_id] = f"{type(error).__name__}: {error}"
            logger.warning(
                "Outlook event %s left out: calsync cannot hold it (%s)",
                event_id,
                error,
                extra={"calsync_side": self._name, "calsync_event": event_id},
            )
            return None

    async def _read(self, ids: Sequence[str], kind: str) -> dict[str, Result]:
        results = await self._transport.batch([self._get(event_id, kind) for event_id in ids])
        return dict(zip(ids, results, strict=True))

    async def fetch(self, ids: Sequence[str]) -> Mapping[str, RemoteEvent | None]:
        """These events as Outlook holds them now (None: gone; left out: unreadable), with keys."""
        await self._ensure_owner()
        found: dict[str, RemoteEvent | None] = {}
        for event_id, result in (await self._read(list(dict.fromkeys(ids)), "get")).items():
            if result.status == 404:
                found[event_id] = None
                continue
            data = item_of(result, side=self._name, event=event_id)
            if withdrawn(data):
                found[event_id] = None
                continue
            item = self._try_remote(data)
            if item is not None:  # an unreadable event stays out: unknown, not gone
                found[event_id] = item
        return found

    def _cursor_ok(self, cursor: str) -> bool:
        """A cursor is a delta link on this API's host (the token is sent nowhere else)."""
        try:
            mine, theirs = urlsplit(self._transport.base_url), urlsplit(cursor)
        except ValueError:
            return False
        return (
            theirs.scheme == mine.scheme
            and theirs.netloc == mine.netloc
            and "delta" in theirs.path
            and "$deltatoken" in theirs.query
        )

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        """Changes since ``cursor`` (every event of ``window`` when None, unknown or expired)."""
        await self._ensure_owner()
        if cursor is not None and self._cursor_ok(cursor):
            try:
                return await self._round(cursor, window)
            except _ResyncError:
                logger.info("Outlook delta token expired: starting a full round")
        elif cursor is not None:
            logger.info("unknown Outlook cursor: starting a full round")
        try:
            return await self._round(None, window)
        except _ResyncError:  # the round's own skip token expired while paging: once more
            logger.info("Outlook delta round expired while paging: starting again")
            return await self._round(None, window)

    def _delta_info(self, link: str | None, window: Window) -> Any:
        from kiota_abstractions.base_request_configuration import RequestConfiguration

        client = self._transport.client()
        base: Any = client.me if self._user is None else client.users.by_user_id(self._user)
        if self._calendar_id is not None:
            base = base.calendars.by_calendar_id(self._calendar_id)
        builder = base.calendar_view.delta
        config: RequestConfiguration[Any] = RequestConfiguration()
        config.headers.add("Prefer", self._transport.prefer(self.page_size))
        if link is not None:
            return builder.with_url(link).to_get_request_information(config)
        config.query_parameters = type(builder).DeltaRequestBuilderGetQueryParameters(
            start_date_time=_graph_time(window.start), end_date_time=_graph_time(window.end)
        )
        return builder.to_get_request_information(config)

    async def _round(self, cursor: str | None, window: Window) -> Listing:
        entries: list[Mapping[str, Any]] = []
        link = cursor
        new_cursor: str | None = None
        while True:
            result = await self._transport.send(self._delta_info(link, window), "delta")
            if result.status == 410 or result.code.lower() in _RESYNC:
                if cursor is None and link is None:
                    raise error_of(result, side=self._name)
                raise _ResyncError
            page = page_of(result, side=self._name)
            entries += page.entries
            if page.next_link is not None:
                link = page.next_link
                continue
            new_cursor = page.delta_link
            break
        return await self._listing(entries, full=cursor is None, cursor=new_cursor)

    async def _listing(
        self, entries: Iterable[Mapping[str, Any]], *, full: bool, cursor: str | None
    ) -> Listing:
        page = _Page.of(entries)
        singles, masters, removed = page.singles, page.masters, page.removed
        shown, exceptions = page.shown, page.exceptions
        items: dict[str, RemoteEvent] = {}
        unreadable: dict[str, str] = {}

        def keep(data: Mapping[str, Any]) -> None:
            if withdrawn(data):
                removed.add(str(data.get("id")))
                return
            item = self._try_remote(data)
            if item is not None:
                items[item.id] = item
            else:
                event_id = str(data.get("id"))
                unreadable[event_id] = self.unreadable.get(event_id, "unreadable")

        for data in singles.values():
            keep(data)
        unchanged = self._unchanged_series(masters, shown, exceptions)
        items.update(unchanged)
        stale = [master_id for master_id in masters if master_id not in unchanged]
        for master_id, result in (await self._read(stale, "series")).items():
            if result.status == 404:
                removed.add(master_id)
                continue
            keep(item_of(result, side=self._name, event=master_id))
        removed -= items.keys() | unreadable.keys()
        return Listing(
            items=tuple(items.values()),
            removed=removed,
            full=full,
            cursor=cursor,
            unreadable=unreadable,
        )

    def _unchanged_series(
        self,
        masters: Iterable[str],
        shown: Mapping[str, Mapping[str, Any]],
        exceptions: Mapping[str, list[Mapping[str, Any]]],
    ) -> dict[str, RemoteEvent]:
        """Series the round shows at the change keys calsync last read them at."""
        found: dict[str, RemoteEvent] = {}
        for master_id in masters:
            seen = self._series_seen.get(master_id)
            master = shown.get(master_id)
            if seen is None or master is None:
                continue
            (master_key, known), item = seen
            page = _signature(master, exceptions.get(master_id, ()))
            if page[0] == master_key and page[1] <= known:
                found[master_id] = item
        return found

    # -- writing -------------------------------------------------------------------------------

    async def apply(self, writes: Sequence[Write]) -> Sequence[WriteResult]:
        """Perform the writes through shared ``$batch`` calls; one result per write, in order."""
        if not writes:
            return []
        await self._ensure_owner()
        batcher = Batcher(self._transport.batch)
        return await batcher.run([self._job(batcher, write) for write in writes])

    async def _job(self, batcher: Batcher, write: Write) -> WriteResult:
        event_id = None if isinstance(write, Create) else write.current.id
        try:
            if isinstance(write, Create):
                return WriteResult(write, stored=await self._create(batcher, write))
            if isinstance(write, Update):
                if write.current.read_only:
                    return WriteResult(write, stored=await self._respond(batcher, write))
                return WriteResult(write, stored=await self._update(batcher, write))
            await self._delete(batcher, write)
            return WriteResult(write)
        except ProviderError as error:
            if error.side is None:
                error.side = self._name
            if error.event is None:
                error.event = event_id or write.key
            return WriteResult(write, error=error)
        except InvalidEventError as error:
            message, code = str(error), type(error).__name__
            if isinstance(error, UnsupportedRecurrenceError):  # as the Odoo adapter says it
                message, code = f"Outlook cannot hold this series: {error}", UNSUPPORTED
            rejected = RejectedError(
                message, code=code, side=self._name, event=event_id or write.key
            )
            return WriteResult(write, error=rejected)

    def _fail(self, result: Result, event: str | None) -> ProviderError:
        return error_of(result, side=self._name, event=event)

    # creates

    async def _create(self, batcher: Batcher, write: Create) -> RemoteEvent:
        body = create_body(write.event, self._owner)
        body["singleValueExtendedProperties"] = [{"id": KEY_PROPERTY, "value": write.key}]
        for attempt in range(_CREATE_ATTEMPTS):
            body["transactionId"] = transaction_id(write.key, attempt)
            call = self._write_call("POST", self._create_url, dict(body), None, "post")
            (result,) = await batcher.send(call)
            if result.ok:
                data = item_of(result, side=self._name)
                return await self._converge(batcher, write.key, data, write.event, True)
            duplicate = result.status == 409 or (
                result.status == 400 and result.code == "ErrorDuplicateTransactionId"
            )
            if not duplicate:
                raise self._fail(result, None)
            existing = await self._find(batcher, write.key)
            if existing is not None:
                logger.info("event with key %s exists already: updating it", write.key)
                return await self._converge(batcher, write.key, existing, write.event, False)
        raise RejectedError(
            f"no free transaction id after {_CREATE_ATTEMPTS} attempts", code="TransactionIds"
        )

    async def _find(self, batcher: Batcher, key: str) -> Mapping[str, Any] | None:
        """The event carrying this calsync key, through the extended property."""
        value = key.replace("'", "''")
        expression = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}' "
            f"and ep/value eq '{value}')"
        )
        expand = (
            f"exceptionOccurrences,singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}')"
        )
        query = self._query(
            **{"$filter": expression, "$select": ",".join(SELECT), "$expand": expand}
        )
        call = Call("GET", f"{self._create_url}?{query}", headers=self._headers(), kind="find")
        (result,) = await batcher.send(call)
        found = entries_of(result, side=self._name)
        return found[0] if found else None

    async def _converge(
        self,
        batcher: Batcher,
        key: str,
        data: Mapping[str, Any],
        wanted: Event,
        fresh: bool,
    ) -> RemoteEvent:
        """Make the event ``data`` (just created, or found by key) hold ``wanted``."""
        current = self._stored(data, key)
        body = master_patch_body(current.event, wanted, self._owner)
        if body:
            call = self._write_call(
                "PATCH", self._event_url(current.id), body, _etag(current.version), "patch"
            )
            (result,) = await batcher.send(call)
            data = item_of(result, side=self._name, event=current.id)
        if wanted.recurrence is None and current.event.recurrence is None:
            return self._stored(data, key)
        known = current.event if fresh and not body else None
        return await self._series(batcher, key, data, wanted, known)

    # updates

    async def _update(self, batcher: Batcher, write: Update) -> RemoteEvent:
        current, wanted = write.current, write.event
        body = master_patch_body(current.event, wanted, self._owner)
        data: Mapping[str, Any] | None = None
        if body:
            data = await self._patch(batcher, write, body)
        if wanted.recurrence is not None or current.event.recurrence is not None:
            return await self._series(batcher, write.key, data or {"id": current.id}, wanted, None)
        if data is None:
            (result,) = await batcher.send(self._get(current.id))
            data = item_of(result, side=self._name, event=current.id)
        return self._stored(data, current.key or write.key)

    async def _patch(
        self, batcher: Batcher, write: Update, body: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """PATCH with ``If-Match``; on 412 read again and decide (see the module docstring)."""
        current = write.current
        url = self._event_url(current.id)
        call = self._write_call("PATCH", url, body, _etag(current.version), "patch")
        (result,) = await batcher.send(call)
        if result.status == 412:
            (fresh,) = await batcher.send(self._get(current.id))
            fresh_data = item_of(fresh, side=self._name, event=current.id)
            server = self._stored(fresh_data, current.key)
            if self._same(server.event, write.event):
                return fresh_data
            if not self._same(server.event, current.event):
                raise PreconditionFailedError(
                    "the event changed in Outlook since calsync read it",
                    code="ErrorIrresolvableConflict",
                    status=412,
                )
            retry = self._write_call("PATCH", url, body, _etag(server.version), "patch")
            (result,) = await batcher.send(retry)
        return item_of(result, side=self._name, event=current.id)

    def _same(self, a: Event, b: Event) -> bool:
        return a.fingerprint(OUTLOOK_PROJECTION) == b.fingerprint(OUTLOOK_PROJECTION)

    # series

    async def _series(
        self,
        batcher: Batcher,
        key: str,
        data: Mapping[str, Any],
        wanted: Event,
        known: Event | None,
    ) -> RemoteEvent:
        """Write a series' exceptions and cancellations, then read the series back."""
        master_id = str(data["id"])
        master = data
        exception_ids: dict[OccurrenceKey, str] = {}
        if known is None:
            (result,) = await batcher.send(self._get(master_id))
            master = item_of(result, side=self._name, event=master_id)
            now = self._stored(master, key).event
            exception_ids = self._exception_ids(master)
        else:
            now = known
        changes = instance_changes(now, wanted, self._owner)
        if not changes:
            return self._stored(master, key)
        plain = [c.key for c in changes if c.key not in exception_ids]
        ids = {**await self._occurrence_ids(batcher, master, plain), **exception_ids}
        calls = []
        for change in list(changes):
            occurrence_id = ids.get(change.key)
            if occurrence_id is None and change.action == "delete":
                changes = tuple(c for c in changes if c is not change)  # cancelled already
                continue
            if occurrence_id is None:
                raise NotFoundError(
                    f"Outlook has no occurrence at {change.key} in this series", event=master_id
                )
            url = self._event_url(occurrence_id)
            if change.action == "delete":
                calls.append(self._write_call("DELETE", url, None, None, "occurrence"))
            else:
                calls.append(self._write_call("PATCH", url, change.body, None, "occurrence"))
        for change, result in zip(changes, await batcher.send(*calls), strict=True):
            if not result.ok and not (change.action == "delete" and result.status == 404):
                raise self._fail(result, master_id)
        (final,) = await batcher.send(self._get(master_id))
        return self._stored(item_of(final, side=self._name, event=master_id), key)

    def _exception_ids(self, master: Mapping[str, Any]) -> dict[OccurrenceKey, str]:
        all_day = master.get("isAllDay") is True
        zone = event_zone(master)
        found: dict[OccurrenceKey, str] = {}
        for item in master.get("exceptionOccurrences") or []:
            if isinstance(item, Mapping) and item.get("originalStart") and item.get("id"):
                key = occurrence_key(str(item["originalStart"]), all_day=all_day, zone=zone)
                found[key] = str(item["id"])
        return found

    async def _occurrence_ids(
        self, batcher: Batcher, master: Mapping[str, Any], keys: Sequence[OccurrenceKey]
    ) -> dict[OccurrenceKey, str]:
        """The ids of the occurrences at these original starts (one instances GET each)."""
        if not keys:
            return {}
        master_id = str(master["id"])
        all_day = master.get("isAllDay") is True
        zone = event_zone(master)
        calls = []
        for key in keys:
            moment = _instant(key)
            query = self._query(
                startDateTime=_graph_time(moment - timedelta(days=1)),
                endDateTime=_graph_time(moment + timedelta(days=2)),
                **{"$select": "id,type,originalStart"},
            )
            url = f"{self._event_url(master_id)}/instances?{query}"
            calls.append(Call("GET", url, headers=self._headers(50), kind="instances"))
        found: dict[OccurrenceKey, str] = {}
        for key, result in zip(keys, await batcher.send(*calls), strict=True):
            for item in entries_of(result, side=self._name, event=master_id):
                original = item.get("originalStart")
                if original and occurrence_key(original, all_day=all_day, zone=zone) == key:
                    found[key] = str(item["id"])
        return found

    # deletes and answers

    async def _delete(self, batcher: Batcher, write: Delete) -> None:
        current = write.current
        if current.read_only:
            raise AccessDeniedError(
                "calsync never deletes a meeting this mailbox does not organise; "
                "decline it instead",
                code="NotOrganizer",
            )
        url = self._event_url(current.id)
        call = self._write_call("DELETE", url, None, _etag(current.version), "delete")
        (result,) = await batcher.send(call)
        if result.status == 412:
            (fresh,) = await batcher.send(self._get(current.id))
            if fresh.status == 404:
                return
            server = self._stored(item_of(fresh, side=self._name, event=current.id), current.key)
            if not self._same(server.event, current.event):
                raise PreconditionFailedError(
                    "the event changed in Outlook since calsync read it: not deleted",
                    code="ErrorIrresolvableConflict",
                    status=412,
                )
            retry = self._write_call("DELETE", url, None, _etag(server.version), "delete")
            (result,) = await batcher.send(retry)
        if not result.ok and result.status != 404:
            raise self._fail(result, current.id)

    async def _respond(self, batcher: Batcher, write: Update) -> RemoteEvent:
        """A meeting this mailbox attends: only the owner's answer, and no reply mail."""
        current = write.current
        wanted = _response_of(write.event, self._owner)
        action = _RSVP.get(wanted) if wanted is not None else None
        if action is None or wanted == _response_of(current.event, self._owner):
            return current
        url = f"{self._event_url(current.id)}/{action}"
        call = self._write_call("POST", url, {"sendResponse": False}, None, "respond")
        (result,) = await batcher.send(call)
        if not result.ok:
            raise self._fail(result, current.id)
        (fresh,) = await batcher.send(self._get(current.id))
        return self._stored(item_of(fresh, side=self._name, event=current.id), current.key)
