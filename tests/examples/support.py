"""Running the example scripts as a user would: a new Python process, real HTTP to the emulators."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs

from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
QUIET = {"no_mail_to_attendees": True}  # the user's own data entry in Odoo mails no one
CLIENT_ID = "5a0e4f9c-0000-4000-8000-calsyncexample"
SECRET = "example-secret-value~Zq8"
API_KEY = "ann-api-key-0123456789"


def script_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``CALSYNC_*`` variable, plus ``extra``.

    ``src`` leads ``PYTHONPATH`` so that the scripts import this checkout's calsync.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("CALSYNC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_example(
    name: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    answer: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` to the end; ``answer`` is what is typed at its prompts."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=dict(env) if env is not None else script_env(),
        input=answer if answer is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def soon(days: int, hour: int) -> datetime:
    """A time inside the default window whenever the test runs."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour)


@attrs.define
class Servers:
    """Ann's Odoo (login ``ann``, an API key) and mailbox on the emulators, and her state dir."""

    odoo: OdooEmulator
    graph: GraphEmulator
    mailbox: GraphMailbox
    tmp: Path

    @property
    def redirect_uri(self) -> str:
        return "https://calsync.example.com/microsoft_account/authentication"

    def env(self, *, token: bool) -> dict[str, str]:
        """The variables a user would set, with the emulators' URLs and credentials."""
        values = {
            "CALSYNC_ODOO_URL": self.odoo.url,
            "CALSYNC_ODOO_DB": self.odoo.db,
            "CALSYNC_ODOO_LOGIN": "ann",
            "CALSYNC_ODOO_API_KEY": API_KEY,
            "CALSYNC_STATE": str(self.tmp / "state.sqlite3"),
            "CALSYNC_GRAPH_URL": self.graph.base_url,
            "CALSYNC_MS_ACCOUNT": "ann@example.com",
        }
        if token:
            values["CALSYNC_MS_ACCESS_TOKEN"] = self.mailbox.token
        else:
            values.update(
                CALSYNC_MS_CLIENT_ID=CLIENT_ID,
                CALSYNC_MS_CLIENT_SECRET=SECRET,
                CALSYNC_MS_REDIRECT_URI=self.redirect_uri,
                CALSYNC_MS_AUTHORITY=self.graph.url,
            )
        return script_env(values)

    def odoo_titles(self) -> list[str]:
        rows = self.odoo.execute("ann", "calendar.event", "search_read", [], ["name"])
        return sorted(row["name"] for row in rows)

    def outlook_titles(self) -> list[str]:
        return sorted(event["subject"] for event in self.graph.events(self.mailbox))
