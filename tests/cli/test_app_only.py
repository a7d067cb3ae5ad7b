"""App-only access end to end: the emulator's identity platform grants client credentials.

Three Odoo users have mailboxes, a fourth has none, a fifth's mailbox is
outside Exchange's application access policy. ``discover = true`` finds the
three pairs by e-mail; ``calsync sync --all`` runs their first sync through
the app's own token (``/users/{id}``, never ``/me``), once with a client
secret and once with a certificate. ``check`` names missing admin consent.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from calsync.cli._exit import Exit
from tests.cli.support import CLIENT_ID, QUIET, World, graph_time, odoo_time, soon

SYNCED = ("ann", "bob", "cid")


def certificate(folder: Path) -> tuple[Path, bytes]:
    """A self-signed certificate and its key in one PEM file; the certificate's public PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calsync tests")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    public = cert.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / "app.pem"
    path.write_bytes(private + public)
    return path, public


@pytest.fixture
def company(world: World) -> World:
    """Five Odoo users; four mailboxes, one outside the app's access policy; events to sync."""
    world.odoo.add_user(
        "calsync-service", "service-pw", email="calsync@example.com", api_key="svc-key-0123456789"
    )
    world.env["SERVICE_KEY"] = "svc-key-0123456789"
    for login in (*SYNCED, "dan"):
        world.add_user(login)
    world.add_user("eve", mailbox=False)
    world.graph.identity.restrict_app(CLIENT_ID, [world.users[login] for login in SYNCED])
    for day, login in enumerate(SYNCED, start=1):
        world.graph.seed_event(
            world.users[login],
            {
                "subject": f"{login} in Outlook",
                "start": graph_time(soon(day, 9)),
                "end": graph_time(soon(day, 10)),
            },
        )
        world.odoo.execute(
            login,
            "calendar.event",
            "create",
            {
                "name": f"{login} in Odoo",
                "start": odoo_time(soon(day, 14)),
                "stop": odoo_time(soon(day, 15)),
            },
            context=QUIET,
        )
    return world


def configure(world: World, credential: dict[str, str | None]) -> None:
    world.write_config(
        [],
        access="application",
        microsoft=credential,
        odoo={"login": "calsync-service", "api_key_env": "SERVICE_KEY"},
        top="discover = true",
    )


def first_sync(world: World) -> None:
    synced = world.run("sync", "--all")
    assert synced.returncode == Exit.OK, synced.stdout + synced.stderr
    for login in SYNCED:
        assert f"{login}: 2 writes, ok" in synced.stdout
        both = sorted([f"{login} in Odoo", f"{login} in Outlook"])
        assert world.graph_titles(login) == both
        assert world.odoo_titles(login) == both
    assert "dan" not in synced.stdout  # outside the access policy
    assert "eve" not in synced.stdout  # no mailbox
    assert world.graph_titles("dan") == []
    graph = [r.path for r in world.graph.all_requests if r.path.startswith("/v1.0/")]
    paths = {path.split("/")[2] for path in graph}
    assert "me" not in paths  # app-only tokens reach mailboxes at /users/{id}
    grants = {r.grant_type for r in world.graph.identity.token_requests}
    assert grants == {"client_credentials"}
    again = world.run("sync", "--all")
    assert again.stdout.count("in sync, nothing to do") == len(SYNCED), again.stdout


def test_first_sync_of_three_mailboxes_with_a_client_secret(company: World) -> None:
    company.graph.identity.grant_application_permission(CLIENT_ID, "Calendars.ReadWrite")
    configure(company, {})
    checked = company.run("check")
    assert checked.returncode == Exit.OK, checked.stdout
    assert "the client secret works" in checked.stdout
    first_sync(company)


def test_first_sync_of_three_mailboxes_with_a_certificate(company: World) -> None:
    company.graph.identity.grant_application_permission(CLIENT_ID, "Calendars.ReadWrite")
    path, public = certificate(company.tmp)
    company.graph.identity.add_certificate(CLIENT_ID, public)
    configure(company, {"certificate_file": str(path), "client_secret_env": None})
    first_sync(company)


def test_check_names_missing_admin_consent(company: World) -> None:
    configure(company, {})
    checked = company.run("check")
    assert checked.returncode == Exit.ACTION
    assert "grant the application permission Calendars.ReadWrite" in checked.stdout
