"""A deployment's pairs share Graph's limits, whoever runs them.

``calsync serve`` runs each due pair on its own (``InProcess``), not through
``sync_many``: the deployment itself must give every Outlook adapter one
limiter, so that two pairs on one mailbox (two calendars of one user) never
have more than Outlook's 4 requests in flight on it together.
"""

from __future__ import annotations

import asyncio

import pytest

from calsync._app._config import load
from calsync._app._deploy import Deployment
from calsync.service._scheduler import InProcess
from tests.cli.support import CLIENT_ID, QUIET, World, odoo_time, soon

EVENTS = 20
PAIRS = {"ann": "ann", "team": "bob"}  # pair: Odoo login


def two_pairs_on_one_mailbox(world: World, **microsoft: object) -> None:
    """ann's Odoo calendar to her mailbox; bob's to a second calendar of that mailbox."""
    world.add_user("ann")
    world.add_user("bob", mailbox=False)
    team = world.graph.add_calendar(world.users["ann"], "Team")
    world.graph.identity.grant_application_permission(CLIENT_ID, "Calendars.ReadWrite")
    text = world.write_config([], access="application", microsoft=microsoft).read_text("utf-8")
    for name, login in PAIRS.items():
        calendar = f'calendar_id = "{team}"\n' if name == "team" else ""
        text += (
            f'[[pairs]]\nname = "{name}"\nmailbox = "ann@example.com"\n{calendar}'
            f'odoo_login = "{login}"\nodoo_api_key_env = "KEY_{login.upper()}"\n'
        )
    world.config.write_text(text, encoding="utf-8")


def new_odoo_events(world: World, round_: int) -> None:
    for login in PAIRS.values():
        for n in range(EVENTS):
            world.odoo.execute(
                login,
                "calendar.event",
                "create",
                {
                    "name": f"{login} {round_}.{n}",
                    "start": odoo_time(soon(1 + n % 5, 8 + n % 8)),
                    "stop": odoo_time(soon(1 + n % 5, 9 + n % 8)),
                },
                context=QUIET,
            )


def titles(world: World) -> list[str]:
    return sorted(str(event["subject"]) for event in world.graph.events(world.users["ann"]))


def two_rounds(world: World) -> None:
    """A first sync of both pairs, then both at once pushing new events (Graph slowed down)."""

    async def rounds() -> None:
        deployment = Deployment(load(world.config), world.environment())
        runner = InProcess(deployment)
        try:
            for round_ in (1, 2):
                new_odoo_events(world, round_)
                if round_ == 2:  # the second round's requests overlap, as they do on Graph
                    world.graph.reset_counts()
                    world.graph.slow(0.1)
                await asyncio.gather(*(runner.run(pair, full=False) for pair in PAIRS))
        finally:
            await runner.aclose()
            deployment.close()

    asyncio.run(rounds())
    made = [f"{login} {r}.{n}" for login in PAIRS.values() for r in (1, 2) for n in range(EVENTS)]
    assert titles(world) == sorted(made)


@pytest.mark.graph(concurrency_limit=4)  # Outlook answers 429 beyond 4 per mailbox
def test_two_pairs_on_one_mailbox_share_its_four_requests(world: World) -> None:
    two_pairs_on_one_mailbox(world)
    two_rounds(world)
    assert world.graph.max_concurrency(world.users["ann"]) == 4
    assert not [r for r in world.graph.all_requests if world.graph.status_of(r) == 429]


def test_the_app_wide_ceiling_comes_from_the_configuration(world: World) -> None:
    two_pairs_on_one_mailbox(world, requests_in_flight=2)
    two_rounds(world)
    assert world.graph.max_concurrency() == 2
