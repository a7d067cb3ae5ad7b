"""The adapter contract suite (``calsync.testing.contract``) against a real Odoo (``-m live``).

The emulator's run of the same suite is ``tests/adapters/test_odoo_contract.py``.
Each test gets a fresh calendar: an ordinary internal user the administrator
creates for it (removed afterwards, with every event they hold), signed in with
a password over ``/jsonrpc``. The user's hands are the tests' own RPC client.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from calsync.adapters.odoo import OdooCalendar
from calsync.testing.contract import AdapterContract
from tests.adapters.odoo_support import Hands, OdooHarness
from tests.conformance.rpc import OdooRPC, OdooRPCError
from tests.conformance.target import OdooTarget

pytestmark = pytest.mark.live  # skipped by the live_target fixture without a server


@attrs.define
class RPCHands(Hands):
    """``Hands`` whose calls go over RPC to a real server, as the calendar's user."""

    rpc: OdooRPC | None = None

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """As the user; events are stored as given (Odoo 19 would append a contact
        block to their description, which the contract's expectations do not hold)."""
        assert self.rpc is not None
        if model == "calendar.event" and method == "create":
            kwargs["context"] = {**kwargs.get("context", {}), "skip_contact_description": True}
        return self.rpc.call(model, method, *args, **kwargs)


class TestOdooCalendarOnARealServer(AdapterContract):
    @pytest.fixture
    def harness(self, live_target: OdooTarget) -> Iterator[OdooHarness]:
        with httpx.Client(timeout=300) as http:
            admin = OdooRPC(
                live_target.url, live_target.db, live_target.admin.login,
                live_target.admin.password, http,
            )  # fmt: skip
            login = f"contract-{secrets.token_hex(4)}"
            password = secrets.token_hex(12)
            uid = admin.create_user(login, login, password)
            if not admin.call(
                "res.partner", "search", [("email_normalized", "=", "ann@example.com")]
            ):
                admin.call("res.partner", "create", {"name": "Ann", "email": "ann@example.com"})
            hands = RPCHands(None, login, admin.as_user(login, password))  # type: ignore[arg-type]
            adapter = OdooCalendar(
                live_target.url, live_target.db, login, password=password, transport="jsonrpc"
            )
            made = OdooHarness(None, adapter, hands)  # type: ignore[arg-type]
            try:
                yield made
            finally:
                made.run(adapter.aclose())
                made.loop.close()
                _remove(admin, hands, uid)


def _remove(admin: OdooRPC, hands: RPCHands, uid: int) -> None:
    """The test user's events, then the user (archived when Odoo keeps references to them)."""
    ids = hands.call(
        "calendar.event", "search", [("user_id", "=", uid)], context={"active_test": False}
    )
    if ids:
        hands.call("calendar.event", "unlink", ids)
    try:
        admin.call("res.users", "unlink", [uid])
    except OdooRPCError:
        admin.call("res.users", "write", [uid], {"active": False})
