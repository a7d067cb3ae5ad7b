"""The ``calsync`` command: click for the commands, rich for tables and progress bars.

click is the long-kept base of Python command lines (typer is built on it);
its commands are plain functions, testable in-process with ``CliRunner`` and
as the installed script. rich draws tables and progress bars, on a terminal
only: piped into a log, the output is plain lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import calsync
from calsync._app._config import TEMPLATE, Config, PairConfig, load
from calsync._app._deploy import Deployment
from calsync._errors import CalsyncError, ConfigurationError, ReauthorizationRequiredError
from calsync._sync._many import PAIRS_AT_ONCE
from calsync.cli._exit import Exit, exit_of, worst

__all__ = ["main"]

UTC = timezone.utc
DEFAULT_CONFIG = "calsync.toml"
logger = logging.getLogger("calsync.cli")


class _State:
    """What the group hands its commands: the console and the configuration's path."""

    def __init__(self, config: Path) -> None:
        self.config_path = config
        # Wide lines when written to a file or a pipe: logs and scripts read whole rows.
        wide = None if sys.stdout.isatty() else 200
        self.out = Console(soft_wrap=True, highlight=False, width=wide)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False, width=wide)

    def config(self) -> Config:
        return load(self.config_path)


pass_state = click.make_pass_decorator(_State)


def _fail(state: _State, error: BaseException) -> NoReturn:
    code = exit_of(error)
    state.err.print(f"calsync: {type(error).__name__}: {error}", markup=False)
    sys.exit(int(code))


@contextmanager
def _deployment(state: _State) -> Iterator[Deployment]:
    """The configuration's deployment; a calsync error ends the command with its exit code."""
    try:
        with Deployment(state.config()) as deployment:
            yield deployment
    except CalsyncError as error:
        _fail(state, error)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbose < 2:  # the SDKs' own request logs only at -vv
        for noisy in ("azure", "msal", "httpx", "kiota_http", "urllib3"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING) + 10)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("CALSYNC_CONFIG", DEFAULT_CONFIG),
    show_default="$CALSYNC_CONFIG or ./calsync.toml",
    help="The configuration file.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v: each write, -vv: requests).")
@click.version_option(package_name="calsync", prog_name="calsync")
@click.pass_context
def main(ctx: click.Context, config: Path, verbose: int) -> None:
    """Two-way sync between Odoo and Outlook calendars.

    Exit codes: 0 ok, 1 unexpected error, 2 usage or configuration, 3 held
    events or some pairs failed, 4 a person must act (sign-in, app
    registration, credentials), 5 a guard stopped a run, 75 temporary: retry.
    """
    _setup_logging(verbose)
    ctx.obj = _State(config)


# -- init ----------------------------------------------------------------------------------------


