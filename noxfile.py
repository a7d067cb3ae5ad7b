"""Developer tasks: ``nox -s tests lint typing docs bench quickstart conformance``.

``nox -s tests`` is the whole test suite, exactly what CI runs (``.ci/run``);
``nox -s quickstart`` runs the README's first command, the main job on the
embedded default; ``nox -s conformance`` runs calsync against a real Odoo
server named by ``CALSYNC_ODOO_*`` variables (docs/howto/conformance.md).
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typing", "docs"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite; Hypothesis runs its CI profile (300+ examples per machine)."""
    session.install("-e", ".[test]")
    session.env.setdefault("HYPOTHESIS_PROFILE", "ci")
    # Two workers per core: much of the suite waits (timeouts, Retry-After) rather than computes.
    # Work stealing keeps the long crash and fault matrices from queueing behind one worker.
    workers = str(2 * (os.cpu_count() or 1))
    session.run("pytest", "-n", workers, "--dist", "worksteal", "--durations=10", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "bench", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "bench", "examples", "noxfile.py")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the library and on a file that uses the public API as a user would."""
    session.install("-e", ".[test]", "mypy", "types-python-dateutil")
    session.run("mypy", "src", "tests/typing")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation; any warning is an error."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: print their tables (never asserted in tests)."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """calsync on a real Odoo: the adapter contract suite and the end-to-end scenarios.

    The server comes from ``CALSYNC_ODOO_URL``, ``CALSYNC_ODOO_DB``, an administrator and
    an ordinary user (``CALSYNC_ODOO_ADMIN_LOGIN`` / ``_PASSWORD``, ``CALSYNC_ODOO_USER_LOGIN``
    / ``_PASSWORD``; ``..._API_KEY`` for JSON-2 on Odoo 19); without them every test skips,
    saying which is missing. One test at a time: the server is shared.
    """
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/conformance",
        "tests/adapters/test_odoo_live.py",
        "tests/adapters/test_odoo_live_safety.py",
        "tests/adapters/test_odoo_bulk_paths.py",
        "tests/adapters/test_recurrence_real_odoo.py",
        "tests/adapters/test_recurrence_table.py",
        "-m",
        "live",
        "-p",
        "no:xdist",
        *session.posargs,
    )


@nox.session
def quickstart(session: nox.Session) -> None:
    """The main job on the embedded default: the README's first command."""
    session.install("-e", ".")
    session.run("python", "examples/quickstart.py", *session.posargs)
