"""The configuration file of ``calsync`` and ``calsync serve``: TOML, secrets kept outside.

Read with :func:`load` (``tomllib`` on Python 3.11+, ``tomli`` before);
:data:`TEMPLATE` is what ``calsync init`` writes, every key explained. A
secret is never a value of the file: a key ending in ``_env`` names an
environment variable holding it, one ending in ``_file`` a file (its content,
stripped); a literal secret is refused with a :class:`~calsync.ConfigurationError`
that says which key to use instead. Every error names the key at fault
(``pairs[2].mailbox``) and the file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import attrs

from calsync._errors import ConfigurationError
from calsync._sync._many import APP_REQUESTS_IN_FLIGHT, PAIRS_AT_ONCE

__all__ = [
    "TEMPLATE",
    "Config",
    "MicrosoftConfig",
    "OdooConfig",
    "PairConfig",
    "Secret",
    "ServiceConfig",
    "StoreConfig",
    "load",
]

ACCESS = ("delegated", "application")
RUNNERS = ("inprocess", "rq")
SECRET_KEYS = (
    "client_secret",
    "certificate_password",
    "api_key",
    "password",
    "token_key",
    "session_secret",
)


@attrs.frozen
class Secret:
    """Where a secret comes from: an environment variable or a file (never the config itself)."""

    key: str
    env: str | None = None
    file: Path | None = None

    def value(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret, read now; a ConfigurationError naming its source when absent."""
        environ = os.environ if environ is None else environ
        if self.env is not None:
            found = environ.get(self.env)
            if not found:
                raise ConfigurationError(
                    f"{self.key}: the environment variable {self.env} is not set (or is empty)"
                )
            return found
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigurationError(
                f"{self.key}: cannot read {self.file}: {error.strerror or type(error).__name__}"
            ) from None
        if not text:
            raise ConfigurationError(f"{self.key}: the file {self.file} is empty")
        return text

    def describe(self) -> str:
        """Where it is read from, for messages (never the secret)."""
        return f"${self.env}" if self.env is not None else str(self.file)


@attrs.frozen
class OdooConfig:
    """The Odoo server; ``login``/``secret``: a service login (application access discovers
    users with it and syncs their calendars through it); ``shared_listing``: the pairs'
    incremental pulls list their changes through one query of the service login a round
    (:class:`~calsync.adapters.odoo.OdooDatabase`); ``requests_in_flight``: calsync's
    requests at once to the server, all pairs together (below its connection pool)."""

    url: str
    database: str
    login: str | None = None
    api_key: Secret | None = None
    password: Secret | None = None
    api_key_expires: date | None = None
    transport: str = "auto"
    shared_listing: bool = False
    requests_in_flight: int = 8


@attrs.frozen
class MicrosoftConfig:
    """The Microsoft app registration and how calsync signs in with it; ``requests_in_flight``:
    calsync's requests at once to Graph, all mailboxes together (and 4 per mailbox)."""

    tenant: str
    client_id: str
    access: str = "delegated"
    client_secret: Secret | None = None
    certificate: Path | None = None
    certificate_password: Secret | None = None
    secret_expires: date | None = None
    redirect_uri: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    requests_in_flight: int = APP_REQUESTS_IN_FLIGHT


@attrs.frozen
class StoreConfig:
    """Where state lives: a SQLite file, or a SQLAlchemy URL (PostgreSQL for many workers)."""

    url: str
    token_key: Secret | None = None

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file when the store is ``sqlite:///...`` (calsync's own stores)."""
        prefix = "sqlite:///"
        return self.url[len(prefix) :] if self.url.startswith(prefix) else None


@attrs.frozen
class ServiceConfig:
    """``calsync serve``: where it listens, how often pairs run, and on what."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8400
    public_url: str | None = None
    interval: float = 900.0
    jitter: float = 0.1
    concurrency: int = PAIRS_AT_ONCE
    runner: str = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue: str = "calsync"
    stop_timeout: float = 300.0
    session_secret: Secret | None = None


@attrs.frozen
class PairConfig:
    """One pair: an Odoo user's calendar and a mailbox."""

    name: str
    mailbox: str
    odoo_login: str
    odoo_api_key: Secret | None = None
    odoo_password: Secret | None = None
    odoo_api_key_expires: date | None = None
    calendar_id: str | None = None
    max_notifications: int | None = None
    discovered: bool = False