@main.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--odoo-url", default="https://odoo.example.com", show_default=True)
@click.option("--odoo-db", default="odoo", show_default=True)
@click.option("--tenant", default="common", show_default=True)
@click.option("--client-id", default="00000000-0000-0000-0000-000000000000", show_default=True)
@click.option(
    "--access", type=click.Choice(["delegated", "application"]), default="delegated",
    show_default=True,
)  # fmt: skip
@click.option("--mailbox", default="ann@example.com", show_default=True, help="A first pair.")
@pass_state
def init(
    state: _State,
    force: bool,
    odoo_url: str,
    odoo_db: str,
    tenant: str,
    client_id: str,
    access: str,
    mailbox: str,
) -> None:
    """Write a commented configuration file to start from."""
    path = state.config_path
    if path.exists() and not force:
        state.err.print(f"calsync: {path} exists (use --force to overwrite it)", markup=False)
        sys.exit(int(Exit.USAGE))
    user = mailbox.split("@", 1)[0]
    text = TEMPLATE.format(
        odoo_url=odoo_url,
        odoo_db=odoo_db,
        tenant=tenant,
        client_id=client_id,
        access=access,
        pair_name=user,
        mailbox=mailbox,
        odoo_login=mailbox,
        odoo_key_env=f"CALSYNC_ODOO_KEY_{user.upper().replace('.', '_').replace('-', '_')}",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    state.out.print(f"wrote {path}: edit it, then run 'calsync check'", markup=False)


# -- check ---------------------------------------------------------------------------------------


@main.command()
@pass_state
def check(state: _State) -> None:
    """Reach both sides of every pair with the configured credentials; say what is wrong."""
    from calsync._app._check import run_checks

    codes: list[Exit] = []
    with _deployment(state) as deployment:
        marks = {
            "ok": "[green]ok[/]     ",
            "warning": "[yellow]WARNING[/]",
            "error": "[red]ERROR[/]  ",
        }
        for finding in run_checks(deployment):
            state.out.print(marks[finding.level], end=" ")
            state.out.print(f"{finding.subject}: {finding.message}", markup=False)
            if finding.level == "error":
                codes.append(exit_of(finding.error) if finding.error else Exit.ACTION)
    code = worst(codes)
    state.out.print("all checks passed" if code is Exit.OK else "some checks failed", markup=False)
    sys.exit(int(code))


# -- login / logout ------------------------------------------------------------------------------


@main.command()
@click.argument("pair")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the user.")
@pass_state
def login(state: _State, pair: str, timeout: float | None) -> None:
    """Sign a pair's user in to Microsoft from this terminal (device code).

    The user opens Microsoft's page on any device and types the code shown.
    The app registration must allow public client flows.
    """
    with _deployment(state) as deployment:
        if not deployment.delegated:
            _fail(state, ConfigurationError("application access needs no user sign-in"))
        chosen = deployment.pair(pair)
        account = deployment.account(chosen)
        try:
            code = deployment.auth.start_device_login(account)
            state.out.print(code.message, markup=False)
            state.out.print(f"(sign in as {chosen.mailbox})", markup=False)
            signed = deployment.auth.finish_device_login(code, timeout=timeout)
        except CalsyncError as error:
            _fail(state, error)
        if (signed.username or "").lower() != chosen.mailbox.lower():
            deployment.auth.forget(account)
            _fail(
                state,
                ReauthorizationRequiredError(
                    f"signed in as {signed.username}, but pair {chosen.name} syncs "
                    f"{chosen.mailbox}: sign in again with that account; nothing was kept",
                    account=account,
                ),
            )
        state.out.print(f"signed in: {signed.username} for pair {chosen.name}", markup=False)


@main.command()
@click.argument("pair")
@pass_state
def logout(state: _State, pair: str) -> None:
    """Forget a pair's Microsoft tokens (the user disconnects)."""
    with _deployment(state) as deployment:
        chosen = deployment.pair(pair)
        deployment.auth.forget(deployment.account(chosen))
        state.out.print(f"tokens of {chosen.mailbox} deleted", markup=False)


# -- preview / sync ------------------------------------------------------------------------------


def _chosen(deployment: Deployment, names: Sequence[str], every: bool) -> list[PairConfig]:
    if every and names:
        raise click.UsageError("name pairs or give --all, not both")
    if not every and not names:
        raise click.UsageError("name a pair, or give --all")
    return deployment.pairs() if every else [deployment.pair(name) for name in names]


@main.command()
@click.argument("pairs", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every configured pair.")
@pass_state
def preview(state: _State, pairs: tuple[str, ...], every: bool) -> None:
    """Show what a sync would write, and whom Outlook would e-mail; write nothing."""
    codes: list[Exit] = []
    with _deployment(state) as deployment:
        for chosen in _chosen(deployment, pairs, every):
            try:
                with deployment.synchronizer(chosen) as sync:
                    plan = sync.preview()
            except CalsyncError as error:
                state.out.print(f"{chosen.name}: {type(error).__name__}: {error}", markup=False)
                codes.append(exit_of(error))
                continue
            mails = len(plan.notifications)
            state.out.print(
                f"{chosen.name}: {_counted(len(plan.writes), 'write')}, "
                f"{_counted(mails, 'e-mail')} to attendees",
                markup=False,
            )
            for operation in plan.operations:
                state.out.print(f"  {operation}", markup=False)
                for mail in operation.notifications:
                    state.out.print(
                        f"      e-mail to {mail.recipient}: {mail.kind.value}", markup=False
                    )
    sys.exit(int(worst(codes)))


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@contextmanager
def _bar(state: _State, total: int, what: str) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal; nothing when the output is a file or a pipe."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
        disable=not state.err.is_terminal,
    ) as progress:
        task = progress.add_task(what, total=total)
        yield lambda: progress.advance(task)


@main.command()
@click.argument("pairs", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every configured pair.")
@click.option("--full", is_flag=True, help="List every event, not only the changes.")
@click.option(
    "--allow-emails",
    type=int,
    default=None,
    help="Attendee e-mails a run may cause (default: the pair's max_notifications; 0 on a "
    "first sync). See 'calsync preview'.",
)
@click.option(
    "--concurrency",
    type=int,
    default=PAIRS_AT_ONCE,
    show_default=True,
    help="Pairs synced at once (Graph's and Odoo's own ceilings hold whatever it says).",
)
@pass_state
def sync(
    state: _State,
    pairs: tuple[str, ...],
    every: bool,
    full: bool,
    allow_emails: int | None,
    concurrency: int,
) -> None:
    """Sync pairs once (all of them with --all), a progress bar on a terminal."""
    with _deployment(state) as deployment:
        chosen = _chosen(deployment, pairs, every)
        options: dict[str, Any] = {}
        if allow_emails is not None:
            options = {"max_notifications": allow_emails, "first_sync_max_notifications": None}
        built: list[calsync.Synchronizer] = []
        codes: list[Exit] = []
        for pair in chosen:
            try:
                built.append(deployment.synchronizer(pair, **options))
            except CalsyncError as error:
                state.out.print(f"{pair.name}: {type(error).__name__}: {error}", markup=False)
                codes.append(exit_of(error))
        with _bar(state, len(built), "syncing") as advance:
            outcomes = calsync.sync_many(
                built, concurrency=concurrency, full=full, progress=lambda _: advance()
            )
        for outcome in outcomes:
            state.out.print(str(outcome), markup=False)
            if outcome.report is not None:
                for item in outcome.report.held:
                    state.out.print(
                        f"  held: {item.title!r} on {item.side}: {item.error}", markup=False
                    )
                codes.append(Exit.OK if outcome.report.ok else Exit.PARTIAL)
            else:
                codes.append(exit_of(outcome.error))
        deployment.warn_expiries()
    sys.exit(int(worst(codes)))


# -- reset ---------------------------------------------------------------------------------------


@main.command()
@click.argument("pair")
@click.option(
    "--existing",
    type=click.Choice([e.value for e in calsync.ExistingEvents]),
    default="leave",
    show_default=True,
    help="The events synced so far: leave them, or delete them from Microsoft, Odoo or both.",
)
@click.option(
    "--next",
    "next_sync",
    type=click.Choice([n.value for n in calsync.NextSync]),
    default="new",
    show_default=True,
    help="What the next sync covers: only new events, or all existing ones.",
)
@click.option("--yes", is_flag=True, help="Do not ask before writing.")
@pass_state
def reset(state: _State, pair: str, existing: str, next_sync: str, yes: bool) -> None:
    """Reset a pair as Odoo's "Reset Account" does: previewed, then confirmed."""
    with _deployment(state) as deployment:
        chosen = deployment.pair(pair)
        try:
            with deployment.synchronizer(chosen) as sync:
                plan = sync.preview_reset(existing, next_sync)
                state.out.print(
                    f"reset of {chosen.name} (existing events: {existing}, next sync: "
                    f"{next_sync}): {_counted(len(plan.writes), 'deletion')}, "
                    f"{_counted(len(plan.notifications), 'cancellation')} e-mailed",
                    markup=False,
                )
                for operation in plan.operations:
                    if operation.write is not None:
                        state.out.print(f"  {operation}", markup=False)
                if not yes and not click.confirm("Reset the pair?", default=False):
                    state.out.print("nothing done", markup=False)
                    return
                sync.max_notifications = len(plan.notifications)
                report = sync.reset(existing, next_sync)
        except CalsyncError as error:
            _fail(state, error)
        state.out.print(str(report), markup=False)
        sys.exit(int(Exit.OK if report.ok else Exit.PARTIAL))


# -- status --------------------------------------------------------------------------------------


def _when(moment: datetime | float | None) -> str:
    if moment is None:
        return "-"
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status_rows(deployment: Deployment) -> list[dict[str, Any]]:
    from calsync.stores import StatusStore

    store = deployment.store
    rows: list[dict[str, Any]] = []
    for pair in deployment.pairs():
        status = store.status(pair.name) if isinstance(store, StatusStore) else None
        run = status.last_run if status else None
        token = "app-only"  # noqa: S105 (a label, not a secret)
        if deployment.delegated:
            found = deployment.auth.token_status(deployment.account(pair))
            token = (
                "not signed in"
                if found is None
                else f"refresh token lapses {_when(found.refresh_expires)} unless used"
            )
        rows.append(
            {
                "pair": pair.name,
                "last_run": run.finished.isoformat() if run else None,
                "outcome": status.outcome if status else "never",
                "error": run.error if run else "",
                "writes": dict(run.writes) if run else {},
                "held": status.held if status else 0,
                "failures": run.failures if run else 0,
                "token": token,
                "next_run": status.next_due.isoformat() if status and status.next_due else None,
            }
        )
    return rows


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_state
def status(state: _State, as_json: bool) -> None:
    """A table per pair: last run, outcome, writes, held events, token, next run."""
    with _deployment(state) as deployment:
        rows = _status_rows(deployment)
        expiries = [
            {"what": e.what, "expires": e.instant.isoformat(), "state": e.state(),
             "message": e.message()}
            for e in deployment.expiries()
        ]  # fmt: skip
        deployment.warn_expiries()
    if as_json:
        state.out.print_json(json.dumps({"pairs": rows, "expiries": expiries}))
    else:
        table = Table("pair", "last run", "outcome", "writes", "held", "token", "next run")
        for row in rows:
            writes = ", ".join(f"{side} {n}" for side, n in sorted(row["writes"].items())) or "-"
            outcome = row["outcome"] + (f": {row['error']}" if row["error"] else "")
            table.add_row(
                row["pair"],
                _when(datetime.fromisoformat(row["last_run"]) if row["last_run"] else None),
                outcome,
                writes,
                str(row["held"]),
                row["token"],
                _when(datetime.fromisoformat(row["next_run"]) if row["next_run"] else None),
            )
        state.out.print(table)
        for expiry in expiries:
            state.out.print(f"{expiry['state'].upper()}: {expiry['message']}", markup=False)
    codes = [Exit.OK if r["outcome"] in ("ok", "never") and not r["held"] else Exit.PARTIAL
             for r in rows]  # fmt: skip
    sys.exit(int(worst(codes)))


# -- serve ---------------------------------------------------------------------------------------


@main.command()
@pass_state
def serve(state: _State) -> None:
    """Keep every pair in sync: a schedule, change notifications, sign-in pages, /metrics."""
    from calsync._extras import needs_extra

    try:
        with needs_extra("calsync serve", "service"):
            from calsync.service import run_service
        config = state.config()
    except CalsyncError as error:
        _fail(state, error)
    sys.exit(int(run_service(config)))
