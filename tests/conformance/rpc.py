"""A small Odoo client of the tests' own: ``execute_kw`` over ``/jsonrpc`` with httpx.

The conformance scenarios read and write Odoo with it, as a user in Odoo's web
client would, and check what calsync did with it: it shares no code with
calsync's adapter (neither its transports nor odoorpc), so a mistake there
cannot hide itself here. ``/jsonrpc`` is served by Odoo 10 to 21, with a
deprecation warning from 19.0 on.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import httpx

__all__ = ["OdooRPC", "OdooRPCError"]

_IDS = itertools.count(1)


class OdooRPCError(Exception):
    """An error Odoo answered: ``name`` is its exception class, ``message`` its text."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@attrs.define
class OdooRPC:
    """One Odoo login (password) on one database; ``call`` runs ``execute_kw`` as that user.

    The password is kept out of the repr. ``client`` is shared by every
    :class:`OdooRPC` of a test (one connection pool).
    """

    url: str
    db: str
    login: str
    password: str = attrs.field(repr=False)
    client: httpx.Client = attrs.field(repr=False)
    _uid: int | None = attrs.field(default=None, repr=False)

    def service(self, service: str, method: str, *args: Any) -> Any:
        """``/jsonrpc`` ``call`` of a service (``common``, ``db``, ``object``)."""
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(_IDS),
        }
        answer = self.client.post(f"{self.url}/jsonrpc", json=body)
        answer.raise_for_status()
        payload = answer.json()
        if "error" in payload:
            error = payload["error"]
            data = error.get("data") or {}
            raise OdooRPCError(
                str(data.get("name", error.get("message"))), str(data.get("message"))
            )
        return payload.get("result")  # Odoo leaves "result" out when a method returns None

    @property
    def uid(self) -> int:
        """The user id (``common.login``; refused credentials raise :class:`OdooRPCError`)."""
        if self._uid is None:
            uid = self.service("common", "login", self.db, self.login, self.password)
            if not uid:
                raise OdooRPCError("odoo.exceptions.AccessDenied", f"login {self.login!r} refused")
            self._uid = int(uid)
        return self._uid

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``execute_kw(model, method, args, kwargs)`` as this user."""
        return self.service(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            self.password,
            model,
            method,
            list(args),
            kwargs,
        )

    def create_user(self, name: str, login: str, password: str, **values: Any) -> int:
        """A new internal user (e-mail ``<login>@example.com``), as an administrator makes
        one over RPC: no invitation mail (``no_reset_password``)."""
        record = {
            "name": name,
            "login": login,
            "password": password,
            "email": f"{login}@example.com",
            **values,
        }
        return int(self.call("res.users", "create", record, context={"no_reset_password": 1}))

    def as_user(self, login: str, password: str) -> OdooRPC:
        """The same server and database, another login."""
        return OdooRPC(self.url, self.db, login, password, self.client)
