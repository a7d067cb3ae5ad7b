"""Sync a real Odoo calendar with a real Outlook mailbox, configured from the environment.

The script previews the sync (every write, and every e-mail Outlook would
send to attendees because of it), asks before writing, then runs it with a
progress bar and prints the report. Run it again later: it resumes from the
state file and moves only what changed.

Odoo (see docs/howto/odoo.md):

- ``CALSYNC_ODOO_URL``: the server, e.g. ``https://mycompany.odoo.com``;
- ``CALSYNC_ODOO_DB``: the database;
- ``CALSYNC_ODOO_LOGIN``: the user whose calendar is synced;
- ``CALSYNC_ODOO_API_KEY`` (Preferences > Account Security > New API Key)
  or ``CALSYNC_ODOO_PASSWORD``;
- ``CALSYNC_ODOO_TRANSPORT`` (optional): ``auto`` (default: JSON-2 on Odoo
  19 and later when an API key is given, else ``/jsonrpc``), ``jsonrpc`` or
  ``json2``.

Outlook, one of two ways (see docs/howto/microsoft.md):

- ``CALSYNC_MS_ACCOUNT``: the mailbox address (it names the pair in the
  state, and keys the mailbox's tokens), then either
- a quick try: ``CALSYNC_MS_ACCESS_TOKEN``, a Microsoft Graph access token
  with ``Calendars.ReadWrite`` obtained elsewhere (it lasts about an hour);
- or the app registration, as in production: ``CALSYNC_MS_CLIENT_ID``,
  ``CALSYNC_MS_CLIENT_SECRET`` (the secret's Value), ``CALSYNC_MS_REDIRECT_URI``
  (as registered: your base URL followed by ``/microsoft_account/authentication``),
  ``CALSYNC_MS_TENANT`` (optional, default ``common``), ``CALSYNC_TOKEN_STORE``
  (optional: the SQLite file of the tokens, default the state file) and
  ``CALSYNC_TOKEN_KEY`` (optional: a Fernet key that encrypts the tokens).
  The first time, add ``--sign-in``: the script prints the sign-in link,
  you open it, sign in, and paste back the address your browser ends on.

State: ``CALSYNC_STATE``, the SQLite file of the pair's state (links,
cursors). Other clouds (and the tests, which point the script at calsync's
emulators): ``CALSYNC_GRAPH_URL``, ``CALSYNC_MS_AUTHORITY``.

Run::

    python examples/real_credentials.py --sign-in    # once, with the app registration
    python examples/real_credentials.py              # preview, confirm, sync
    python examples/real_credentials.py --yes        # from cron: no question asked

Exit status: 0 when the sync succeeded (or you declined it), 1 when it
failed, 2 when the configuration is incomplete (every missing variable is
named at once).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar, TextIO
from urllib.parse import parse_qs, urlsplit

import attrs

import calsync

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY = "https://login.microsoftonline.com"
SHOWN = 40  # operations listed one by one in the preview; the rest are counted


class ConfigError(Exception):
    """The environment does not configure a sync: ``problems`` says all that is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@attrs.frozen
