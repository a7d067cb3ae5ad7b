"""Outlook (Microsoft Graph through msgraph-sdk) as a calsync side.

``OutlookCalendar(credential, ...)`` is the adapter; ``StaticToken`` a
credential holding one bearer token (tests, the Graph emulator, tokens
obtained elsewhere); ``OUTLOOK_PROJECTION`` what Outlook stores of an event.
Importing this package does not import msgraph: the adapter imports it when
it first talks to Graph.
"""

from __future__ import annotations

from calsync.adapters.outlook._adapter import KEY_PROPERTY, OUTLOOK_PROJECTION, OutlookCalendar
from calsync.adapters.outlook._credential import StaticToken

__all__ = ["KEY_PROPERTY", "OUTLOOK_PROJECTION", "OutlookCalendar", "StaticToken"]
