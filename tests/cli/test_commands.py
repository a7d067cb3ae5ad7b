"""The installed ``calsync`` command, run as a subprocess against both emulators.

Each test is what an operator types: ``init``, ``check`` on a good and on
broken configurations, ``login`` with the device code, ``preview``, ``sync
--all``, ``reset``, ``status``; and each asserts on what the command prints
and the exit code a scheduler would act on.
"""

from __future__ import annotations

import json

import pytest

from calsync._app._config import load
from calsync.cli._exit import Exit
from tests.cli.support import QUIET, World, graph_time, odoo_time, soon


@pytest.fixture
def pair_world(world: World) -> World:
    """Ann and Bob, each with an Odoo login, an API key and a mailbox; pairs configured."""
    world.add_user("ann")
    world.add_user("bob")
    world.write_config(["ann", "bob"])
    return world


def signed_in(world: World) -> World:
    for login in ("ann", "bob"):
        done = world.login(login)
        assert done.returncode == 0, done.stderr
    return world


def test_init_writes_a_commented_configuration_that_loads(world: World) -> None:
    made = world.run("init", "--odoo-url", world.odoo.url, "--odoo-db", world.odoo.db)
    assert made.returncode == 0, made.stderr
    text = world.config.read_text()
    assert "# Secrets are never written here" in text
    assert "client_secret_env" in text
    config = load(world.config)
    assert config.odoo.url == world.odoo.url
    assert [p.name for p in config.pairs] == ["ann"]
    assert config.store.sqlite_path == str(world.tmp / "calsync-state.sqlite3")

    again = world.run("init")
    assert again.returncode == Exit.USAGE
    assert "exists" in again.stderr


def test_a_secret_written_in_the_file_is_refused_by_name(world: World) -> None:
    world.write_config([], microsoft={"client_secret": "oops"})
    refused = world.run("check")
    assert refused.returncode == Exit.USAGE
    assert "microsoft.client_secret: secrets are not read from the configuration file" in (
        refused.stderr
    )
    assert "oops" not in refused.stderr


def test_check_passes_on_a_good_configuration(pair_world: World) -> None:
    signed_in(pair_world)
    checked = pair_world.run("check")
    assert checked.returncode == Exit.OK, checked.stdout + checked.stderr
    assert "all checks passed" in checked.stdout
    assert "pair ann: outlook" in checked.stdout
    assert "pair bob: odoo" in checked.stdout


def test_check_names_each_broken_configuration(pair_world: World) -> None:
    signed_in(pair_world)

    pair_world.write_config(["ann"], microsoft={"client_secret_env": "WRONG_SECRET"})
    wrong = pair_world.run("check", env={"WRONG_SECRET": "the-secret-id-not-its-value"})
    assert wrong.returncode == Exit.ACTION
    assert "AADSTS7000215" in wrong.stdout
    assert "the secret's ID was pasted instead of its value" in wrong.stdout
    assert "the-secret-id-not-its-value" not in wrong.stdout + wrong.stderr

    other = "https://calsync.example.com/microsoft_account/authentication"
    pair_world.write_config(["ann"], microsoft={"redirect_uri": other})
    redirect = pair_world.run("check")
    assert redirect.returncode == Exit.ACTION
    assert f"the redirect URI {other} is not registered" in redirect.stdout
    assert "AADSTS50011" in redirect.stdout

    pair_world.write_config(["ann"], odoo={"database": "no_such_db"})
    database = pair_world.run("check")
    assert database.returncode != Exit.OK
    assert "Odoo has no database 'no_such_db'" in database.stdout
    assert "pair ann: outlook" in database.stdout  # the other side is still checked


def test_check_says_who_has_not_signed_in(pair_world: World) -> None:
    checked = pair_world.run("check")
    assert checked.returncode == Exit.ACTION
    assert "ann@example.com has not signed in: run 'calsync login ann'" in checked.stdout


def test_login_with_the_device_code(pair_world: World) -> None:
    done = pair_world.login("ann")
    assert done.returncode == 0, done.stderr
    assert "enter the code" in done.stdout
    assert "signed in: ann@example.com for pair ann" in done.stdout
    grants = [r.grant_type for r in pair_world.graph.identity.token_requests if r.error is None]
    assert grants == ["urn:ietf:params:oauth:grant-type:device_code"]

    wrong = pair_world.login("bob", as_mailbox="ann@example.com")
    assert wrong.returncode == Exit.ACTION
    assert "signed in as ann@example.com, but pair bob syncs bob@example.com" in wrong.stderr
    status = json.loads(pair_world.run("status", "--json").stdout)
    tokens = {row["pair"]: row["token"] for row in status["pairs"]}
    assert tokens["bob"] == "not signed in"
    assert tokens["ann"] != "not signed in"


