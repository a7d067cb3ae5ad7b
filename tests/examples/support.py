"""Running the example scripts as a user would: a new Python process, real HTTP to the emulators."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


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


def visit(url: str) -> tuple[int, str, str]:
    """A browser's first hop to ``url`` (no redirect followed): (status, Location, body)."""
    split = urlsplit(url)
    assert split.scheme == "http"
    assert split.hostname is not None
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    try:
        connection.request("GET", f"{split.path}?{split.query}")
        response = connection.getresponse()
        return response.status, response.getheader("Location") or "", response.read().decode()
    finally:
        connection.close()
