"""A throwaway Redis server for the tests: ``redis-server`` on a free loopback port.

The binary is looked up (``CALSYNC_TEST_REDIS_BIN``, the ``PATH``,
``/usr/bin``, ``/usr/sbin``, ``/usr/local/bin``) and started in the
foreground of a child process with no persistence, bound to 127.0.0.1, its
working directory a temporary one. No binary: the tests that need Redis are
skipped with the reason. A binary that fails to start: they error with its log.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["ENV_BIN", "RedisServer", "find_binary", "missing_reason"]

ENV_BIN = "CALSYNC_TEST_REDIS_BIN"


def find_binary() -> str | None:
    """The redis-server binary, if any."""
    candidates = [os.environ.get(ENV_BIN), shutil.which("redis-server")]
    candidates += [f"{d}/redis-server" for d in ("/usr/bin", "/usr/sbin", "/usr/local/bin")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_reason() -> str:
    """Why the Redis tests are skipped."""
    return (
        "the task-queue tests need Redis: no redis-server binary was found; install it "
        f"(apt-get install redis-server, as .ci/run does) or set {ENV_BIN}"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One disposable server: :meth:`start`, use :attr:`url`, :meth:`stop`."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self.root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _log(self) -> str:
        assert self.root is not None
        log = self.root / "redis.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"

    def start(self) -> RedisServer:
        """Start on a free port (three tries: a port may be taken meanwhile)."""
        self.root = Path(tempfile.mkdtemp(prefix="calsync-redis-"))
        for _ in range(3):
            self.port = _free_port()
            args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
            args += ["--dir", str(self.root)]
            with (self.root / "redis.log").open("wb") as log:
                self._process = subprocess.Popen(
                    args,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.root,
                )
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self._process.poll() is None:
                if _ping(self.port):
                    return self
                time.sleep(0.05)
            self._kill()
        raise RuntimeError(f"redis-server could not start:\n{self._log()}")

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        self._kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
