"""A deployment: what a configuration file describes, built into calsync's library objects.

:class:`Deployment` turns a :class:`~calsync._app._config.Config` into the
stores, the Microsoft credentials (delegated :class:`~calsync.auth.MicrosoftAuth`
or app-only :class:`~calsync.auth.ApplicationCredential`), and one
:class:`~calsync.Synchronizer` per pair. The command line and the service both
stand on it; it imports no CLI or web library.

A deployment keeps what is costly to make again for as long as it lives: one
Odoo transport per login and secret (a service login that reads every
user's calendar logs in once for all pairs; a user's own key or password
once per process), and each pair's two adapters (their clients, connections
and what they remember between runs). :meth:`Deployment.synchronizer` builds
a :class:`~calsync.Synchronizer` over the pair's kept adapters for each
run; closing the deployment closes them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import attrs

from calsync._blocking import in_running_loop, run_blocking
from calsync._closing import ClosesOnExit
from calsync._errors import ConfigurationError
from calsync._limits import ConcurrencyLimiter
from calsync._sync._many import MAILBOX_REQUESTS_IN_FLIGHT
from calsync._sync._synchronizer import Synchronizer

if TYPE_CHECKING:
    from calsync._app._config import Config, PairConfig
    from calsync.adapters.odoo import AutoTransport, OdooCalendar, OdooDatabase
    from calsync.adapters.outlook import OutlookCalendar
    from calsync.auth import ApplicationCredential, MicrosoftAuth
    from calsync.stores import MappingStore, SubscriptionStore, TokenStore

__all__ = ["Deployment", "Expiry"]

logger = logging.getLogger("calsync.app")
UTC = timezone.utc
#: How long before an expiry calsync starts warning.
WARN_AHEAD = timedelta(days=30)


@attrs.frozen
class Expiry:
    """A credential that stops working on a known date: the app's secret, an Odoo API key."""

    what: str
    expires: date | datetime
    where: str

    @property
    def instant(self) -> datetime:
        """The expiry as an instant (a date expires at its end, UTC)."""
        if isinstance(self.expires, datetime):
            return self.expires if self.expires.tzinfo else self.expires.replace(tzinfo=UTC)
        return datetime(self.expires.year, self.expires.month, self.expires.day, tzinfo=UTC) + (
            timedelta(days=1)
        )

    def state(self, now: datetime | None = None) -> str:
        """``expired``, ``soon`` (within 30 days) or ``ok``."""
        left = self.instant - (now or datetime.now(UTC))
        if left <= timedelta(0):
            return "expired"
        return "soon" if left <= WARN_AHEAD else "ok"

    def days_left(self, now: datetime | None = None) -> int:
        """Whole days until the expiry (negative once past)."""
        return (self.instant - (now or datetime.now(UTC))).days

    def message(self, now: datetime | None = None) -> str:
        """A sentence for the log, ``check`` and ``status``."""
        state = self.state(now)
        day = self.instant.date() - timedelta(days=0 if isinstance(self.expires, datetime) else 1)
        if state == "expired":
            return f"{self.what} expired on {day.isoformat()}: {self.where}"
        return f"{self.what} expires on {day.isoformat()} (in {self.days_left(now)} days)" + (
            f": {self.where}" if state == "soon" else ""
        )


