"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary directory.

``CALSYNC_TEST_POSTGRES_URL`` (a SQLAlchemy URL such as
``postgresql+psycopg://user:password@host:5432/dbname``) makes the tests use
that server instead; each test then works in its own schema and drops it.

Otherwise the binaries are looked up (``CALSYNC_TEST_POSTGRES_BIN``, then
``pg_config --bindir``, Debian's ``/usr/lib/postgresql/<version>/bin``, the
``PATH``, ``/usr/local/pgsql/bin``), a cluster is created with ``initdb``
(trust authentication, no fsync: it lives for one test session) and started
with ``pg_ctl`` on a free port of 127.0.0.1 and a Unix socket inside its
directory. PostgreSQL refuses to run as root: as root, the server runs as
the ``postgres`` user (Debian's package creates it), else as ``nobody``, and
the directory is given to that user. No binaries at all: the PostgreSQL
tests are skipped with the reason. Binaries that fail to start a server:
the tests error with the server's log.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["ENV_BIN", "ENV_URL", "PostgresServer", "find_bindir", "missing_reason"]

ENV_URL = "CALSYNC_TEST_POSTGRES_URL"
ENV_BIN = "CALSYNC_TEST_POSTGRES_BIN"
_TOOLS = ("initdb", "pg_ctl", "postgres")
_SETTINGS = """
# calsync test server: disposable, so durability is off.
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 100
log_min_messages = warning
"""


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path)) or (0,)


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get(ENV_BIN):
        found.append(Path(os.environ[ENV_BIN]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            found.append(Path(out.stdout.strip()))
    debian = sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), key=_version, reverse=True
    )
    found += [Path(p) for p in debian]
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    found.append(Path("/usr/local/pgsql/bin"))
    return found


def find_bindir() -> Path | None:
    """The first directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    for directory in _candidates():
        if all((directory / tool).is_file() for tool in _TOOLS):
            return directory
    return None


def missing_reason() -> str:
    """Why the PostgreSQL tests are skipped when no server can be had."""
    return (
        "PostgreSQL tests need a server: no PostgreSQL binaries (initdb, pg_ctl, postgres) "
        f"were found and {ENV_URL} is not set; install PostgreSQL "
        "(apt-get install postgresql, as .ci/run does) or set "
        f"{ENV_URL}=postgresql+psycopg://user:password@host:port/dbname"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One disposable cluster: :meth:`start`, use :attr:`url`, :meth:`stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.root: Path | None = None
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self._user = pwd.getpwnam(name)
                    break
            if self._user is None:
                raise RuntimeError(
                    "running as root and no 'postgres' or 'nobody' user to run PostgreSQL as"
                )

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``postgres`` database (user ``calsync``, no password)."""
        return f"postgresql+psycopg://calsync@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self.root is not None
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            list(args),
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def _log(self) -> str:
        assert self.root is not None
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"

    def start(self) -> PostgresServer:
        """initdb and start on a free port (three tries: a port may be taken meanwhile)."""
        self.root = Path(tempfile.mkdtemp(prefix="calsync-pg-"))
        data = self.root / "data"
        data.mkdir(mode=0o700)
        if self._user is not None:
            for path in (self.root, data):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        initdb = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "calsync",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS.format(sockets=self.root))
        failure = ""
        for _ in range(3):
            self.port = _free_port()
            started = self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                "60",
                "start",
            )
            if started.returncode == 0:
                return self
            failure = f"{started.stdout}\n{started.stderr}\n{self._log()}"
        raise RuntimeError(f"pg_ctl could not start PostgreSQL:\n{failure}")

    def stop(self) -> None:
        """Stop the server at once and delete its directory."""
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
