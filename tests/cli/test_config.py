"""The configuration file: every mistake named by its key; secrets only from outside it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from calsync import ConfigurationError, MissingExtraError
from calsync._app._config import load
from calsync._app._deploy import Deployment, Expiry
from calsync._extras import needs_extra
from calsync.auth import ApplicationCredential

GOOD = """
[odoo]
url = "https://odoo.example.com/"
database = "prod"

[microsoft]
tenant = "contoso.onmicrosoft.com"
client_id = "abc"
client_secret_file = "secret.txt"
secret_expires = 2027-06-30

[store]
url = "sqlite:///state.sqlite3"

[[pairs]]
mailbox = "ann@example.com"
odoo_api_key_env = "KEY_ANN"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calsync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_with_relative_paths_and_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD))
    assert config.odoo.url == "https://odoo.example.com"
    assert config.store.sqlite_path == str(tmp_path / "state.sqlite3")
    pair = config.pairs[0]
    assert (pair.name, pair.odoo_login) == ("ann@example.com", "ann@example.com")
    secret = config.microsoft.client_secret
    assert secret is not None
    assert secret.file == tmp_path / "secret.txt"
    (tmp_path / "secret.txt").write_text("s3cret\n")
    assert secret.value({}) == "s3cret"
    assert config.service.interval == 900


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("[odoo]\nurl", "[odoo]\nurls"), "odoo.url is required"),
        (('database = "prod"', "database = 3"), "odoo.database must be a str"),
        (('client_secret_file = "secret.txt"', 'client_secret = "x"'), "microsoft.client_secret:"),
        (("secret_expires = 2027-06-30", 'secret_expires = "soon"'), "microsoft.secret_expires"),
        (('mailbox = "ann@example.com"', 'mailbx = "a"'), "pairs[0].mailbox is required"),
        (("[store]", "[store]\ncolour = 1"), "unknown key in [store]: colour"),
    ],
)
def test_mistakes_are_named_by_key(tmp_path: Path, change: tuple[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load(write(tmp_path, GOOD.replace(*change)))


def test_missing_secrets_name_their_source(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD))
    with pytest.raises(ConfigurationError, match=r"cannot read .*secret\.txt"):
        Deployment(config, {}).auth  # noqa: B018 (building it reads the secret)
    key = config.pairs[0].odoo_api_key
    assert key is not None
    with pytest.raises(ConfigurationError, match="KEY_ANN is not set"):
        key.value({})


def test_expiries_warn_thirty_days_ahead() -> None:
    now = datetime(2027, 6, 1, tzinfo=timezone.utc)
    expiry = Expiry("the client secret of app abc", date(2027, 6, 30), "renew it")
    assert expiry.state(now) == "soon"
    assert (
        expiry.message(now)
        == "the client secret of app abc expires on 2027-06-30 (in 30 days): renew it"
    )
    assert Expiry("x", date(2027, 8, 30), "").state(now) == "ok"
    assert Expiry("x", date(2027, 5, 30), "").state(now) == "expired"


def test_a_missing_extra_names_the_extra() -> None:
    wanted = r"pip install 'calsync\[cli\]'"
    with pytest.raises(MissingExtraError, match=wanted) as raised, needs_extra("calsync", "cli"):
        import no_such_module_for_calsync  # type: ignore[import-not-found]  # noqa: F401
    assert isinstance(raised.value, ImportError)
    assert raised.value.extra == "cli"


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"tenant": "common", "client_secret": "s"}, "needs the directory"),
        ({"tenant": "t", "client_secret": "s", "certificate_data": b"x"}, "exactly one"),
        ({"tenant": "t", "certificate_data": b"not a pem"}, "could not be loaded"),
    ],
)
def test_application_credential_refuses_bad_arguments(
    arguments: dict[str, object], named: str
) -> None:
    tenant = arguments.pop("tenant")
    with pytest.raises(ConfigurationError, match=named):
        ApplicationCredential(tenant, "client", **arguments)  # type: ignore[arg-type]


def test_import_calsync_stays_light() -> None:
    import subprocess
    import sys

    heavy = ("click", "rich", "starlette", "uvicorn", "prometheus_client", "rq")
    code = f"import sys, calsync; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


SHARED = (
    GOOD.replace(
        'database = "prod"',
        'database = "prod"\nlogin = "calsync"\napi_key_env = "KEY_SERVICE"\nshared_listing = true',
    ).replace('odoo_api_key_env = "KEY_ANN"', "")
    + '\n[[pairs]]\nmailbox = "bob@example.com"\n'
)


def test_a_shared_listing_is_one_odoo_database_for_every_pair(tmp_path: Path) -> None:
    deployment = Deployment(load(write(tmp_path, SHARED)), {"KEY_SERVICE": "k" * 40})
    try:
        ann, bob = (deployment.odoo(pair) for pair in deployment.pairs())
        database = deployment.odoo_database()
        assert database is not None
        assert ann._database is bob._database is database
        assert database.transport is ann._transport is bob._transport  # one login for all
    finally:
        deployment.close()


def test_a_shared_listing_needs_a_service_login(tmp_path: Path) -> None:
    text = GOOD.replace('database = "prod"', 'database = "prod"\nshared_listing = true')
    with pytest.raises(ConfigurationError, match=r"odoo\.shared_listing .* set odoo\.login"):
        load(write(tmp_path, text))
    assert Deployment(load(write(tmp_path, GOOD)), {}).odoo_database() is None


def test_every_odoo_transport_of_a_deployment_shares_its_requests_in_flight(
    tmp_path: Path,
) -> None:
    text = SHARED.replace("shared_listing = true", "shared_listing = true\nrequests_in_flight = 3")
    deployment = Deployment(load(write(tmp_path, text)), {"KEY_SERVICE": "k" * 40})
    try:
        own = deployment.odoo_transport("ann", api_key="a" * 40)
        service = deployment.odoo_transport("calsync", api_key="k" * 40)
        assert own is not service
        assert own.limiter is service.limiter
        assert own.limiter.per_key == 3
    finally:
        deployment.close()
    assert load(write(tmp_path, GOOD)).odoo.requests_in_flight == 8
    for wrong in ("0", '"many"'):
        bad = GOOD.replace('database = "prod"', f'database = "prod"\nrequests_in_flight = {wrong}')
        with pytest.raises(ConfigurationError, match=r"odoo\.requests_in_flight"):
            load(write(tmp_path, bad))


def test_graph_requests_in_flight_across_mailboxes_is_a_setting(tmp_path: Path) -> None:
    defaults = load(write(tmp_path, GOOD))
    assert defaults.microsoft.requests_in_flight == 128
    assert defaults.service.concurrency == 32  # pairs at once, as sync_many's
    text = GOOD.replace("[microsoft]\n", "[microsoft]\nrequests_in_flight = 16\n")
    assert load(write(tmp_path, text)).microsoft.requests_in_flight == 16
    for wrong in ("0", '"many"'):
        bad = GOOD.replace("[microsoft]\n", f"[microsoft]\nrequests_in_flight = {wrong}\n")
        with pytest.raises(ConfigurationError, match=r"microsoft\.requests_in_flight"):
            load(write(tmp_path, bad))
