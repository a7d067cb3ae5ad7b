"""examples/reset.py on the emulators: the preview, the question, the reset, the next sync."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from calsync.stores import SQLiteStore
from tests.examples.support import EXAMPLES, Servers, run_example

SCRIPT = "reset.py"
SYNCED = ["Lunch", "Review with Carol"]


@pytest.fixture
def real_credentials() -> Iterator[Any]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import real_credentials

        yield real_credentials
    finally:
        sys.path.remove(str(EXAMPLES))


def sync(servers: Servers, module: Any) -> Any:
    """One sync of the pair the scripts work on, in this process."""
    config = module.Config.from_env(servers.env(token=True))
    with (
        contextlib.closing(SQLiteStore(config.state)) as store,
        module.synchronizer(config, store) as pair,
    ):
        return pair.run(allow_notifications=5)


@pytest.fixture
def synced(servers: Servers, real_credentials: Any) -> Servers:
    """Ann's calendars synced once: the meeting with Carol is in Outlook (Carol invited)."""
    assert sync(servers, real_credentials).ok
    assert servers.odoo_titles() == servers.outlook_titles() == SYNCED
    servers.graph.clear_mail_log()
    return servers


def test_declining_changes_nothing(synced: Servers, real_credentials: Any) -> None:
    done = run_example(
        SCRIPT, "--existing", "delete-from-both", env=synced.env(token=True), answer="n\n"
    )
    assert done.returncode == 0, done.stderr
    assert "2 events deleted from odoo" in done.stdout
    assert "Nothing was changed." in done.stdout
    assert synced.odoo_titles() == synced.outlook_titles() == SYNCED
    assert synced.graph.mail_log() == []
    assert not sync(synced, real_credentials).outcomes, "the pair is still synced"


def test_delete_from_microsoft_then_only_new_events(synced: Servers, real_credentials: Any) -> None:
    env = synced.env(token=True)
    done = run_example(
        SCRIPT, "--existing", "delete-from-microsoft", "--next-sync", "new", env=env, answer="y\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert (
        "Reset: existing events: Delete from the current Microsoft Calendar account; "
        "next sync: Synchronize only new events"
    ) in out
    assert "2 synced events forgotten" in out
    assert "0 events deleted from odoo" in out
    assert "2 events deleted from outlook" in out
    assert "2 existing events left out: only new events will sync" in out
    assert "cancellation to c@x.example: 'Review with Carol'" in out
    assert "ok in" in out
    assert synced.odoo_titles() == SYNCED
    assert synced.outlook_titles() == []
    assert [(m.kind, m.recipient) for m in synced.graph.mail_log()] == [
        ("cancellation", "c@x.example")
    ]
    report = sync(synced, real_credentials)
    assert report.ok
    assert synced.outlook_titles() == [], "the existing events stay out"


def test_leave_them_then_sync_everything_again(synced: Servers, real_credentials: Any) -> None:
    done = run_example(
        SCRIPT, "--next-sync", "all", "--yes", env=synced.env(token=True), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Reset: existing events: Leave them untouched; next sync: Synchronize all" in done.stdout
    assert "Outlook will e-mail no one." in done.stdout
    assert synced.graph.mail_log() == []
    report = sync(synced, real_credentials)  # matched like a first sync: no duplicate
    assert report.ok, str(report)
    assert synced.odoo_titles() == synced.outlook_titles() == SYNCED
    assert synced.graph.mail_log() == []