def seed(world: World) -> None:
    """Ann: one event in Odoo, one in Outlook; Bob: one in Outlook. Nobody else invited."""
    start = soon(2, 9)
    world.odoo.execute(
        "ann",
        "calendar.event",
        "create",
        {"name": "Ann planning", "start": odoo_time(start), "stop": odoo_time(soon(2, 10))},
        context=QUIET,
    )
    world.graph.seed_event(
        world.users["ann"],
        {"subject": "Ann dentist", "start": graph_time(soon(3, 9)), "end": graph_time(soon(3, 10))},
    )
    world.graph.seed_event(
        world.users["bob"],
        {"subject": "Bob gym", "start": graph_time(soon(4, 9)), "end": graph_time(soon(4, 10))},
    )


def test_preview_sync_reset_and_status(pair_world: World) -> None:
    world = signed_in(pair_world)
    seed(world)

    shown = world.run("preview", "--all")
    assert shown.returncode == Exit.OK, shown.stderr
    assert "ann: 2 writes, 0 e-mails to attendees" in shown.stdout
    assert "bob: 1 write, 0 e-mails to attendees" in shown.stdout
    assert world.odoo_titles("bob") == []  # a preview writes nothing

    synced = world.run("sync", "--all")
    assert synced.returncode == Exit.OK, synced.stdout + synced.stderr
    assert "ann: 2 writes, ok" in synced.stdout
    assert "bob: 1 write, ok" in synced.stdout
    assert world.odoo_titles("ann") == ["Ann dentist", "Ann planning"]
    assert world.graph_titles("ann") == ["Ann dentist", "Ann planning"]
    assert world.odoo_titles("bob") == ["Bob gym"]

    again = world.run("sync", "ann")
    assert again.returncode == Exit.OK
    assert "ann: in sync, nothing to do" in again.stdout

    table = world.run("status")
    assert table.returncode == Exit.OK
    for name in ("ann", "bob"):
        assert name in table.stdout
    rows = {row["pair"]: row for row in json.loads(world.run("status", "--json").stdout)["pairs"]}
    assert rows["ann"]["outcome"] == "ok"
    assert rows["bob"]["writes"] == {"odoo": 1}
    assert rows["ann"]["held"] == 0

    declined = world.run("reset", "ann", "--existing", "delete_from_microsoft", typed="n\n")
    assert declined.returncode == Exit.OK
    assert "2 deletions" in declined.stdout  # every synced event Ann organises
    assert "nothing done" in declined.stdout
    assert world.graph_titles("ann") == ["Ann dentist", "Ann planning"]

    reset = world.run("reset", "ann", "--existing", "delete_from_microsoft", "--yes")
    assert reset.returncode == Exit.OK, reset.stdout + reset.stderr
    assert world.graph_titles("ann") == []
    assert world.odoo_titles("ann") == ["Ann dentist", "Ann planning"]
    after = world.run("sync", "ann")
    assert "in sync, nothing to do" in after.stdout  # next sync: only new events


def test_a_first_sync_that_would_mail_attendees_stops_with_the_guard_code(
    pair_world: World,
) -> None:
    world = signed_in(pair_world)
    partner = world.odoo.execute(
        "ann", "res.partner", "create", {"name": "Carol", "email": "carol@client.example"}
    )
    world.odoo.execute(
        "ann",
        "calendar.event",
        "create",
        {
            "name": "Kick-off",
            "start": odoo_time(soon(1, 9)),
            "stop": odoo_time(soon(1, 10)),
            "partner_ids": [(6, 0, [partner])],
        },
        context=QUIET,
    )
    stopped = world.run("sync", "ann")
    assert stopped.returncode == Exit.GUARD
    assert "NotificationLimitError" in stopped.stdout
    assert "once" in stopped.stdout  # not "1 times"
    allowed = world.run("sync", "ann", "--allow-emails", "1")
    assert allowed.returncode == Exit.OK, allowed.stdout
    assert world.graph_titles("ann") == ["Kick-off"]
