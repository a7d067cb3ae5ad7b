"""``GraphEmulator``: Microsoft Graph's calendar API on loopback, for tests.

A real HTTP server on ``127.0.0.1`` that follows Graph v1.0's documented
behaviour for calendars (see the package docstring for the list), so the
real msgraph-sdk can talk to it. Tests drive it two ways: over HTTP, as
calsync's Outlook adapter does, and through direct helpers that play "the
user in Outlook" (same rules, not counted as requests, and mailing
attendees like Outlook unless ``notify=False``).
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._garble import Edit, graph_rewrite
from calsync.testing._graph import _batch, _delta, _handlers
from calsync.testing._graph._errors import DEFAULT_CODES, error_body
from calsync.testing._graph._identity import IdentityPlatform
from calsync.testing._graph._items import View, exception_view, instances, item_view, new_id
from calsync.testing._graph._pipeline import GraphRequest, Pipeline, Settings
from calsync.testing._graph._render import Shape, event_json
from calsync.testing._graph._router import Router
from calsync.testing._graph._state import MailboxState, Store
from calsync.testing._graph._subscriptions import SubscriptionService
from calsync.testing._graph._zones import UTC
from calsync.testing._server import Fault, LoopbackServer, Request, Response, Serving

if TYPE_CHECKING:
    from calsync.testing._graph._mail import MailMessage

__all__ = ["GraphEmulator", "GraphMailbox"]

Match = Callable[[GraphRequest], bool]
_FILTERS = frozenset({"match", "mailbox", "at", "inner", "method", "path", "times", "skip"})


@attrs.frozen
class GraphMailbox:
    """A mailbox of the emulator: its user id, address, bearer token and default calendar."""

    id: str
    email: str
    name: str
    token: str
    calendar_id: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


class GraphEmulator(Serving):
    """Microsoft Graph (calendars) on ``127.0.0.1``; use it as a context manager.

    Options:

    - ``duplicate_transaction``: ``"error"`` (a repeated ``transactionId``
      answers 400 ``ErrorDuplicateTransactionId``) or ``"return_existing"``
      (answers 201 with the first event);
    - ``concurrency_limit``: requests in flight per mailbox above which
      Outlook answers 429 (``Retry-After: concurrency_retry_after``); None
      only counts;
    - ``stray_keys``: PascalCase keys (``IsDraft``, ``AllowNewTimeProposals``)
      on full items of delta pages, as real pages carry;
    - ``default_page_size``: page size without ``$top``/``odata.maxpagesize``;
    - ``deliver_invitations``: meeting mail to a mailbox of this emulator
      changes that mailbox's calendar (attendee copies);
    - ``keep_declined``: a declined meeting stays in the attendee's calendar
      (else it is removed, as Outlook's default setting does);
    - ``shuffle_batch``/``seed``: answer ``$batch`` responses in a
      deterministic shuffled order;
    - ``stable_ids``: item ids and iCalUIds drawn from a generator seeded with
      ``seed`` instead of ``secrets``, so that emulators given the same calls
      hand out the same ids (a test can replay one run in many emulators);
    - ``latency``: seconds every request takes (makes overlap observable);
    - ``clock``: a callable giving the current aware UTC time (timestamps);
    - ``subscription_max_lifetime``: the longest subscription Graph accepts
      (4,230 minutes in older pages, 10,080 in newer ones).
    """

    def __init__(
        self,
        *,
        duplicate_transaction: str = "error",
        concurrency_limit: int | None = None,
        concurrency_retry_after: int = 1,
        stray_keys: bool = True,
        default_page_size: int = 10,
        deliver_invitations: bool = True,
        keep_declined: bool = True,
        shuffle_batch: bool = False,
        seed: int = 0,
        stable_ids: bool = False,
        latency: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        subscription_max_lifetime: timedelta = timedelta(minutes=4230),
    ) -> None:
        self.store = Store(
            clock or _now,
            duplicate_transaction=duplicate_transaction,
            deliver=deliver_invitations,
            keep_declined=keep_declined,
            ids=random.Random(seed) if stable_ids else None,  # noqa: S311 (not secrets)
        )
        self.router = Router()
        for module in (_handlers, _delta, _batch):
            module.register(self.router)
        settings = Settings(
            stray_keys=stray_keys,
            default_page_size=default_page_size,
            concurrency_limit=concurrency_limit,
            concurrency_retry_after=concurrency_retry_after,
            latency=latency,
            shuffle_batch=shuffle_batch,
            seed=seed,
        )
        self._pipeline = Pipeline(self.store, self.router, settings, lambda: self.url)
        self._pipeline.delta = _delta.DeltaEngine()
        #: The Microsoft identity platform on the same server (sign-in; see ``_identity``).
        self.identity = IdentityPlatform(self._pipeline)
        self.identity.register(self.router)
        #: Change notifications: ``/subscriptions`` and delivery (see ``_subscriptions``).
        self.subscriptions = SubscriptionService(
            self._pipeline, max_lifetime=subscription_max_lifetime
        )
        self.subscriptions.register(self.router)
        self.store.observers.append(self.subscriptions.observe)
        self._server = LoopbackServer(self._pipeline.serve)
        self._handles: dict[str, GraphMailbox] = {}

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (Graph paths are under ``/v1.0``)."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1.0``: the SDK adapter's ``base_url`` (no trailing slash)."""
        return f"{self.url}/v1.0"

    def start(self) -> GraphEmulator:
        """Start serving (idempotent)."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and delivering notifications (idempotent)."""
        self._server.stop()
        self.subscriptions.stop()

    # -- mailboxes and tokens -----------------------------------------------------------

    def add_mailbox(self, email: str, name: str | None = None) -> GraphMailbox:
        """Create a mailbox with a default calendar and a bearer token."""
        state = self.store.add_mailbox(email, name or email.split("@", maxsplit=1)[0].title())
        token = self.grant_token(state.email)
        handle = GraphMailbox(state.id, state.email, state.name, token, state.default_calendar)
        self._handles[state.id] = handle
        return handle

    def mailbox(self, ref: GraphMailbox | str) -> GraphMailbox:
        """The handle of a mailbox given by handle, id or address."""
        return self._handles[self._state(ref).id]

    @property
    def mailboxes(self) -> list[GraphMailbox]:
        """Every mailbox, in creation order."""
        return list(self._handles.values())

    def _state(self, ref: GraphMailbox | str) -> MailboxState:
        key = ref.id if isinstance(ref, GraphMailbox) else ref
        found = self.store.mailbox(key)
        if found is None:
            raise KeyError(f"no mailbox {key!r}")
        return found

    def add_calendar(self, mailbox: GraphMailbox | str, name: str) -> str:
        """Add a secondary calendar; returns its id."""
        with self.store.lock:
            calendar_id = new_id()
            self._state(mailbox).calendars[calendar_id] = name
            return calendar_id

    def grant_token(
        self,
        mailbox: GraphMailbox | str,
        token: str | None = None,
        *,
        expires_on: float | None = None,
    ) -> str:
        """Make ``token`` (a fresh one when None) a valid bearer token for ``mailbox``.

        ``expires_on`` (Unix time): Graph answers 401 "Lifetime validation
        failed, the token is expired." from then on.
        """
        granted = token or f"graph-emulator-{secrets.token_urlsafe(18)}"
        self._pipeline.tokens[granted] = self._state(mailbox).id
        if expires_on is not None:
            self._pipeline.token_expiry[granted] = expires_on
        return granted

    def revoke_token(self, token: str) -> None:
        """Make ``token`` invalid: requests carrying it answer 401."""
        self._pipeline.tokens.pop(token, None)
        self._pipeline.token_expiry.pop(token, None)

    # -- direct state access ("the user in Outlook") -------------------------------------

    def _json(self, view: View, time_zone: str = "UTC") -> dict[str, Any]:
        return event_json(view, Shape(time_zone=time_zone, extras=True))

    def create_event(
        self,
        mailbox: GraphMailbox | str,
        body: Mapping[str, Any],
        *,
        calendar_id: str | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """Create an event as Outlook would for ``POST /events``; returns the event (UTC)."""
        view = self.store.create(self._state(mailbox), body, calendar_id=calendar_id, notify=notify)
        return self._json(view)

    def seed_event(
        self,
        mailbox: GraphMailbox | str,
        body: Mapping[str, Any],
        *,
        organizer: str | tuple[str, str] | None = None,
        calendar_id: str | None = None,
    ) -> dict[str, Any]:
        """Store an event without mailing anyone; ``organizer`` (address or (name, address))
        of someone else stores a meeting the mailbox was invited to (``isOrganizer`` false)."""
        who = (organizer, organizer) if isinstance(organizer, str) else organizer
        view = self.store.create(
            self._state(mailbox), body, calendar_id=calendar_id, notify=False, organizer=who
        )
        return self._json(view)

    def update_event(
        self,
        mailbox: GraphMailbox | str,
        event_id: str,
        patch: Mapping[str, Any],
        *,
        notify: bool = True,
    ) -> dict[str, Any]:
        """PATCH an event, master, occurrence or exception as Outlook would."""
        view = self.store.patch(self._state(mailbox), event_id, patch, notify=notify)
        return self._json(view)

    def delete_event(
        self, mailbox: GraphMailbox | str, event_id: str, *, notify: bool = True
    ) -> None:
        """Delete an event (or cancel one occurrence) as Outlook would."""
        self.store.delete(self._state(mailbox), event_id, notify=notify)

    def cancel_event(
        self, mailbox: GraphMailbox | str, event_id: str, *, notify: bool = True
    ) -> None:
        """Cancel a meeting the mailbox organises (``POST .../cancel``)."""
        self.store.cancel(self._state(mailbox), event_id, notify=notify)

    def rsvp(
        self,
        mailbox: GraphMailbox | str,
        event_id: str,
        action: str,
        *,
        send_response: bool = True,
    ) -> None:
        """The owner answers an invitation: ``accept``, ``tentativelyAccept``, ``decline``."""
        self.store.rsvp(self._state(mailbox), event_id, action, send_response=send_response)

    def respond(
        self, mailbox: GraphMailbox | str, event_id: str, attendee_email: str, response: str
    ) -> dict[str, Any]:
        """An attendee's answer (``accepted``, ``declined``, ``tentativelyAccepted``) reaching
        the organiser's copy ``event_id`` in ``mailbox``: the status changes, nothing is mailed."""
        view = self.store.respond(self._state(mailbox), event_id, attendee_email, response)
        return self._json(view)

    def get_event(
        self, mailbox: GraphMailbox | str, event_id: str, *, time_zone: str = "UTC"
    ) -> dict[str, Any]:
        """An event, instance or master (with cancelled and exception occurrences)."""
        with self.store.lock:
            target = self.store.resolve(self._state(mailbox), event_id)
            view = self.store.view(target, with_exceptions=True)
            return self._json(view, time_zone)

    def events(self, mailbox: GraphMailbox | str) -> list[dict[str, Any]]:
        """Every stored item: singles, series masters and exceptions (not plain occurrences)."""
        with self.store.lock:
            found: list[dict[str, Any]] = []
            for item in self._state(mailbox).items.values():
                found.append(self._json(item_view(item, with_exceptions=True)))
                found += [self._json(exception_view(item, m)) for m in item.exceptions.values()]
            return found

    def instances(
        self, mailbox: GraphMailbox | str, event_id: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """A series' occurrences and exceptions meeting ``[start, end)`` (aware datetimes)."""
        with self.store.lock:
            target = self.store.resolve(self._state(mailbox), event_id)
            views = instances(target.item, start.astimezone(UTC), end.astimezone(UTC))
            return [self._json(view) for view in views]

    def calendar_view(
        self, mailbox: GraphMailbox | str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """What ``calendarView`` shows for the default calendar between two aware datetimes."""
        with self.store.lock:
            state = self._state(mailbox)
            views = self.store.window(state, None, start.astimezone(UTC), end.astimezone(UTC))
            return [self._json(view) for view in views]

    def observe(self, callback: Callable[[str, str, str], None]) -> None:
        """Call ``callback(mailbox address, item id, change)`` on every stored change.

        ``change`` is ``created``, ``updated`` or ``deleted``; the id is the
        single event's or series master's (an instance change updates its
        series). HTTP writes, direct helpers and deliveries all report.
        """
        self.store.observers.append(
            lambda box, item_id, change: callback(box.email, item_id, change)
        )

    # -- delta -----------------------------------------------------------------------------

    def expire_delta_tokens(self, mailbox: GraphMailbox | str | None = None) -> None:
        """Invalidate the delta and skip tokens of one mailbox (all when None): 410 next time."""
        engine = self._pipeline.delta
        assert engine is not None
        with self.store.lock:
            engine.expire(None if mailbox is None else self._state(mailbox).id)

    # -- mail log ---------------------------------------------------------------------------

    def mail_log(self, mailbox: GraphMailbox | str | None = None) -> list[MailMessage]:
        """Messages sent, in order; only those sent by ``mailbox`` when given."""
        with self.store.lock:
            if mailbox is None:
                return list(self.store.mail)
            sender = self._state(mailbox).email.lower()
            return [message for message in self.store.mail if message.mailbox == sender]

    def clear_mail_log(self) -> None:
        """Forget every logged message."""
        with self.store.lock:
            self.store.mail.clear()

    # -- request log and concurrency ---------------------------------------------------------

    @property
    def all_requests(self) -> list[GraphRequest]:
        """Every request, top-level and inner, by index (``all_requests[i].index == i``)."""
        return list(self._pipeline.log)

    @property
    def requests(self) -> list[GraphRequest]:
        """Top-level HTTP requests (``$batch`` envelopes included, their inner ones not)."""
        return [request for request in self._pipeline.log if not request.inner]

    @property
    def inner_requests(self) -> list[GraphRequest]:
        """Requests that arrived inside a ``$batch`` (``inner`` True)."""
        return [request for request in self._pipeline.log if request.inner]

    def request_count(
        self, mailbox: GraphMailbox | str | None = None, *, include_inner: bool = False
    ) -> int:
        """Requests received (for one mailbox when given); inner batch requests on demand."""
        wanted = None if mailbox is None else self._state(mailbox).email.lower()
        return sum(
            1
            for request in self._pipeline.log
            if (include_inner or not request.inner)
            and (wanted is None or request.mailbox == wanted)
        )

    def status_of(self, request: GraphRequest | int) -> int | None:
        """The status answered to a request (0: connection dropped; None: still running)."""
        index = request if isinstance(request, int) else request.index
        return self._pipeline.statuses.get(index)

    def max_concurrency(self, mailbox: GraphMailbox | str | None = None) -> int:
        """The most requests seen in flight at once for ``mailbox`` (across all when None).

        A request refused for exceeding ``concurrency_limit`` counts at the
        moment it arrived, so the peak exceeds the limit exactly when the
        limit was hit. Inner batch requests count; ``$batch`` envelopes do not.
        """
        return self._pipeline.peak(None if mailbox is None else self._state(mailbox).email)

    def reset_counts(self) -> None:
        """Clear the request log, statuses and concurrency peaks; indexes restart at 0."""
        self._pipeline.reset()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every request received has been handled (delayed ones included).

        A client that gave up on a request (a timeout, a cancelled task) leaves
        it running here; tests wait for it before they look at the state.
        False if requests were still running after ``timeout`` seconds.
        """
        return self._server.wait_idle(timeout)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions inside handlers (each answered 500): should stay empty."""
        return list(self._pipeline.errors)

    # -- faults -------------------------------------------------------------------------------

    def _matcher(
        self,
        *,
        match: Match | None,
        mailbox: GraphMailbox | str | None,
        at: int | None,
        inner: bool | None,
        method: str | None,
        path: str | None,
    ) -> Callable[[Request], bool]:
        wanted = None if mailbox is None else self._state(mailbox).email.lower()
        pattern = None if path is None else re.compile(path)

        def test(request: Request) -> bool:
            return (
                isinstance(request, GraphRequest)
                and (at is None or request.index == at)
                and (wanted is None or request.mailbox == wanted)
                and (inner is None or request.inner == inner)
                and (method is None or request.method == method.upper())
                and (pattern is None or pattern.search(request.path) is not None)
                and (match is None or match(request))
            )

        return test

    def _fault(
        self,
        filters: Mapping[str, Any],
        *,
        response: Response | None = None,
        delay: float = 0.0,
        drop: bool = False,
        after: bool = False,
        rewrite: Callable[[Request, Response], Response] | None = None,
    ) -> Fault:
        unknown = set(filters) - _FILTERS
        if unknown:
            raise TypeError(f"unknown fault filter(s): {sorted(unknown)}")
        test = self._matcher(
            match=filters.get("match"),
            mailbox=filters.get("mailbox"),
            at=filters.get("at"),
            inner=filters.get("inner"),
            method=filters.get("method"),
            path=filters.get("path"),
        )
        return self._pipeline.faults.add(
            test,
            response=response,
            delay=delay,
            drop=drop,
            times=filters.get("times", 1),
            skip=filters.get("skip", 0),
            after=after,
            rewrite=rewrite,
        )

    def fail(
        self,
        status: int = 503,
        code: str | None = None,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
        **filters: Any,
    ) -> Fault:
        """Answer matching requests with a Graph error (``code`` defaults per status).

        Filters (all optional, combined with "and"): ``mailbox``, ``at`` (the
        request index: 0 is the first request after start or
        ``reset_counts()``), ``inner`` (True: only inner batch requests,
        False: only top-level), ``method``, ``path`` (a regex searched in
        the normalised path, e.g. ``r"/events$"``), ``match`` (a predicate
        on the :class:`GraphRequest`); ``times`` (default 1) and ``skip``
        (matching requests to let through first).
        """
        extra = list(headers)
        if retry_after is not None:
            extra.append(("Retry-After", str(retry_after)))
        found = code or DEFAULT_CODES.get(status, "UnknownError")
        text = message or f"Emulated failure {status} {found}."
        body = Response.json(status, error_body(found, text), tuple(extra))
        return self._fault(filters, response=body)

    def throttle(
        self, mailbox: GraphMailbox | str | None = None, *, retry_after: int = 1, **filters: Any
    ) -> Fault:
        """Answer matching requests 429 ``ApplicationThrottled`` with ``Retry-After``."""
        return self.fail(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            retry_after=retry_after,
            mailbox=mailbox,
            **filters,
        )

    def slow(self, seconds: float, *, after: bool = False, **filters: Any) -> Fault:
        """Delay matching requests by ``seconds`` (``after``: once handled, before answering)."""
        return self._fault(filters, delay=seconds, after=after)

    def drop(self, *, after: bool = False, **filters: Any) -> Fault:
        """Close the connection of matching requests without answering.

        ``after``: the request is handled first (a write happens) and the
        answer is lost, as when a timeout hides a success.
        """
        return self._fault(filters, drop=True, after=after)

    def garble(self, kind: str | Edit, **filters: Any) -> Fault:
        """Handle matching requests, then answer them with a garbled version of the answer.

        ``kind`` is one of ``"truncated"``, ``"html"``, ``"null"``, ``"empty"``
        (the bytes), ``"value-not-list"``, ``"no-value"``, ``"no-link"`` (a
        listing or a delta page without its ``@odata.nextLink`` and
        ``@odata.deltaLink``), ``"not-an-event"`` (an object without ``id``),
        or a callable that takes the JSON body and returns the garbled one (see
        :mod:`calsync.testing._garble`). The status stays what the handler
        answered: a garbled 200 or 201 is what clients must not take for a
        success. Inner ``$batch`` requests are garbled inside the batch's
        answer (a body that is not JSON travels base64-encoded there, as Graph
        sends non-JSON inner bodies). Filters as for :meth:`fail`.
        """
        return self._fault(filters, rewrite=graph_rewrite(kind))

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._pipeline.faults.clear()