class Config:
    """What the environment says: the Odoo login, the Outlook mailbox, the state file."""

    odoo_url: str
    odoo_db: str
    odoo_login: str
    odoo_password: str | None
    odoo_api_key: str | None
    odoo_transport: str
    state: str
    account: str
    access_token: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    redirect_uri: str | None = None
    tenant: str = "common"
    token_store: str | None = None
    token_key: str | None = attrs.field(default=None, repr=False)
    graph_url: str = GRAPH_URL
    authority: str = AUTHORITY

    @property
    def uses_app(self) -> bool:
        """True with the app registration (sign-in, stored tokens), False with an access token."""
        return self.access_token is None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Read the variables; :class:`ConfigError` lists every missing or wrong one at once."""

        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        problems = [
            f"  {name:<26} {what}"
            for name, what in (
                ("CALSYNC_ODOO_URL", "the Odoo server, e.g. https://mycompany.odoo.com"),
                ("CALSYNC_ODOO_DB", "the Odoo database"),
                ("CALSYNC_ODOO_LOGIN", "the Odoo login whose calendar is synced"),
                ("CALSYNC_STATE", "the SQLite file that keeps the sync's state"),
                ("CALSYNC_MS_ACCOUNT", "the Outlook mailbox address, e.g. ann@example.com"),
            )
            if get(name) is None
        ]
        if get("CALSYNC_ODOO_API_KEY") is None and get("CALSYNC_ODOO_PASSWORD") is None:
            problems.append(
                f"  {'CALSYNC_ODOO_API_KEY':<26} an API key of that login "
                "(or CALSYNC_ODOO_PASSWORD, its password)"
            )
        token = get("CALSYNC_MS_ACCESS_TOKEN")
        if token is None:
            app = (
                ("CALSYNC_MS_CLIENT_ID", "the app's Application (client) ID in Microsoft Entra ID"),
                ("CALSYNC_MS_CLIENT_SECRET", "the app's client secret (its Value, not its ID)"),
                ("CALSYNC_MS_REDIRECT_URI", "https://<domain>/microsoft_account/authentication"),
            )
            missing = [f"  {name:<26} {what}" for name, what in app if get(name) is None]
            if missing:
                problems += missing
                problems.append(
                    "  (or CALSYNC_MS_ACCESS_TOKEN, a Graph access token, for a quick try)"
                )
        transport = get("CALSYNC_ODOO_TRANSPORT") or "auto"
        if transport not in ("auto", "jsonrpc", "json2"):
            problems.append(f"  {'CALSYNC_ODOO_TRANSPORT':<26} auto, jsonrpc or json2")
        if problems:
            raise ConfigError(problems)
        return cls(
            odoo_url=str(get("CALSYNC_ODOO_URL")),
            odoo_db=str(get("CALSYNC_ODOO_DB")),
            odoo_login=str(get("CALSYNC_ODOO_LOGIN")),
            odoo_password=get("CALSYNC_ODOO_PASSWORD"),
            odoo_api_key=get("CALSYNC_ODOO_API_KEY"),
            odoo_transport=transport,
            state=str(get("CALSYNC_STATE")),
            account=str(get("CALSYNC_MS_ACCOUNT")),
            access_token=token,
            client_id=get("CALSYNC_MS_CLIENT_ID"),
            client_secret=get("CALSYNC_MS_CLIENT_SECRET"),
            redirect_uri=get("CALSYNC_MS_REDIRECT_URI"),
            tenant=get("CALSYNC_MS_TENANT") or "common",
            token_store=get("CALSYNC_TOKEN_STORE"),
            token_key=get("CALSYNC_TOKEN_KEY"),
            graph_url=get("CALSYNC_GRAPH_URL") or GRAPH_URL,
            authority=get("CALSYNC_MS_AUTHORITY") or AUTHORITY,
        )


# -- building the pair ---------------------------------------------------------------------------


def microsoft_auth(config: Config) -> Any:
    """``MicrosoftAuth`` over a SQLite token store (the state file unless told otherwise)."""
    from calsync.auth import MicrosoftAuth
    from calsync.stores import SQLiteTokenStore

    return MicrosoftAuth(
        str(config.client_id),
        str(config.client_secret),
        str(config.redirect_uri),
        SQLiteTokenStore(config.token_store or config.state, key=config.token_key),
        tenant=config.tenant,
        authority_host=config.authority,
    )


def synchronizer(
    config: Config, store: Any, auth: Any = None, progress: Any = None
) -> calsync.Synchronizer:
    """The pair: Odoo on the left, Outlook on the right (the reset's convention too)."""
    from calsync.adapters.odoo import OdooCalendar
    from calsync.adapters.outlook import OutlookCalendar, StaticToken

    odoo = OdooCalendar(
        config.odoo_url,
        config.odoo_db,
        config.odoo_login,
        password=config.odoo_password,
        api_key=config.odoo_api_key,
        transport=config.odoo_transport,  # type: ignore[arg-type]
    )
    if config.access_token is not None:
        credential: Any = StaticToken(config.access_token)
    else:
        credential = auth.credential(config.account)
    outlook = OutlookCalendar(credential, base_url=config.graph_url, account=config.account)
    return calsync.Synchronizer(odoo, outlook, store, progress=progress)


# -- talking to the person at the terminal -------------------------------------------------------


class ProgressBar:
    """calsync's ``progress=`` callback as one line on a terminal, or a line per stage in a log."""

    STAGES: ClassVar[dict[str, str]] = {
        "pull": "reading",
        "plan": "planning",
        "apply": "writing",
        "commit": "saving",
    }

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.live = stream.isatty()
        self.started: dict[str, float] = {}

    def __call__(self, step: calsync.Progress) -> None:
        label = self.STAGES.get(step.stage, step.stage)
        if step.done == 0:
            self.started[step.stage] = time.monotonic()
        if not self.live:
            if step.done == step.total:
                took = time.monotonic() - self.started.get(step.stage, time.monotonic())
                self.stream.write(f"  {label}: done in {took:.1f}s\n")
            return
        filled = self.width * step.done // step.total if step.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r  {label:<9} [{bar}] {step.done}/{step.total}   ")
        if step.stage == "commit" and step.done == step.total:
            self.stream.write("\n")
        self.stream.flush()

    def end(self) -> None:
        """Leave the line the bar was drawn on."""
        if self.live:
            self.stream.write("\r" + " " * (self.width + 30) + "\r")
            self.stream.flush()


def ask(question: str) -> bool:
    """A yes/no question; no answer (end of input) is no."""
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        print()
        return False


def sign_in(auth: Any, account: str) -> None:
    """The authorization-code flow at a terminal: open the link, paste where the browser lands."""
    url = auth.authorization_url(account, login_hint=account, prompt="select_account")
    print("Open this address in a browser and sign in to Microsoft as", account)
    print(url, flush=True)
    pasted = input("Then paste here the address your browser ended on: ").strip()
    params = parse_qs(urlsplit(pasted).query)
    signed = auth.complete(account, params)
    print(f"Signed in as {signed.username or signed.account}; the tokens are stored.")


def plural(count: int, noun: str) -> str:
    """``1 write``, ``2 writes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def show_plan(plan: calsync.Plan) -> None:
    """The preview: writes per side and kind, the first operations, the e-mails."""
    counts = Counter((op.side, op.kind.value) for op in plan.writes)
    summary = ", ".join(f"{n} {kind} on {side}" for (side, kind), n in sorted(counts.items()))
    print(f"Preview: {plural(len(plan.writes), 'write')} ({summary or 'none'})")
    for operation in plan.operations[:SHOWN]:
        print(f"  {operation}")
    if len(plan.operations) > SHOWN:
        print(f"  ... and {len(plan.operations) - SHOWN} more")
    if plan.notifications:
        print(f"Outlook will send {plural(len(plan.notifications), 'e-mail')} to attendees:")
        for mail in plan.notifications[:SHOWN]:
            print(f"  {mail.kind.value} to {mail.recipient}: {mail.title!r}")
        if len(plan.notifications) > SHOWN:
            print(f"  ... and {len(plan.notifications) - SHOWN} more")
    else:
        print("Outlook will e-mail no one.")


def explain(error: calsync.CalsyncError, config: Config) -> str:
    """One paragraph for the terminal: what went wrong and what to do."""
    if isinstance(error, calsync.ReauthorizationRequiredError):
        return (
            f"Microsoft needs {config.account} to sign in (again): {error.message}\n"
            "Run this script with --sign-in."
        )
    if isinstance(error, calsync.AppRegistrationError):
        return f"The app registration needs the administrator: {error}"
    if isinstance(error, calsync.AuthenticationError) and error.side == "odoo":
        return (
            f"Odoo refused the login {config.odoo_login!r}: {error.message}\n"
            "Check CALSYNC_ODOO_LOGIN and its API key or password."
        )
    if isinstance(error, calsync.AuthenticationError) and config.access_token is not None:
        return f"Microsoft refused the access token (expired?): {error}"
    if isinstance(error, calsync.NotificationLimitError):
        return f"Stopped before writing anything: {error.message}\nRun the script again."
    return f"{type(error).__name__}: {error}"


# -- the script ----------------------------------------------------------------------------------


def run(config: Config, args: argparse.Namespace) -> int:
    """Sign in if asked, preview, confirm, sync; the exit status."""
    from calsync.stores import SQLiteStore

    auth = microsoft_auth(config) if config.uses_app else None
    store = SQLiteStore(config.state)
    bar = ProgressBar()
    try:
        if args.sign_in:
            if auth is None:
                print("--sign-in needs the app registration (CALSYNC_MS_CLIENT_ID and the rest).")
                return 2
            sign_in(auth, config.account)
        with synchronizer(config, store, auth, progress=bar) as sync:
            plan = sync.preview()
            bar.end()
            show_plan(plan)
            if plan.writes and not args.yes and not ask("Write these changes?"):
                print("Nothing was written.")
                return 0
            # What you agreed to: a run whose plan grew since would stop before writing.
            report = sync.run(allow_notifications=len(plan.notifications))
            bar.end()
            print(report)
            return 0 if report.ok else 1
    except calsync.CalsyncError as error:
        bar.end()
        print(explain(error, config), file=sys.stderr)
        return 1
    finally:
        store.close()
        if auth is not None:
            auth.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--yes", action="store_true", help="write without asking")
    parser.add_argument(
        "--sign-in", action="store_true", help="sign in to Microsoft first (app registration)"
    )
    args = parser.parse_args(argv)
    try:
        config = Config.from_env(os.environ)
    except ConfigError as error:
        print("calsync: the environment is missing:", file=sys.stderr)
        print(str(error), file=sys.stderr)
        print("See python examples/real_credentials.py --help.", file=sys.stderr)
        return 2
    return run(config, args)


if __name__ == "__main__":
    sys.exit(main())
