"""Microsoft Graph calendars on loopback: ``GraphEmulator`` and its helper types.

What it emulates (Graph v1.0 as the team's reference notes, ``graph.md``, state
it): mailboxes addressed by ``/me`` (bearer token) or ``/users/{id or
address}``; calendars; events with Outlook's fields and forms; recurring
series with Outlook's expansion, exceptions and cancelled occurrences;
``calendarView``, ``instances`` and ``calendarView/delta`` with Outlook's
page shape; ``If-Match``; ``transactionId``; ``$batch``; throttling,
concurrency accounting and injected faults; and the log of the meeting mail
Outlook would send. Each module's docstring holds its area's rules:
``_mail`` (who gets mail), ``_delta`` (delta rounds), ``_recurrence``
(expansion and validation), ``_state`` (writes), ``_delivery`` (attendee
copies), ``_batch``, ``_pipeline`` (request numbering, concurrency,
faults), ``_query`` (query options and ``Prefer``), ``_handlers`` (routes).

In short::

    with GraphEmulator() as graph:
        alice = graph.add_mailbox("alice@example.com", name="Alice")
        # msgraph-sdk: adapter.base_url = graph.base_url; bearer alice.token
        graph.fail(503, retry_after=2, at=3)       # the request with index 3
        graph.throttle(alice, inner=True, times=2)  # inner $batch requests only
        ...
        graph.mail_log(alice)      # [MailMessage(kind="invitation", ...), ...]
        graph.requests             # top-level requests ($batch envelopes included)
        graph.inner_requests       # requests inside $batch envelopes
        graph.max_concurrency(alice)
        graph.wait_idle()          # requests a client gave up on have been handled too

Sign-in: ``graph.identity`` is the Microsoft identity platform on the same
server (``_identity``: discovery, authorize with PKCE, token with refresh
rotation, errors on demand), and the access tokens it issues are Graph
bearer tokens of the signed-in mailbox::

    graph.identity.register_app("client-id", "secret", ["https://odoo.example.com/microsoft_account/authentication"])
    graph.identity.sign_in(alice)         # the browser's user for the next authorize
    graph.identity.expire_secret("client-id")   # invalid_client AADSTS7000222
    graph.identity.revoke(alice, "consent")     # invalid_grant AADSTS65001

Change notifications: ``graph.subscriptions`` (``_subscriptions``) serves
``/subscriptions`` (create with the validation handshake, renew, delete)
and POSTs notifications to the receivers from a background thread::

    graph.subscriptions.flush()                  # wait until queued ones are sent
    graph.subscriptions.deliveries               # [Delivery(url, notifications, status)]
    graph.subscriptions.lifecycle(sid, "missed")  # or reauthorizationRequired, ...

New endpoints come as modules with a
``register(router)`` function adding routes to ``graph.router``:
``router.add("POST", "/{tenant}/oauth2/v2.0/token", handler, auth=False)`` or
``router.add_mailbox("GET", "events/{event_id}/extensions", handler)``. A
handler takes a :class:`Call` (request, path parameters, addressed mailbox,
``Prefer``, and ``call.pipeline.store``) and returns a ``Response``; raising
:class:`GraphError` answers Graph's error body. ``graph.grant_token`` makes a
token valid and ``graph.observe`` reports every stored change.
"""

from __future__ import annotations

from calsync.testing._graph._emulator import GraphEmulator, GraphMailbox
from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._identity import IdentityPlatform, RegisteredApp, TokenRequest
from calsync.testing._graph._mail import MailMessage
from calsync.testing._graph._pipeline import GraphRequest
from calsync.testing._graph._router import Call, Router
from calsync.testing._graph._subscriptions import Delivery, Subscription, SubscriptionService
from calsync.testing._server import Fault

__all__ = [
    "Call",
    "Delivery",
    "Fault",
    "GraphEmulator",
    "GraphError",
    "GraphMailbox",
    "GraphRequest",
    "IdentityPlatform",
    "MailMessage",
    "RegisteredApp",
    "Router",
    "Subscription",
    "SubscriptionService",
    "TokenRequest",
]
