"""The installed ``calsync`` command against the emulators: a configuration, users, a runner.

:class:`World` holds an Odoo emulator and a Graph emulator (with the app
registered on its identity platform), users with an Odoo login, an API key
and a mailbox, and a folder with the configuration file. :meth:`World.run`
runs the installed console script as a subprocess, as a user would, with the
secrets in its environment only.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator

CALSYNC = str(Path(sys.executable).parent / "calsync")
CLIENT_ID = "7c1e5d3a-0000-4000-8000-calsynccli"
SECRET = "cli-secret-value~Q8x"
TENANT = "emulator.onmicrosoft.com"
REDIRECT = "http://localhost:8400/microsoft_account/authentication"
QUIET = {"no_mail_to_attendees": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def soon(days: int, hour: int) -> datetime:
    """A time inside the default window whenever the test runs."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour)


def graph_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": f"{moment:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"}


def odoo_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


@attrs.define
class World:
    """Both emulators, the users, and the folder of the configuration."""

    odoo: OdooEmulator
    graph: GraphEmulator
    tmp: Path
    users: dict[str, GraphMailbox] = attrs.Factory(dict)
    env: dict[str, str] = attrs.Factory(dict)
    uids: dict[str, int] = attrs.Factory(dict)

    @property
    def config(self) -> Path:
        return self.tmp / "calsync.toml"

    @property
    def state(self) -> Path:
        return self.tmp / "calsync-state.sqlite3"

    def add_user(self, login: str, *, mailbox: bool = True) -> None:
        """An Odoo user with an API key (in ``$KEY_<LOGIN>``) and, unless told, a mailbox."""
        key = f"{login}-api-key-0123456789"
        self.uids[login] = self.odoo.add_user(
            login, f"{login}-pw", email=f"{login}@example.com", tz="UTC", api_key=key
        )
        self.env[f"KEY_{login.upper()}"] = key
        if mailbox:
            self.users[login] = self.graph.add_mailbox(f"{login}@example.com", name=login.title())

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
        env.update({"CALSYNC_MS_CLIENT_SECRET": SECRET, "PYTHONUNBUFFERED": "1", **self.env})
        env.update(extra or {})
        return env

    def write_config(
        self,
        pairs: Iterable[str] = (),
        *,
        access: str = "delegated",
        microsoft: Mapping[str, Any] | None = None,
        odoo: Mapping[str, Any] | None = None,
        service: Mapping[str, Any] | None = None,
        top: str = "",
    ) -> Path:
        """The configuration file: the emulators, the store in the folder, these pairs."""
        ms: dict[str, Any] = {
            "tenant": TENANT,
            "client_id": CLIENT_ID,
            "access": access,
            "client_secret_env": "CALSYNC_MS_CLIENT_SECRET",
            "redirect_uri": REDIRECT,
            "authority_host": self.graph.url,
            "graph_url": self.graph.base_url,
        }
        ms.update(microsoft or {})
        ms = {key: value for key, value in ms.items() if value is not None}
        od: dict[str, Any] = {"url": self.odoo.url, "database": self.odoo.db}
        od.update(odoo or {})
        lines = [top, "[odoo]", *_table(od), "[microsoft]", *_table(ms), "[store]"]
        lines.append('url = "sqlite:///calsync-state.sqlite3"')
        if service:
            lines += ["[service]", *_table(service)]
        for login in pairs:
            lines += [
                "[[pairs]]",
                f'name = "{login}"',
                f'mailbox = "{login}@example.com"',
                f'odoo_login = "{login}"',
                f'odoo_api_key_env = "KEY_{login.upper()}"',
            ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        typed: str = "",
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``calsync -c <config> ARGS`` to its end; ``typed`` is what the user types."""
        return subprocess.run(
            [CALSYNC, "-c", str(self.config), *args],
            input=typed,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.tmp,
        )

    def login(self, pair: str, as_mailbox: str | None = None) -> subprocess.CompletedProcess[str]:
        """``calsync login PAIR``, the user entering the code shown as ``as_mailbox``."""
        process = subprocess.Popen(
            [CALSYNC, "-c", str(self.config), "login", pair, "--timeout", "60"],
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.tmp,
        )
        assert process.stdout is not None
        shown = process.stdout.readline()
        match = re.search(r"enter the code (\w+)", shown)
        assert match, shown + (process.stderr.read() if process.stderr else "")
        self.graph.identity.approve_device(match.group(1), as_mailbox or f"{pair}@example.com")
        out, err = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, shown + out, err)

    def odoo_titles(self, login: str) -> list[str]:
        rows = self.odoo.execute(
            login, "calendar.event", "search_read", [("user_id", "=", self.uids[login])], ["name"]
        )
        return sorted(str(r["name"]) for r in rows)

    def graph_titles(self, login: str) -> list[str]:
        return sorted(str(e.get("subject")) for e in self.graph.events(self.users[login]))


def _table(values: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return lines


def wait_for(condition: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll ``condition()`` until it is truthy; its value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition}")


def reader(stream: Any) -> tuple[list[str], threading.Thread]:
    """Collect a process's output lines in a thread (so its pipe never fills)."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return lines, thread


def answer(url: str) -> Any:
    """GET ``url`` (an httpx response), None while nothing listens there."""
    import httpx

    try:
        return httpx.get(url, timeout=10.0)
    except httpx.TransportError:
        return None
