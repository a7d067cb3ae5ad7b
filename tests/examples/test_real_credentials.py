"""examples/real_credentials.py as a user runs it, pointed at the emulators by its variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.browser import visit
from tests.examples.support import EXAMPLES, Servers, run_example, script_env

SCRIPT = "real_credentials.py"
EVERY_VARIABLE = (
    "CALSYNC_ODOO_URL",
    "CALSYNC_ODOO_DB",
    "CALSYNC_ODOO_LOGIN",
    "CALSYNC_ODOO_API_KEY",
    "CALSYNC_ODOO_PASSWORD",
    "CALSYNC_STATE",
    "CALSYNC_MS_CLIENT_ID",
    "CALSYNC_MS_CLIENT_SECRET",
    "CALSYNC_MS_REDIRECT_URI",
    "CALSYNC_MS_ACCOUNT",
    "CALSYNC_MS_ACCESS_TOKEN",
)


def test_every_missing_variable_is_named_at_once() -> None:
    done = run_example(SCRIPT, env=script_env())
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for name in EVERY_VARIABLE:
        assert name in done.stderr, name


def test_only_what_is_missing_is_named(tmp_path: Path) -> None:
    env = script_env(
        {
            "CALSYNC_ODOO_URL": "https://odoo.example.com",
            "CALSYNC_ODOO_DB": "prod",
            "CALSYNC_ODOO_LOGIN": "ann",
            "CALSYNC_MS_ACCESS_TOKEN": "a-token",
        }
    )
    done = run_example(SCRIPT, env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    named = {name for name in EVERY_VARIABLE if name in done.stderr}
    assert named == {
        "CALSYNC_STATE",
        "CALSYNC_MS_ACCOUNT",
        "CALSYNC_ODOO_API_KEY",
        "CALSYNC_ODOO_PASSWORD",
    }


def test_preview_then_ask_then_sync_with_an_access_token(servers: Servers) -> None:
    env = servers.env(token=True)
    declined = run_example(SCRIPT, env=env, answer="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "Preview: 2 writes (1 create on odoo, 1 create on outlook)" in declined.stdout
    assert "invitation to c@x.example: 'Review with Carol'" in declined.stdout
    assert "Nothing was written." in declined.stdout
    assert servers.outlook_titles() == ["Lunch"]

    accepted = run_example(SCRIPT, env=env, answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "2 writes, ok" in accepted.stdout
    assert "writing: done in" in accepted.stderr  # the progress, one line per stage off a terminal
    assert servers.odoo_titles() == servers.outlook_titles() == ["Lunch", "Review with Carol"]
    assert [(m.kind, m.recipient) for m in servers.graph.mail_log()] == [
        ("invitation", "c@x.example")
    ]

    again = run_example(SCRIPT, "--yes", env=env)
    assert again.returncode == 0, again.stderr
    assert "Preview: 0 writes (none)" in again.stdout
    assert "in sync, nothing to do" in again.stdout


def test_sign_in_at_the_terminal_then_sync_from_cron(servers: Servers) -> None:
    env = servers.env(token=False)
    before = run_example(SCRIPT, "--yes", env=env)
    assert before.returncode == 1
    assert "Run this script with --sign-in." in before.stderr
    assert "Traceback" not in before.stderr

    servers.graph.identity.sign_in(servers.mailbox)  # who the browser is signed in as
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / SCRIPT), "--sign-in", "--yes"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        url = ""
        while not url:
            line = process.stdout.readline()
            assert line, "the script ended before printing the sign-in link"
            if line.startswith(servers.graph.url):
                url = line.strip()
        status, location, body = visit(url)  # Microsoft redirects the browser
        assert status == 302, body
        assert location.startswith(servers.redirect_uri)
        process.stdin.write(location + "\n")
        process.stdin.close()
        out = process.stdout.read()
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert "Signed in as ann@example.com" in out
    assert "2 writes, ok" in out
    assert servers.outlook_titles() == ["Lunch", "Review with Carol"]

    cron = run_example(SCRIPT, "--yes", env=env)  # the stored refresh token does the rest
    assert cron.returncode == 0, cron.stderr
    assert "in sync, nothing to do" in cron.stdout