class Deployment(ClosesOnExit):
    """The stores, credentials and pairs of one configuration file.

    ``environ`` is where ``*_env`` secrets are read (default: the process
    environment). Stores and credentials are made on first use and closed by
    :meth:`close`.
    """

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.environ = os.environ if environ is None else environ
        self._discovered: list[PairConfig] | None = None
        self._lock = threading.Lock()
        self._transports: dict[tuple[str, str | None, str | None], AutoTransport] = {}
        # every transport of the deployment, whatever its login, shares the server's ceiling
        self._odoo_limiter = ConcurrencyLimiter(per_key=config.odoo.requests_in_flight)
        # and every Outlook adapter Graph's: 4 per mailbox (two pairs on one mailbox share
        # them), the app's ceiling across mailboxes; the service runs pairs one by one
        self._graph_limiter = ConcurrencyLimiter(
            per_key=MAILBOX_REQUESTS_IN_FLIGHT, total=config.microsoft.requests_in_flight
        )
        self._sides: dict[str, tuple[OdooCalendar, OutlookCalendar]] = {}
        self._database: OdooDatabase | None = None

    def __repr__(self) -> str:
        return f"Deployment({str(self.config.path)!r})"

    # -- stores --------------------------------------------------------------------------------

    @cached_property
    def store(self) -> MappingStore:
        """The mapping store (SQLite file, or SQLAlchemy URL: ``calsync[sql]``)."""
        from calsync.stores import SQLiteStore, SQLStore

        path = self.config.store.sqlite_path
        return SQLiteStore(path) if path is not None else SQLStore(self.config.store.url)

    @cached_property
    def token_store(self) -> TokenStore:
        """Users' Microsoft tokens, in the store's database (encrypted when a key is set)."""
        from calsync.stores import SQLiteTokenStore, SQLTokenStore

        secret = self.config.store.token_key
        key = secret.value(self.environ) if secret is not None else None
        path = self.config.store.sqlite_path
        if path is not None:
            return SQLiteTokenStore(path, key=key)
        return SQLTokenStore(self.config.store.url, key=key)

    @cached_property
    def subscription_store(self) -> SubscriptionStore:
        """Graph change-notification subscriptions, in the store's database."""
        from calsync.stores import SQLiteSubscriptionStore, SQLSubscriptionStore

        path = self.config.store.sqlite_path
        if path is not None:
            return SQLiteSubscriptionStore(path)
        return SQLSubscriptionStore(self.config.store.url)

    # -- Microsoft -----------------------------------------------------------------------------

    @property
    def delegated(self) -> bool:
        """Whether each user signs in (else the app reads mailboxes with its own permission)."""
        return self.config.microsoft.access == "delegated"

    @cached_property
    def auth(self) -> MicrosoftAuth:
        """Delegated sign-in (:class:`~calsync.auth.MicrosoftAuth`) on the token store."""
        from calsync.auth import REDIRECT_PATH, MicrosoftAuth

        ms = self.config.microsoft
        if ms.client_secret is None:
            raise ConfigurationError("microsoft: delegated access needs client_secret_env or _file")
        redirect = ms.redirect_uri or f"http://localhost:8400{REDIRECT_PATH}"
        return MicrosoftAuth(
            ms.client_id,
            ms.client_secret.value(self.environ),
            redirect,
            self.token_store,
            tenant=ms.tenant,
            authority_host=ms.authority_host,
        )

    @cached_property
    def app_credential(self) -> ApplicationCredential:
        """The app-only credential (client secret or certificate)."""
        from calsync.auth import ApplicationCredential

        ms = self.config.microsoft
        password = ms.certificate_password
        return ApplicationCredential(
            ms.tenant,
            ms.client_id,
            client_secret=ms.client_secret.value(self.environ)
            if ms.certificate is None and ms.client_secret is not None
            else None,
            certificate_path=ms.certificate,
            certificate_password=password.value(self.environ) if password is not None else None,
            authority_host=ms.authority_host,
        )

    def account(self, pair: PairConfig) -> str:
        """The token store key of a pair's user (the mailbox address, lower case)."""
        return pair.mailbox.lower()

    # -- pairs ---------------------------------------------------------------------------------

    def pairs(self) -> list[PairConfig]:
        """The configured pairs, and with ``discover = true`` those found (once per process)."""
        if not self.config.discover:
            return list(self.config.pairs)
        with self._lock:
            if self._discovered is None:
                from calsync._app._discover import discover

                self._discovered = discover(self)
            found = self._discovered
        named = {p.name for p in self.config.pairs}
        return [*self.config.pairs, *(p for p in found if p.name not in named)]

    def pair(self, name: str) -> PairConfig:
        """The pair called ``name`` (configured or discovered)."""
        for pair in self.pairs():
            if pair.name == name:
                return pair
        return self.config.pair(name)  # raises, naming the known pairs

    def odoo(self, pair: PairConfig) -> OdooCalendar:
        """The Odoo side: the user's own key or password, else the service login on their behalf.

        A new adapter on the deployment's transport for that login (made once, logged
        in once); the deployment closes the transport, not the adapter.
        """
        from calsync.adapters.odoo import OdooCalendar

        odoo = self.config.odoo
        own = pair.odoo_api_key or pair.odoo_password
        if own is not None:
            login, user = pair.odoo_login, None
            api_key = pair.odoo_api_key.value(self.environ) if pair.odoo_api_key else None
            password = pair.odoo_password.value(self.environ) if pair.odoo_password else None
        elif odoo.login is not None and (odoo.api_key or odoo.password):
            login, user = odoo.login, pair.odoo_login
            api_key = odoo.api_key.value(self.environ) if odoo.api_key else None
            password = odoo.password.value(self.environ) if odoo.password else None
        else:
            raise ConfigurationError(
                f"pair {pair.name!r}: set odoo_api_key_env (or odoo_password_env) for "
                f"{pair.odoo_login!r}, or a service login in [odoo]"
            )
        return OdooCalendar(
            odoo.url,
            odoo.database,
            login,
            transport=self.odoo_transport(login, api_key=api_key, password=password),
            user_login=user,
            database=self.odoo_database(),
        )

    def odoo_database(self) -> OdooDatabase | None:
        """With ``odoo.shared_listing``, the one change query of the pairs (the service
        login's, on its transport: made once, logged in once)."""
        from calsync.adapters.odoo import OdooDatabase

        odoo = self.config.odoo
        if not odoo.shared_listing or odoo.login is None:
            return None
        api_key = odoo.api_key.value(self.environ) if odoo.api_key else None
        password = odoo.password.value(self.environ) if odoo.password else None
        transport = self.odoo_transport(odoo.login, api_key=api_key, password=password)
        with self._lock:
            if self._database is None:
                self._database = OdooDatabase(
                    odoo.url, odoo.database, odoo.login, transport=transport
                )
            return self._database

    def odoo_transport(
        self, login: str, *, api_key: str | None = None, password: str | None = None
    ) -> AutoTransport:
        """The deployment's transport for ``login`` with this secret (made on first use)."""
        from calsync.adapters.odoo import AutoTransport

        odoo = self.config.odoo
        key = (login, api_key, password)
        with self._lock:
            found = self._transports.get(key)
            if found is None:
                found = self._transports[key] = AutoTransport(
                    odoo.url,
                    odoo.database,
                    login,
                    api_key=api_key,
                    password=password,
                    choice=odoo.transport,  # type: ignore[arg-type]
                    limiter=self._odoo_limiter,
                )
            return found

    def outlook(self, pair: PairConfig) -> OutlookCalendar:
        """The Outlook side: the user's delegated tokens, or the app's own at ``/users/{id}``."""
        from calsync.adapters.outlook import OutlookCalendar

        credential: Any
        user: str | None
        if self.delegated:
            credential, user = self.auth.credential(self.account(pair)), None
        else:
            credential, user = self.app_credential, pair.mailbox
        return OutlookCalendar(
            credential,
            user=user,
            calendar_id=pair.calendar_id,
            account=pair.mailbox.lower(),
            base_url=self.config.microsoft.graph_url,
            limiter=self._graph_limiter,
        )

    def sides(self, pair: PairConfig) -> tuple[OdooCalendar, OutlookCalendar]:
        """The pair's two adapters, made on first use and kept until :meth:`aclose`."""
        with self._lock:
            kept = self._sides.get(pair.name)
        if kept is None:
            made = (self.odoo(pair), self.outlook(pair))
            with self._lock:
                kept = self._sides.setdefault(pair.name, made)
        return kept

    def synchronizer(self, pair: PairConfig, **options: Any) -> Synchronizer:
        """A Synchronizer over the pair's kept adapters (Odoo left, Outlook right).

        Build one per run, or keep it; closing it closes the adapters' connections
        only (they reconnect on their next run, with no new login).
        """
        if pair.max_notifications is not None:
            options.setdefault("max_notifications", pair.max_notifications)
        odoo, outlook = self.sides(pair)
        return Synchronizer(odoo, outlook, self.store, pair=pair.name, **options)

    # -- expiry ----------------------------------------------------------------------------------

    def expiries(self) -> list[Expiry]:
        """Every credential whose expiry the configuration knows."""
        found: list[Expiry] = []
        ms = self.config.microsoft
        if ms.secret_expires is not None and ms.client_secret is not None:
            found.append(
                Expiry(
                    f"the client secret of app {ms.client_id}",
                    ms.secret_expires,
                    "create a new one in Entra ID (App registrations > Certificates & secrets), "
                    "put its value where microsoft.client_secret is read from, and set "
                    "microsoft.secret_expires",
                )
            )
        if self.config.odoo.api_key_expires is not None:
            found.append(
                Expiry(
                    f"the Odoo API key of {self.config.odoo.login}",
                    self.config.odoo.api_key_expires,
                    "create a new key in Odoo (Preferences > Account Security > New API Key)",
                )
            )
        for pair in self.config.pairs:
            if pair.odoo_api_key_expires is not None:
                found.append(
                    Expiry(
                        f"the Odoo API key of {pair.odoo_login} (pair {pair.name})",
                        pair.odoo_api_key_expires,
                        "the user creates a new key in Odoo (Preferences > Account Security)",
                    )
                )
        return found

    def warn_expiries(self) -> list[Expiry]:
        """Log a warning for each credential that expired or expires within 30 days."""
        due = [e for e in self.expiries() if e.state() != "ok"]
        for expiry in due:
            logger.warning("%s", expiry.message(), extra={"calsync_expiry": expiry.what})
        return due

    # -- closing ---------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the kept adapters and the Odoo transports (their connections)."""
        with self._lock:
            sides = [side for pair in self._sides.values() for side in pair]
            transports = list(self._transports.values())
            self._sides.clear()
            self._transports.clear()
            self._database = None  # on those transports: nothing of its own to close
        for held in (*sides, *transports):
            try:
                await held.aclose()
            except Exception:  # closing one must not keep the others open
                logger.warning("closing %r failed", held, exc_info=True)

    def close(self) -> None:
        """Close the kept adapters and transports (in a running event loop, await
        :meth:`aclose` first), then the stores and credentials that were made."""
        if not in_running_loop():
            run_blocking(self.aclose(), "Deployment.aclose()")
        for name in ("auth", "app_credential", "subscription_store", "token_store", "store"):
            made = self.__dict__.pop(name, None)
            if made is not None:
                try:
                    made.close()
                except Exception:  # closing one must not keep the others open
                    logger.warning("closing the %s failed", name, exc_info=True)
