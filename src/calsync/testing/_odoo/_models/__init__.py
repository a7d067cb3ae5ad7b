"""The emulated models, one module per model family, and the list a registry is built from."""

from __future__ import annotations

from calsync.testing._odoo._models._attendee import CalendarAttendee
from calsync.testing._odoo._models._base import Env, Model, Registry, Settings
from calsync.testing._odoo._models._event import CalendarEvent
from calsync.testing._odoo._models._model_data import IrModelData
from calsync.testing._odoo._models._partner import ResPartner
from calsync.testing._odoo._models._recurrence import CalendarRecurrence
from calsync.testing._odoo._models._simple import (
    CalendarAlarm,
    CalendarEventType,
    MailTemplate,
    ResCompany,
    ResGroups,
    ResLang,
)
from calsync.testing._odoo._models._users import ResUsers

__all__ = ["MODELS", "Env", "Model", "Registry", "Settings"]

#: every emulated model class
MODELS: tuple[type[Model], ...] = (
    ResPartner,
    ResCompany,
    ResUsers,
    ResGroups,
    ResLang,
    MailTemplate,
    IrModelData,
    CalendarAlarm,
    CalendarEventType,
    CalendarRecurrence,
    CalendarEvent,
    CalendarAttendee,
)