@attrs.frozen
class Config:
    """The whole file, checked."""

    path: Path
    odoo: OdooConfig
    microsoft: MicrosoftConfig
    store: StoreConfig
    service: ServiceConfig
    pairs: tuple[PairConfig, ...]
    discover: bool = False

    def pair(self, name: str) -> PairConfig:
        """The configured pair called ``name``."""
        for pair in self.pairs:
            if pair.name == name:
                return pair
        known = ", ".join(p.name for p in self.pairs) or "none"
        raise ConfigurationError(f"no pair {name!r} in {self.path} (pairs: {known})")


# -- reading -------------------------------------------------------------------------------------


class _Table:
    """One TOML table, read key by key with errors that name the key."""

    def __init__(self, data: object, where: str, base: Path) -> None:
        if not isinstance(data, dict):
            raise ConfigurationError(f"{where} must be a table")
        self.data: dict[str, Any] = data
        self.where = where
        self.base = base
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind in (int, float):
            raise ConfigurationError(f"{self._name(key)} must be a number, not {value!r}")
        if not isinstance(value, kind):
            wanted = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise ConfigurationError(f"{self._name(key)} must be a {wanted}, not {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, str, default)
        if value is not None and not value.strip():
            raise ConfigurationError(f"{self._name(key)} must not be empty")
        return value  # type: ignore[no-any-return]

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise ConfigurationError(f"{self._name(key)} is required")
        return value

    def number(self, key: str, default: float) -> float:
        return float(self.get(key, (int, float), default))

    def day(self, key: str) -> date | None:
        value = self.get(key, (date, str))
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise ConfigurationError(
                    f"{self._name(key)} must be a date such as 2027-05-31, not {value!r}"
                ) from None
        if isinstance(value, datetime):
            value = value.date()
        return value  # type: ignore[no-any-return]

    def path(self, key: str) -> Path | None:
        value = self.text(key)
        return None if value is None else (self.base / Path(value).expanduser())

    def secret(self, key: str) -> Secret | None:
        """``<key>_env`` or ``<key>_file``; ``<key>`` itself (a literal secret) is refused."""
        self.used.update({key, f"{key}_env", f"{key}_file"})
        if key in self.data:
            raise ConfigurationError(
                f"{self._name(key)}: secrets are not read from the configuration file; set "
                f"{self._name(key + '_env')} (an environment variable) or "
                f"{self._name(key + '_file')} (a file readable by calsync only)"
            )
        env, file = self.text(f"{key}_env"), self.path(f"{key}_file")
        if env is not None and file is not None:
            raise ConfigurationError(f"{self._name(key)}: give {key}_env or {key}_file, not both")
        if env is None and file is None:
            return None
        return Secret(self._name(key), env=env, file=file)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigurationError(
                f"unknown key{'s' if len(unknown) > 1 else ''} in "
                f"[{self.where or 'top level'}]: {', '.join(unknown)}"
            )


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover (Python 3.10)
        import tomli as tomllib
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = tomllib.load(file)
            return data
    except FileNotFoundError:
        raise ConfigurationError(
            f"no configuration file at {path}: write one with 'calsync init'"
        ) from None
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None


def load(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the configuration file (secrets are read later, when used).

    Relative paths in the file (the SQLite store, secret files, the
    certificate) are relative to the file's folder. ``CALSYNC_MS_TENANT``
    and ``CALSYNC_MS_CLIENT_ID`` fill ``[microsoft]`` keys the file leaves out.
    """
    environ = os.environ if environ is None else environ
    where = Path(path).expanduser().resolve()
    try:
        return _parse(_toml(where), where, environ)
    except ConfigurationError as error:
        if str(where) in error.message:
            raise
        raise ConfigurationError(f"{where}: {error.message}") from None


def _parse(data: dict[str, Any], path: Path, environ: Mapping[str, str]) -> Config:
    base = path.parent
    top = _Table(data, "", base)
    odoo = _odoo(_Table(top.get("odoo", dict, {}), "odoo", base))
    microsoft = _microsoft(_Table(top.get("microsoft", dict, {}), "microsoft", base), environ)
    store = _store(_Table(top.get("store", dict, {}), "store", base))
    service = _service(_Table(top.get("service", dict, {}), "service", base))
    discover = bool(top.get("discover", bool, False))
    raw_pairs = top.get("pairs", list, [])
    pairs = tuple(_pair(_Table(item, f"pairs[{n}]", base)) for n, item in enumerate(raw_pairs))
    top.done()
    names = [p.name for p in pairs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigurationError(f"pairs named more than once: {', '.join(twice)}")
    if discover and microsoft.access != "application":
        raise ConfigurationError(
            "discover = true finds pairs with application access: set microsoft.access = "
            '"application"'
        )
    if discover and (odoo.login is None or (odoo.api_key is None and odoo.password is None)):
        raise ConfigurationError(
            "discover = true lists Odoo's users with a service login: set odoo.login and "
            "odoo.api_key_env (or _file)"
        )
    return Config(path, odoo, microsoft, store, service, pairs, discover)


def _odoo(table: _Table) -> OdooConfig:
    config = OdooConfig(
        url=table.required("url").rstrip("/"),
        database=table.required("database"),
        login=table.text("login"),
        api_key=table.secret("api_key"),
        password=table.secret("password"),
        api_key_expires=table.day("api_key_expires"),
        transport=table.text("transport", "auto") or "auto",
        shared_listing=bool(table.get("shared_listing", bool, False)),
        requests_in_flight=table.get("requests_in_flight", int, 8),
    )
    table.done()
    if config.requests_in_flight < 1:
        raise ConfigurationError("odoo.requests_in_flight must be at least 1")
    if config.shared_listing and (
        config.login is None or (config.api_key is None and config.password is None)
    ):
        raise ConfigurationError(
            "odoo.shared_listing lists every pair's changes with the service login: set "
            "odoo.login and odoo.api_key_env (or _file)"
        )
    return config


def _microsoft(table: _Table, environ: Mapping[str, str]) -> MicrosoftConfig:
    access = table.text("access", "delegated") or "delegated"
    if access not in ACCESS:
        raise ConfigurationError(f"microsoft.access must be one of {', '.join(ACCESS)}")
    tenant = table.text("tenant") or environ.get("CALSYNC_MS_TENANT") or "common"
    client_id = table.text("client_id") or environ.get("CALSYNC_MS_CLIENT_ID")
    if not client_id:
        raise ConfigurationError("microsoft.client_id is required (the app's Application ID)")
    config = MicrosoftConfig(
        tenant=tenant,
        client_id=client_id,
        access=access,
        client_secret=table.secret("client_secret"),
        certificate=table.path("certificate_file"),
        certificate_password=table.secret("certificate_password"),
        secret_expires=table.day("secret_expires"),
        redirect_uri=table.text("redirect_uri"),
        authority_host=table.text("authority_host", "https://login.microsoftonline.com") or "",
        graph_url=(table.text("graph_url", "https://graph.microsoft.com/v1.0") or "").rstrip("/"),
        requests_in_flight=table.get("requests_in_flight", int, APP_REQUESTS_IN_FLIGHT),
    )
    table.done()
    if config.requests_in_flight < 1:
        raise ConfigurationError("microsoft.requests_in_flight must be at least 1")
    if config.client_secret is None and config.certificate is None:
        raise ConfigurationError(
            "microsoft: set client_secret_env or client_secret_file (or, for application "
            "access, certificate_file)"
        )
    if config.certificate is not None and access != "application":
        raise ConfigurationError(
            'microsoft.certificate_file serves application access (access = "application"); '
            "delegated sign-in uses client_secret_env or client_secret_file"
        )
    return config


def _store(table: _Table) -> StoreConfig:
    url = table.text("url")
    path = table.path("path")
    if url is not None and path is not None:
        raise ConfigurationError("store: give url or path, not both")
    if url is None:
        url = f"sqlite:///{path or table.base / 'calsync-state.sqlite3'}"
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{table.base / url[len('sqlite:///') :]}"
    config = StoreConfig(url=url, token_key=table.secret("token_key"))
    table.done()
    return config


def _service(table: _Table) -> ServiceConfig:
    listen = table.text("listen", "127.0.0.1:8400") or ""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"service.listen must be host:port, not {listen!r}")
    runner = table.text("runner", "inprocess") or "inprocess"
    if runner not in RUNNERS:
        raise ConfigurationError(f"service.runner must be one of {', '.join(RUNNERS)}")
    config = ServiceConfig(
        listen_host=host.strip("[]"),
        listen_port=int(port),
        public_url=(table.text("public_url") or "").rstrip("/") or None,
        interval=table.number("interval", 900.0),
        jitter=table.number("jitter", 0.1),
        concurrency=int(table.number("concurrency", PAIRS_AT_ONCE)),
        runner=runner,
        redis_url=table.text("redis_url", "redis://127.0.0.1:6379/0") or "",
        queue=table.text("queue", "calsync") or "calsync",
        stop_timeout=table.number("stop_timeout", 300.0),
        session_secret=table.secret("session_secret"),
    )
    table.done()
    if config.interval <= 0 or not 0 <= config.jitter < 1 or config.concurrency < 1:
        raise ConfigurationError(
            "service: interval must be positive, jitter between 0 and 1, concurrency at least 1"
        )
    return config


def _pair(table: _Table) -> PairConfig:
    mailbox = table.required("mailbox")
    odoo_login = table.text("odoo_login") or mailbox
    max_notifications = table.get("max_notifications", int)
    config = PairConfig(
        name=table.text("name") or mailbox,
        mailbox=mailbox,
        odoo_login=odoo_login,
        odoo_api_key=table.secret("odoo_api_key"),
        odoo_password=table.secret("odoo_password"),
        odoo_api_key_expires=table.day("odoo_api_key_expires"),
        calendar_id=table.text("calendar_id"),
        max_notifications=max_notifications,
    )
    table.done()
    return config


TEMPLATE = """\
# calsync configuration: `calsync check` tests it, `calsync sync --all` runs it,
# `calsync serve` keeps every pair in sync.
#
# Secrets are never written here: a key ending in _env names an environment
# variable that holds the secret, one ending in _file a file that holds it
# (readable by calsync's user only). Relative paths are relative to this file.

[odoo]
url = "{odoo_url}"
database = "{odoo_db}"
# transport = "auto"            # "jsonrpc" (Odoo 16+), "json2" (Odoo 19+, API keys), or "auto"
# A service login, for application access: it lists Odoo's users (discover = true) and
# syncs their calendars (it needs read/write access to their events).
# login = "calsync@example.com"
# api_key_env = "CALSYNC_ODOO_API_KEY"
# api_key_expires = 2026-12-31  # Odoo 17+: keys of non-administrators expire (1 day unless
#                               # an administrator raises "API Keys maximum duration")
# requests_in_flight = 8        # at once to Odoo, all pairs together: a threaded Odoo answers
#                               # HTTP 500 beyond its pool (db_maxconn); raise for more workers

[microsoft]
# The app registration in Microsoft Entra ID (docs: "Set up the Microsoft side").
tenant = "{tenant}"             # the directory (tenant) ID or domain; "common" for any account
client_id = "{client_id}"
access = "{access}"             # "delegated": each user signs in (calsync login, or the
                                # service's /connect page); "application": the app reads every
                                # mailbox allowed by its Calendars.ReadWrite application
                                # permission (admin consent) and the Exchange access policy
client_secret_env = "CALSYNC_MS_CLIENT_SECRET"
# client_secret_file = "/etc/calsync/client-secret"
# certificate_file = "/etc/calsync/app.pem"   # application access: private key + certificate
# certificate_password_env = "CALSYNC_MS_CERTIFICATE_PASSWORD"
# The secret's expiry, as Entra ID shows it (at most 24 months): calsync warns 30 days ahead.
# secret_expires = 2027-06-30
# The web sign-in's redirect URI, registered under the Web platform (calsync serve).
redirect_uri = "http://localhost:8400/microsoft_account/authentication"
# authority_host = "https://login.microsoftonline.com"
# graph_url = "https://graph.microsoft.com/v1.0"
# requests_in_flight = 128      # at once to Graph, all mailboxes together (4 per mailbox
#                               # whatever this says); Graph allows 2,000 a second per app

[store]
# One SQLite file for one machine; PostgreSQL when several workers share the state:
# url = "postgresql+psycopg://calsync@db.example.com/calsync"  (pip install 'calsync[sql]')
url = "sqlite:///calsync-state.sqlite3"
# token_key_env = "CALSYNC_TOKEN_KEY"   # encrypts users' tokens at rest (calsync[crypto])

[service]
listen = "127.0.0.1:8400"
# public_url = "https://calsync.example.com"  # where Graph sends change notifications
interval = 900                  # seconds between two syncs of a pair
jitter = 0.1                    # each wait varies by up to 10%, so pairs spread out
concurrency = 32                # pairs synced at once (runner = "inprocess"); Graph's and
                                # Odoo's ceilings hold whatever it says
runner = "inprocess"            # or "rq": each sync is a task for `rq worker` processes
# redis_url = "redis://127.0.0.1:6379/0"
# session_secret_env = "CALSYNC_SESSION_SECRET"  # signs the sign-in pages' cookie

# Application access only: add a pair for every active Odoo user whose e-mail is a mailbox.
# discover = true

# One [[pairs]] table per Odoo user and mailbox.
[[pairs]]
name = "{pair_name}"
mailbox = "{mailbox}"
odoo_login = "{odoo_login}"
odoo_api_key_env = "{odoo_key_env}"     # or odoo_password_env / odoo_api_key_file
# odoo_api_key_expires = 2026-12-31
# max_notifications = 0         # e-mails to attendees a run may cause (first runs: 0)
"""
