"""``calendar.event``: the recorded semantics of Odoo 18.0's meetings (§5).

Creation [06-12, 25]
  ``user_id`` defaults to the caller; without ``partner_ids`` the caller's
  partner is the only attendee; with ``partner_ids`` the organiser is *not*
  added. One attendee row per partner, created in CPython set order. All-day
  events given by ``start_date``/``stop_date`` are stored 08:00-18:00; given by
  ``start``/``stop`` they are stored as given. Non-recurring events of a
  multi-create are inserted before recurring ones (Odoo's ``create`` does so).
  A recurring event creates its whole series at once.

Writes [13-18, 31-33, 42]
  ``recurrence_update`` = ``self_only`` (default) edits one row, which becomes
  an exception when its time changes; recurrence fields then raise
  ``UserError``. ``future_events`` splits the series at the row,
  ``all_events`` writes every row in place or, with a time or rule change,
  rebuilds the series around the base event; ``recurrency: false`` with
  ``all_events`` deletes the other rows. Archiving the base re-selects it.

Privacy [39]
  A private event (or one without privacy whose organiser's calendar is
  private) is masked for users who neither organise nor attend it: ``name``
  reads "Busy" and every non-public field reads empty, ``write_date``
  included; writes and deletes raise the recorded ``AccessError``. Searches
  still run on the real values.

Mail
  Invitations and date-change mails go to attendees other than the caller,
  unless ``no_mail_to_attendees`` is in the context (see :mod:`.._mail`).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from calsync.testing._odoo._calendar import WEEKDAY_FIELDS, weekday_occurrence
from calsync.testing._odoo._errors import (
    GenericError,
    OdooValueError,
    UserError,
    ValidationError,
    record_rule_error,
)
from calsync.testing._odoo._fields import tz_names
from calsync.testing._odoo._html import is_html_empty, sanitize_html
from calsync.testing._odoo._mail import DATE_UPDATED, INVITATION, OdooMail
from calsync.testing._odoo._models._base import Env, Model, api_multi
from calsync.testing._odoo._pyset import added_in_set_order
from calsync.testing._odoo._values import format_datetime, scalar_to_wire, to_datetime

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from calsync.testing._odoo._fields import Field

__all__ = ["PUBLIC_FIELDS", "RECURRENT_FIELDS", "TIME_FIELDS", "CalendarEvent"]

RECURRENT_FIELDS = frozenset(
    {"byday", "until", "rrule_type", "month_by", "event_tz", "rrule", "interval", "count",
     "end_type", "day", "weekday", *WEEKDAY_FIELDS}
)  # fmt: skip
TIME_FIELDS = frozenset({"start", "stop", "start_date", "stop_date"})
PUBLIC_FIELDS = (
    RECURRENT_FIELDS
    | TIME_FIELDS
    | {
        "id",
        "active",
        "allday",
        "duration",
        "user_id",
        "partner_id",
        "recurrence_id",
        "show_as",
        "privacy",
    }
)
#: fields ``copy_data`` copies to the occurrences of a series
COPIED = (
    "name", "description", "user_id", "location", "videocall_location", "privacy", "show_as",
    "active", "categ_ids", "allday", "res_id", "res_model_id", "partner_ids", "alarm_ids",
    "recurrency", "follow_recurrence", "videocall_channel_id",
)  # fmt: skip
DISCUSS_ROUTE = "calendar/join_videocall"
_RECURRENCE_DEFAULTS = {
    "interval": 1,
    "end_type": "count",
    "count": 1,
    "month_by": "date",
    "day": 1,
    "rrule_type": "weekly",
}


def _new_start(time_values: Mapping[str, Any], row: Mapping[str, Any]) -> datetime:
    """The start an edit gives the event (its current start when the edit keeps it)."""
    start = to_datetime(time_values.get("start")) if "start" in time_values else None
    current: datetime = row["start"]
    return start or current


@functools.cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in tz_names()}


def check_zone(zone: object) -> None:
    """A series' zone as ``pytz.timezone`` takes it (``_get_start_date``, before any
    selection check): real 18.0 answered an unknown ``event_tz`` or context ``tz``
    with ``pytz.exceptions.UnknownTimeZoneError``, the zone as its message."""
    if zone and str(zone).casefold() not in _zones():
        raise GenericError("pytz.exceptions.UnknownTimeZoneError", str(zone))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def default_start(now: datetime) -> datetime:
    """Odoo's default start: now rounded up to the next half hour."""
    return now + (datetime.min - now) % timedelta(minutes=30)  # noqa: DTZ901 (naive UTC)


class CalendarEvent(Model):
    """``calendar.event``."""

    _name = "calendar.event"
    _public_fields: ClassVar[frozenset[str] | None] = PUBLIC_FIELDS

    # -- privacy -----------------------------------------------------------------------------

    def _masked(self, env: Env, rid: int) -> bool:
        """Odoo's ``_check_private_event_conditions`` for the current user.

        addons/calendar/models/calendar_event.py: privacy ``private``, or (18.0 and
        19.0, which read the organiser's ``calendar_default_privacy`` with sudo) no
        privacy and an organiser whose calendar is private by default; and the user
        neither organises nor attends. 17.0 has no default privacy.
        """
        row = self.db.row(self._name, rid)
        if row is None:
            return False
        return self._stranger(env, row) and (
            row.get("privacy") == "private" or self._private_by_default(row)
        )

    @staticmethod
    def _stranger(env: Env, row: Mapping[str, Any]) -> bool:
        return row.get("user_id") != env.uid and env.partner_id not in (
            row.get("partner_ids") or ()
        )

    def _private_by_default(self, row: Mapping[str, Any]) -> bool:
        if row.get("privacy") or not row.get("user_id") or self.registry.settings.major < 18:
            return False
        owner = self.db.row("res.users", row["user_id"])
        return bool(owner and owner.get("calendar_default_privacy") == "private")

    def _masked_value(self, env: Env, rid: int, fname: str) -> Any:
        if fname == "name":
            return "Busy"
        return super()._masked_value(env, rid, fname)

    def _grouping_domain(self, env: Env, domain: Any, specs: list[Any], *, formatted: bool) -> Any:
        """``Meeting._read_group``: others' private events left out of groupings on fields
        Odoo masks in them (``partner_ids`` is; ``id``, ``recurrence_id`` and ``user_id``
        are not): ``_get_default_privacy_domain`` ANDed to the domain.

        A ``__count`` is no public field either, and 19.0's ``read_group`` always asks
        ``_read_group`` for one, so there it always ANDs; its ``formatted_read_group``
        only when asked for one (checked on real 19.0: a private meeting the user
        attends is missing from a ``read_group`` on ``id`` and ``recurrence_id``, and
        present in ``formatted_read_group``).
        """
        always = not formatted and self.registry.settings.major >= 19
        named = {str(spec).partition(":")[0] for spec in specs}
        if env.su or not (always or named - (self._public_fields or frozenset())):
            return domain
        shown = [rid for rid in self.all_ids(env) if self._in_privacy_domain(env, rid)]
        return ["&", ["id", "in", shown], *(list(domain) if domain else [[1, "=", 1]])]

    def _in_privacy_domain(self, env: Env, rid: int) -> bool:
        """``_get_default_privacy_domain``: public or confidential, the user's own, or no
        privacy in a calendar not private by default (attendance does not count)."""
        row = self.db.row(self._name, rid) or {}
        if row.get("privacy") in ("public", "confidential") or row.get("user_id") == env.uid:
            return True
        return not row.get("privacy") and not self._private_by_default(row)

    def check_rules(self, env: Env, operation: str, ids: Sequence[int]) -> None:
        """No write/unlink (or create) on others' private events [39]; no write on others'
        events of a calendar private by default.

        The ir.rule ``calendar_event_rule_private`` (addons/calendar/security) covers
        privacy ``private`` only; ``Meeting.write`` adds ``_check_private_event_conditions``
        (default privacy included). So an ordinary user may *unlink* an event of a
        private-by-default calendar it cannot read: the real 18.0 server let him.
        """
        if env.su:
            return
        for rid in ids:
            row = self.db.row(self._name, rid)
            if row is None or not self._stranger(env, row):  # no user_id: the rule applies too
                continue
            if row.get("privacy") == "private" or (
                operation == "write" and self._private_by_default(row)
            ):
                raise record_rule_error(
                    env.user_name, env.uid, operation, self.spec.description, self._name
                )

    # -- default_get and copy ----------------------------------------------------------------

    def rpc_defaults(self, env: Env) -> dict[str, Any]:
        """What real 18.0 answered ``default_get`` for every field (bob, no context)."""
        start = default_start(env.now.replace(microsecond=0))
        return {
            "user_id": env.uid,
            "show_as": "busy",
            "active": True,
            "start": format_datetime(start),
            "stop": format_datetime(start + timedelta(hours=1)),
            "allday": False,
            "partner_ids": [[6, 0, [env.partner_id]]],
            "follow_recurrence": False,
            "recurrence_update": "self_only",
        }

    @api_multi
    def copy(self, env: Env, ids: list[int], default: Any = None) -> Any:
        """``Meeting.copy``: one event; fresh attendees for the same partners; a series copied
        is a new series. Another user's masked event cannot be copied (real 18.0: the
        AccessError of a write)."""
        if len(ids) > 1:
            raise OdooValueError(
                f"Expected singleton: calendar.event({', '.join(str(i) for i in ids)})"
            )
        for rid in self.existing(ids):
            if self._masked(env, rid):
                raise record_rule_error(
                    env.user_name, env.uid, "write", self.spec.description, self._name
                )
        return super().copy(env, ids, default)

    def copy_data(self, env: Env, rid: int) -> dict[str, Any]:
        """The copied fields (``copy=True``), the times, and the series' rule when recurrent."""
        row = self.db.fetch(self._name, rid)
        values = self.copy_values(env, rid)
        values.update(
            {name: scalar_to_wire(self.spec.fields[name], row.get(name)) for name in TIME_FIELDS}
        )
        values["duration"] = row.get("duration")
        if row.get("recurrence_id"):
            values.update(env.recurrences.copy_values(row["recurrence_id"]))
        return {name: value for name, value in values.items() if value is not None}

    # -- value conversion --------------------------------------------------------------------

    def defaults(self, env: Env) -> dict[str, Any]:
        """Busy, active, not all-day, organised by the caller."""
        return {
            "active": True,
            "show_as": "busy",
            "allday": False,
            "recurrency": False,
            "follow_recurrence": False,
            "user_id": env.uid,
        }

    def convert_scalar(self, env: Env, field: Field, value: Any) -> Any:
        """HTML is sanitised on write [40]."""
        converted = super().convert_scalar(env, field, value)
        if field.type == "html" and isinstance(converted, str):
            return sanitize_html(converted)
        return converted

    def convert(
        self, env: Env, vals: Mapping[str, Any], rid: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Wire values plus the derived time columns (stop, duration, dates)."""
        row, x2many = super().convert(env, vals, rid)
        old = self.db.row(self._name, rid) if rid is not None else None
        row.update(self._time_columns(env, old or {}, row, vals, creating=old is None))
        if old is None:
            row.setdefault(
                "__messages",
                () if env.context.get("mail_create_nolog") else (env.db.next_id("mail.message"),),
            )
            row.setdefault("__followers", ((env.db.next_id("mail.followers"), env.partner_id),))
            row.setdefault("__attachments", 0)
        return row, x2many

    def _time_columns(
        self,
        env: Env,
        old: Mapping[str, Any],
        row: Mapping[str, Any],
        vals: Mapping[str, Any],
        *,
        creating: bool,
    ) -> dict[str, Any]:
        """``start``/``stop``/``duration`` and the all-day dates after a create or a write.

        addons/calendar/models/calendar_event.py (18.0): at create, ``start`` and ``stop``
        take their field defaults when absent (``_default_start``: now rounded up to the
        half hour; ``_default_stop``: that plus one hour), whatever else is given, so a
        create with a ``start`` and no ``stop`` stops at the default (real 18.0 then
        refused a future start: "The ending date and time cannot be earlier ...").
        ``_compute_stop`` (start + duration, minus one second all day) runs only on a
        write of ``start`` or ``duration`` without ``stop``. ``_inverse_dates`` sets
        08:00 and 18:00 from ``start_date``/``stop_date``, each falling back to
        ``start``/``stop``: an all-day create with only ``stop_date`` starts on the
        default start's day. A ``duration`` given is stored as given.
        """
        state = {**old, **row}
        out: dict[str, Any] = {}
        allday = bool(state.get("allday"))
        if creating:
            default = default_start(env.now.replace(microsecond=0))
            if state.get("start") is None:
                out["start"] = default
            if state.get("stop") is None:
                out["stop"] = default + timedelta(hours=1)
        elif (
            state.get("start") is not None
            and "stop" not in row
            and ("start" in row or "duration" in vals)
        ):
            hours = vals.get("duration") if "duration" in vals else old.get("duration")
            stop = state["start"] + timedelta(minutes=round((hours or 1.0) * 60))
            out["stop"] = stop - timedelta(seconds=1) if allday else stop
        if allday and ("start_date" in vals or "stop_date" in vals):
            first = state.get("start_date") or out.get("start", state.get("start"))
            last = state.get("stop_date") or out.get("stop", state.get("stop"))
            if first is not None and last is not None:
                out["start"] = datetime.combine(_day(first), time(8))
                out["stop"] = datetime.combine(_day(last), time(18))
        start = out.get("start", state.get("start"))
        stop = out.get("stop", state.get("stop"))
        if start is not None and stop is not None:
            if "duration" not in vals:
                out["duration"] = round((stop - start).total_seconds() / 3600, 2)
            # _compute_dates runs when allday, start or stop change; a date written
            # alongside them is kept as written, even on a timed event (the
            # "following"/"all events" paths write the shifted dates: [series edits]).
            if creating or {"allday", "start", "stop"} & (set(vals) | set(out)):
                for name, moment in (("start_date", start), ("stop_date", stop)):
                    kept = name in vals and not allday
                    out[name] = row.get(name) if kept else (moment.date() if allday else None)
        return out

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """The closing-date constraint [29]."""
        for rid in ids:
            row = self.db.row(self._name, rid)
            assert row is not None
            start, stop = row.get("start"), row.get("stop")
            if not row.get("allday") and start and stop and stop < start:
                raise ValidationError(
                    "The ending date and time cannot be earlier than the starting date and time.\n"
                    f"Meeting “{row.get('name')}” starts at {start} and ends at {stop}"
                )
            if (
                row.get("allday")
                and row.get("start_date")
                and row.get("stop_date")
                and row["stop_date"] < row["start_date"]
            ):
                raise ValidationError(
                    "The ending date cannot be earlier than the starting date.\n"
                    f"Meeting “{row.get('name')}” starts on {row['start_date']} "
                    f"and ends on {row['stop_date']}"
                )

    def _videocall(self, env: Env, vals: dict[str, Any]) -> None:
        """A relative meeting URL is made absolute with the server's base URL [40]."""
        value = vals.get("videocall_location")
        if not value or not isinstance(value, str):
            return
        parts = urlsplit(value)
        if parts.scheme in ("http", "https"):
            return
        base = urlsplit(self.registry.settings.base_url)
        path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
        query = f"?{parts.query}" if parts.query else ""
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        vals["videocall_location"] = f"{base.scheme}://{base.netloc}{path}{query}{fragment}"

    # -- attendees ---------------------------------------------------------------------------

    def attendee_commands(self, env: Env, rid: int | None, partner_commands: Any) -> list[Any]:
        """Attendee commands for partner commands (Odoo's ``_attendees_values``)."""
        current = (
            list(self.db.fetch(self._name, rid).get("partner_ids") or ()) if rid is not None else []
        )
        if partner_commands and isinstance(partner_commands[0], int):
            partner_commands = [(6, 0, list(partner_commands))]
        removed: list[int] = []
        added: list[int] = []
        for command in partner_commands or ():
            op = command[0]
            if op in (2, 3):
                removed.append(int(command[1]))
            elif op == 6:
                wanted = [int(item) for item in command[2]]
                removed += added_in_set_order(current, wanted)
                added += added_in_set_order(wanted, current)
            elif op == 4 and int(command[1]) not in current:
                added.append(int(command[1]))
        commands: list[Any] = []
        if rid is not None and removed:
            attendees = env.attendees
            for aid in attendees.all_ids(env):
                row = attendees.db.row("calendar.attendee", aid)
                if row is not None and row["event_id"] == rid and row["partner_id"] in removed:
                    commands.append((2, aid))
        commands += [(0, 0, {"partner_id": partner}) for partner in added]
        return commands

    def attendee_ids_of(self, env: Env, ids: Sequence[int]) -> list[int]:
        """Attendee ids of events, in attendee order."""
        return [
            aid
            for rid in ids
            if self.db.exists(self._name, rid)
            for aid in self.value(env, rid, "attendee_ids", real=True)
        ]

    def subscribe(self, env: Env, rid: int, partner: int) -> None:
        """Make an attendee's partner a follower (not the current user: already one)."""
        row = self.db.row(self._name, rid)
        if row is None or partner == env.partner_id:
            return
        followers = tuple(row.get("__followers") or ())
        if partner not in {item[1] for item in followers}:
            added = (*followers, (env.db.next_id("mail.followers"), partner))
            self.db.update(self._name, rid, {"__followers": added}, move=False)

    def send_mails(self, env: Env, attendee_ids: Sequence[int], kind: str) -> None:
        """Log what Odoo would mail these attendees (not the caller, not without e-mail)."""
        if env.context.get("no_mail_to_attendees"):
            return
        attendees = env.attendees
        for aid in attendee_ids:
            row = attendees.db.row("calendar.attendee", aid)
            if row is None or row["partner_id"] == env.partner_id:
                continue
            partner = self.db.row("res.partner", row["partner_id"])
            event = self.db.row(self._name, row["event_id"])
            if partner is None or event is None or not partner.get("email"):
                continue
            name = event.get("name") or ""
            subject = f"Invitation to {name}" if kind == INVITATION else f"{name}: Date updated"
            env.mails.append(
                OdooMail(kind, partner["email"], row["event_id"], subject, row["partner_id"])
            )
            count = (event.get("__attachments") or 0) + 1
            self.db.update(self._name, row["event_id"], {"__attachments": count}, move=False)

    # -- create ------------------------------------------------------------------------------

    def create_from_rpc(self, env: Env, vals_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """Odoo's ``calendar.event.create``."""
        self.check_field_names([name for vals in vals_list for name in vals])
        prepared = [self._prepare_create(env, dict(vals)) for vals in vals_list]
        recurring = [vals for vals in prepared if vals.get("recurrency")]
        others = [vals for vals in prepared if not vals.get("recurrency")]
        ids = self._insert(env, others)
        for vals in recurring:
            vals["follow_recurrence"] = True
        series = self._insert(env, recurring)
        for rid, vals in zip(series, recurring, strict=True):
            values = {name: vals[name] for name in RECURRENT_FIELDS if name in vals}
            detached = self.apply_recurrence_values(env, [rid], values)
            if detached:
                self.write_from_rpc(env, detached, {"active": False})
        created = ids + series
        future = [rid for rid in created if self.db.fetch(self._name, rid)["start"] > env.now]
        self.send_mails(env, self.attendee_ids_of(env, future), INVITATION)
        return created

    def _prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        vals.setdefault("user_id", env.uid)
        self._videocall(env, vals)
        if not vals.get("attendee_ids"):
            vals["attendee_ids"] = self.attendee_commands(
                env, None, vals.get("partner_ids", [(4, env.partner_id)])
            )
        vals.setdefault("partner_ids", [(4, env.partner_id)])
        return vals

    def _insert(self, env: Env, vals_list: list[dict[str, Any]]) -> list[int]:
        """``super().create``: rows and attendees, no series logic."""
        if not vals_list:
            return []
        ids = self.create_records(env, vals_list)
        for rid in ids:
            for aid in self.value(env, rid, "attendee_ids", real=True):
                partner = self.db.fetch("calendar.attendee", aid)["partner_id"]
                self.subscribe(env, rid, partner)
        return ids

    # -- write -------------------------------------------------------------------------------

    def write_plain(self, env: Env, ids: Sequence[int], vals: Mapping[str, Any]) -> None:
        """``super().write``: columns, derived times and attendees, no series logic."""
        for rid in ids:
            values = dict(vals)
            if "partner_ids" in values:
                values["attendee_ids"] = self.attendee_commands(env, rid, values["partner_ids"])
            self.write_records(env, [rid], values)
            for aid in self.value(env, rid, "attendee_ids", real=True):
                self.subscribe(env, rid, self.db.fetch("calendar.attendee", aid)["partner_id"])

    def write_from_rpc(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        """Odoo's ``calendar.event.write`` with its ``recurrence_update`` modes."""
        self.check_field_names(vals)
        if not ids:
            return
        setting = vals.pop("recurrence_update", None)  # from the caller's dict, as Odoo does
        vals = dict(vals)
        single = len(ids) == 1
        recurrence = self.db.fetch(self._name, ids[0]).get("recurrence_id") if single else None
        update_recurrence = (
            setting in ("all_events", "future_events") and single and bool(recurrence)
        )
        break_recurrence = vals.get("recurrency") is False
        if any(name in RECURRENT_FIELDS for name in vals) and not (
            update_recurrence or vals.get("recurrency")
        ):
            raise UserError('Unable to save the recurrence with "This Event"')
        self._videocall(env, vals)
        update_time = any(vals.get(name) for name in TIME_FIELDS)
        if (
            (not setting or (setting == "self_only" and single))
            and "follow_recurrence" not in vals
            and update_time
        ):
            vals["follow_recurrence"] = False
        previous = set(self.attendee_ids_of(env, ids))
        rec_values = {name: vals.pop(name) for name in list(vals) if name in RECURRENT_FIELDS}
        base = (
            self.db.fetch("calendar.recurrence", recurrence).get("base_event_id")
            if recurrence
            else None
        )
        future_edge = setting == "future_events" and single and base == ids[0]
        detached: list[int] = []
        if update_recurrence:
            detached += self._update_series(
                env,
                ids[0],
                setting=setting,
                vals=vals,
                rec_values=rec_values,
                future_edge=future_edge,
                break_recurrence=break_recurrence,
            )
        else:
            self.write_plain(env, ids, vals)
        if setting not in ("self_only", "all_events") and not future_edge and not break_recurrence:
            detached += self.apply_recurrence_values(
                env, ids, rec_values, future=setting == "future_events"
            )
        self._finish_detached(env, ids, detached)
        self._after_rpc_write(env, ids, vals, previous, update_time)

    def _update_series(
        self,
        env: Env,
        rid: int,
        *,
        setting: str | None,
        vals: dict[str, Any],
        rec_values: dict[str, Any],
        future_edge: bool,
        break_recurrence: bool,
    ) -> list[int]:
        if break_recurrence:
            return self._break_recurrence(env, [rid], future=setting == "future_events")
        time_values = {name: vals.pop(name) for name in list(vals) if name in TIME_FIELDS}
        vals.pop("access_token", None)
        if setting == "all_events" or future_edge:
            self._rewrite_recurrence(env, rid, vals, time_values, rec_values)
        else:
            self._update_future_events(env, rid, vals, time_values, rec_values)
        return []

    def _finish_detached(self, env: Env, ids: list[int], detached: list[int]) -> None:
        own = [
            rid for rid in dict.fromkeys(detached) if rid in ids and self.db.exists(self._name, rid)
        ]
        others = [
            rid
            for rid in dict.fromkeys(detached)
            if rid not in ids and self.db.exists(self._name, rid)
        ]
        if own:
            self.write_from_rpc(env, own, {"active": False})
        if others:
            self.unlink_from_rpc(env, others)

    def _after_rpc_write(
        self,
        env: Env,
        ids: list[int],
        vals: Mapping[str, Any],
        previous: set[int],
        update_time: bool,
    ) -> None:
        alive = [rid for rid in ids if self.db.exists(self._name, rid)]
        if update_time:
            self._reset_organizer_answer(env, alive)
        current = [
            aid
            for rid in alive
            if self.db.fetch(self._name, rid).get("active")
            for aid in self.value(env, rid, "attendee_ids", real=True)
        ]
        if "partner_ids" in vals:
            fresh = [
                aid
                for aid in current
                if aid not in previous and self._event_start_of(aid) >= env.now
            ]
            self.send_mails(env, fresh, INVITATION)
        if not env.context.get("is_calendar_event_new") and "start" in vals:
            start = to_datetime(vals["start"])
            if start is not None and start >= env.now:
                self.send_mails(env, [aid for aid in current if aid in previous], DATE_UPDATED)
        if vals.get("active") is False:
            recurrences = env.recurrences
            hit = recurrences.with_base_in(env, ids)
            recurrences.select_new_base(env, hit)

    def _event_start_of(self, attendee_id: int) -> datetime:
        event_id = self.db.fetch("calendar.attendee", attendee_id)["event_id"]
        start: datetime = self.db.fetch(self._name, event_id)["start"]
        return start

    def _reset_organizer_answer(self, env: Env, ids: list[int]) -> None:
        """Another user moving the event puts the organiser's answer back to needsAction."""
        attendees = env.attendees
        for rid in ids:
            organizer = self.db.fetch(self._name, rid).get("user_id")
            if not organizer or organizer == env.uid:
                continue
            partner = self.db.fetch("res.users", organizer)["partner_id"]
            hits = [
                aid
                for aid in self.value(env, rid, "attendee_ids", real=True)
                if attendees.db.fetch(attendees.name, aid)["partner_id"] == partner
            ]
            if hits:
                attendees.write_records(env, hits, {"state": "needsAction"})

    # -- series operations -------------------------------------------------------------------

    def apply_recurrence_values(
        self, env: Env, ids: Sequence[int], values: Mapping[str, Any], *, future: bool = True
    ) -> list[int]:
        """Create a series for events without one; with ``future``, split existing ones."""
        if not values:
            return []
        check_zone(values.get("event_tz") or env.tz)
        recurrences = env.recurrences
        new_vals = []
        to_update = []
        for rid in ids:
            recurrence = self.db.fetch(self._name, rid).get("recurrence_id")
            if not recurrence:
                new_vals.append({**values, "base_event_id": rid, "calendar_event_ids": [(4, rid)]})
            elif future:
                to_update.append(recurrences.split_from(env, recurrence, rid, values))
        self.write_plain(env, ids, {"recurrency": True, "follow_recurrence": True})
        created = recurrences.create_records(
            env, [self._recurrence_vals(env, vals) for vals in new_vals]
        )
        detached = recurrences.apply(env, to_update + created)
        recurrences.parse_unstarted(env, created)
        return detached

    def _recurrence_vals(self, env: Env, vals: Mapping[str, Any]) -> dict[str, Any]:
        """Recurrence field values as the recurrence model stores them."""
        out = {}
        for name, value in vals.items():
            if (
                name in ("base_event_id", "calendar_event_ids", "rrule")
                or name in env.recurrences.spec.fields
            ):
                out[name] = value
        return out

    def copy_values(self, env: Env, rid: int) -> dict[str, Any]:
        """``copy_data``: what the occurrences of a series inherit from the base event."""
        row = self.db.row(self._name, rid)
        assert row is not None
        values: dict[str, Any] = {}
        for name in COPIED:
            field = self.spec.fields[name]
            if field.x2many:
                values[name] = [
                    (6, 0, self.x2many_ids(env.with_context(active_test=False), rid, name))
                ]
            else:
                value = row.get(name)
                values[name] = value if value is not None else False
        return values

    def recurrence_params(self, env: Env, day: Any) -> dict[str, Any]:
        """``_get_recurrence_params_by_date``: weekday, position and day of a date."""
        field = WEEKDAY_FIELDS[day.weekday()]
        return {
            field: True,
            "weekday": field.upper(),
            "byday": str(weekday_occurrence(day)),
            "day": day.day,
        }

    def _start_date(self, env: Env, rid: int) -> Any:
        """The event's start date in its series' zone (``_get_start_date``)."""
        row = self.db.row(self._name, rid)
        assert row is not None
        tz = self._recurrence_values(env, rid, True).get("event_tz")
        start: datetime = row["start"]
        if row.get("recurrency") and tz:
            moment = start.replace(hour=12) if row.get("allday") else start
            return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()
        return start.date()

    def _time_update(
        self, env: Env, rid: int, base: int, time_values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``_get_time_update_dict``: shift the base event by the edited event's move."""
        me = self.db.row(self._name, rid)
        ref = self.db.row(self._name, base)
        assert me is not None
        assert ref is not None
        start_update = to_datetime(time_values.get("start"))
        stop_update = to_datetime(time_values.get("stop"))
        update: dict[str, Any] = {}
        if start_update:
            shift = start_update - me["start"]
            days = start_update.date() - me["start"].date()
            update = {
                "start": ref["start"] + shift,
                "start_date": ref["start"].date() + days,
                "stop": ref["stop"] + shift,
                "stop_date": ref["stop"].date() + days,
            }
        if stop_update:
            shift = stop_update - me["stop"]
            days = stop_update.date() - me["stop"].date()
            if not start_update:
                update.update(start=ref["start"] + shift, start_date=ref["start"].date() + days)
            update.update(stop=ref["stop"] + shift, stop_date=ref["stop"].date() + days)
        return update

    def _updated_recurrence_values(self, env: Env, rid: int, new_start: Any) -> dict[str, Any]:
        """The series' rule, without the old start's weekday when the weekday changes."""
        row = self.db.row(self._name, rid)
        assert row is not None
        values = env.recurrences.copy_values(row["recurrence_id"])
        if row["start"].weekday() != new_start.weekday():
            values.pop(WEEKDAY_FIELDS[row["start"].weekday()], None)
        return values

    def _update_future_events(
        self,
        env: Env,
        rid: int,
        vals: dict[str, Any],
        time_values: dict[str, Any],
        rec_values: dict[str, Any],
    ) -> None:
        """``future_events``: trim the series here, archive what follows, start anew [15]."""
        time_values.update(self._time_update(env, rid, rid, time_values))
        row = self.db.row(self._name, rid)
        assert row is not None
        start_day = _new_start(time_values, row).date()
        previous = self._updated_recurrence_values(env, rid, start_day)
        detached = env.recurrences.stop_at(env, row["recurrence_id"], rid)
        archived = [eid for eid in detached if eid != rid]
        if archived:
            self.write_from_rpc(env, archived, {"active": False})
        if vals or time_values:
            self.write_from_rpc(env, [rid], {**time_values, **vals})
            if time_values:
                self._reset_attendees(env, rid)
        new_values = {
            **previous,
            **self.recurrence_params(env, start_day),
            **rec_values,
            "count": rec_values.get("count", 0) or len(detached),
        }
        new_values.pop("rrule", None)
        self.apply_recurrence_values(env, [rid], new_values)

    def _rewrite_recurrence(
        self,
        env: Env,
        rid: int,
        vals: dict[str, Any],
        time_values: dict[str, Any],
        rec_values: dict[str, Any],
    ) -> None:
        """``all_events``: in place, or rebuilt around the base on a time/rule change [16, 31]."""
        recurrences = env.recurrences
        recurrence = self.db.fetch(self._name, rid)["recurrence_id"]
        base = recurrences.db.fetch(recurrences.name, recurrence).get(
            "base_event_id"
        ) or recurrences.first_event(env, recurrence)
        if not base:
            raise UserError("You can't update a recurrence without base event.")
        time_values.update(self._time_update(env, rid, base, time_values))
        if not (time_values or rec_values):
            recurrences.write_events(env, recurrence, vals)
            return
        row = self.db.row(self._name, rid)
        assert row is not None
        start_day = _new_start(time_values, row).date()
        old_values = self._updated_recurrence_values(env, rid, start_day)
        self.write_from_rpc(env, recurrences.event_ids(env, recurrence), {"active": False})
        recurrences.unlink_records(env, [recurrence])
        self.write_from_rpc(
            env, [base], {"active": True, "recurrence_id": False, **vals, **time_values}
        )
        if time_values:
            self._reset_attendees(env, base)
        new_values = {
            **old_values,
            **self.recurrence_params(env, self._start_date(env, base)),
            **rec_values,
        }
        new_values.pop("rrule", None)
        detached = self.apply_recurrence_values(env, [base], new_values)
        if detached:
            self.write_from_rpc(env, detached, {"active": False})

    def _break_recurrence(self, env: Env, ids: list[int], *, future: bool) -> list[int]:
        """``recurrency: false``: detach (and with all_events delete the series) [32]."""
        recurrences = env.recurrences
        detached: list[int] = []
        doomed = []
        for rid in ids:
            recurrence = self.db.fetch(self._name, rid)["recurrence_id"]
            if future:
                detached += recurrences.stop_at(env, recurrence, rid)
            else:
                members = recurrences.event_ids(env, recurrence)
                detached += members
                self.write_plain(env, members, {"recurrence_id": False})
                doomed.append(recurrence)
        if doomed:
            recurrences.unlink_records(
                env, [rec for rec in doomed if recurrences.db.exists(recurrences.name, rec)]
            )
        return [rid for rid in detached if rid not in ids]

    def _reset_attendees(self, env: Env, rid: int) -> None:
        attendees = env.attendees
        for aid in self.value(env, rid, "attendee_ids", real=True):
            mine = attendees.db.fetch(attendees.name, aid)["partner_id"] == env.partner_id
            attendees.write_records(env, [aid], {"state": "accepted" if mine else "needsAction"})

    # -- unlink ------------------------------------------------------------------------------

    def unlink_from_rpc(self, env: Env, ids: list[int]) -> None:
        """Delete events; a deleted base event is replaced by the next occurrence [19]."""
        recurrences = env.recurrences
        hit = recurrences.with_base_in(env, ids)
        self.unlink_records(env, ids)
        recurrences.select_new_base(env, hit)

    @api_multi
    def action_mass_deletion(self, env: Env, ids: list[int], recurrence_update_setting: Any) -> Any:
        """Delete a whole series (and its recurrence) or its future part [20]; returns nothing."""
        rid = self._ensure_one(ids)
        recurrences = env.recurrences
        recurrence = self.db.fetch(self._name, rid).get("recurrence_id")
        if recurrence_update_setting == "all_events":
            members = recurrences.event_ids(env, recurrence) if recurrence else []
            if recurrence:
                recurrences.unlink_records(env, [recurrence])
            self.check_rules(env, "unlink", members)
            self.unlink_from_rpc(env, members)
        elif recurrence_update_setting == "future_events" and recurrence:
            start = self.db.fetch(self._name, rid)["start"]
            members = recurrences.events_from(env, recurrence, start)
            self.check_rules(env, "unlink", members)
            self.unlink_from_rpc(env, members)
        return None

    @api_multi
    def action_mass_archive(self, env: Env, ids: list[int], recurrence_update_setting: Any) -> Any:
        """Archive a whole series, its future part, or one event."""
        rid = self._ensure_one(ids)
        recurrences = env.recurrences
        recurrence = self.db.fetch(self._name, rid).get("recurrence_id")
        if recurrence_update_setting == "all_events" and recurrence:
            self.write_from_rpc(env, recurrences.event_ids(env, recurrence), {"active": False})
        elif recurrence_update_setting == "future_events" and recurrence:
            self.write_from_rpc(env, recurrences.stop_at(env, recurrence, rid), {"active": False})
        elif recurrence_update_setting == "self_only":
            self.write_from_rpc(env, [rid], {"active": False, "recurrence_update": "self_only"})
        return None

    @api_multi
    def change_attendee_status(
        self, env: Env, ids: list[int], status: Any, recurrence_update_setting: Any
    ) -> Any:
        """The web client's answer to an invitation (the calendar popover's buttons).

        ``Meeting.change_attendee_status`` (addons/calendar/models/calendar_event.py):
        the current user's attendee rows of this event, of its whole series
        (``all_events``) or of the occurrences from this one on
        (``future_events``) take ``status`` through ``do_accept`` / ``do_decline`` /
        ``do_tentative`` (any other status is tentative); they answer ``write``'s True.
        """
        rid = self._ensure_one(ids)
        recurrence = self.db.fetch(self._name, rid).get("recurrence_id")
        events = [rid]
        if recurrence and recurrence_update_setting == "all_events":
            events = env.recurrences.event_ids(env, recurrence)
        elif recurrence and recurrence_update_setting == "future_events":
            start = self.db.fetch(self._name, rid)["start"]
            events = env.recurrences.events_from(env, recurrence, start)
        attendees = env.attendees
        mine = [
            aid
            for event in events
            for aid in self.value(env, event, "attendee_ids", real=True)
            if attendees.db.fetch(attendees.name, aid)["partner_id"] == env.partner_id
        ]
        state = status if status in ("accepted", "declined") else "tentative"
        attendees.write_records(env, mine, {"state": state})
        return True

    def _ensure_one(self, ids: list[int]) -> int:
        if len(ids) != 1:
            raise OdooValueError(f"Expected singleton: {self._name}({', '.join(map(str, ids))})")
        self.ensure_exist_quiet(ids)
        return ids[0]

    def ensure_exist_quiet(self, ids: list[int]) -> None:
        """MissingError when an id is gone (as any record access would raise)."""
        missing = [rid for rid in ids if not self.db.exists(self._name, rid)]
        if missing:
            from calsync.testing._odoo._errors import missing_error

            raise missing_error(self._name, missing, 0)

    # -- computed fields ---------------------------------------------------------------------

    def _compute_partner_id(self, env: Env, rid: int, real: bool) -> Any:
        user = self.value(env, rid, "user_id", real=real)
        row = self.db.row("res.users", user) if user else None
        return row["partner_id"] if row else None

    def _compute_display_name(self, env: Env, rid: int, real: bool) -> Any:
        return self.value(env, rid, "name", real=real) or ""

    def display_name(self, env: Env, rid: int, *, real: bool = False) -> str:
        """The name, or "Busy" for a private event of someone else."""
        return str(self.value(env, rid, "display_name", real=real) or "")

    def _compute_display_time(self, env: Env, rid: int, real: bool) -> Any:
        row = self.db.row(self._name, rid)
        assert row is not None
        partner = self.db.row("res.partner", env.partner_id)
        tz = env.tz or (partner.get("tz") if partner else None) or "UTC"
        start = row["start"].replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
        stop = row["stop"].replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
        day, hour = start.strftime("%m/%d/%Y"), start.strftime("%H:%M:%S")
        if row.get("allday"):
            return f"All Day, {day}"
        duration = row.get("duration") or 0.0
        if duration < 24:
            end = start + timedelta(minutes=round(duration * 60))
            return f"{day} at ({hour} To {end.strftime('%H:%M:%S')}) ({tz})"
        end_day, end_hour = stop.strftime("%m/%d/%Y"), stop.strftime("%H:%M:%S")
        return f"{day} at {hour} To\n {end_day} at {end_hour} ({tz})"

    def _compute_videocall_source(self, env: Env, rid: int, real: bool) -> Any:
        location = self.value(env, rid, "videocall_location", real=real)
        return "discuss" if location and DISCUSS_ROUTE in location else "custom"

    def _compute_is_highlighted(self, env: Env, rid: int, real: bool) -> Any:
        return False

    def _attendee_rows(self, env: Env, rid: int, real: bool) -> list[tuple[int, Mapping[str, Any]]]:
        rows: list[tuple[int, Mapping[str, Any]]] = []
        for aid in self.value(env, rid, "attendee_ids", real=real) or ():
            row = self.db.row("calendar.attendee", aid)
            if row is not None:
                rows.append((aid, row))
        return rows

    def _compute_is_organizer_alone(self, env: Env, rid: int, real: bool) -> Any:
        organizer = self.value(env, rid, "partner_id", real=real)
        rows = self._attendee_rows(env, rid, real)
        others = [row for _aid, row in rows if row["partner_id"] != organizer]
        return len(rows) > 1 and not any(row.get("state") != "declined" for row in others)

    def _compute_current_attendee(self, env: Env, rid: int, real: bool) -> Any:
        for aid, row in self._attendee_rows(env, rid, real):
            if row["partner_id"] == env.partner_id:
                return aid
        return None

    def _compute_current_status(self, env: Env, rid: int, real: bool) -> Any:
        current = self.value(env, rid, "current_attendee", real=real)
        row = self.db.row("calendar.attendee", current) if current else None
        return row.get("state") if row else None

    def _compute_should_show_status(self, env: Env, rid: int, real: bool) -> Any:
        if not self.value(env, rid, "current_attendee", real=real):
            return False
        return any(
            row["partner_id"] != env.partner_id for _aid, row in self._attendee_rows(env, rid, real)
        )

    def _counts(self, env: Env, rid: int, real: bool) -> dict[str, int]:
        states = [row.get("state") for _aid, row in self._attendee_rows(env, rid, real)]
        total = len(self.value(env, rid, "partner_ids", real=real) or ())
        counts = {state: states.count(state) for state in ("accepted", "declined", "tentative")}
        return {"total": total, **counts, "awaiting": total - sum(counts.values())}

    def _compute_attendees_count(self, env: Env, rid: int, real: bool) -> Any:
        return self._counts(env, rid, real)["total"]

    def _compute_accepted_count(self, env: Env, rid: int, real: bool) -> Any:
        return self._counts(env, rid, real)["accepted"]

    def _compute_declined_count(self, env: Env, rid: int, real: bool) -> Any:
        return self._counts(env, rid, real)["declined"]

    def _compute_tentative_count(self, env: Env, rid: int, real: bool) -> Any:
        return self._counts(env, rid, real)["tentative"]

    def _compute_awaiting_count(self, env: Env, rid: int, real: bool) -> Any:
        return self._counts(env, rid, real)["awaiting"]

    def _compute_invalid_email_partner_ids(self, env: Env, rid: int, real: bool) -> Any:
        from calsync.testing._odoo._models._partner import email_normalize_all

        invalid = []
        for partner in self.value(env, rid, "partner_ids", real=real) or ():
            row = self.db.row("res.partner", partner)
            email = row.get("email") if row else None
            if not email or len(email_normalize_all(email)) != 1:
                invalid.append(partner)
        return tuple(invalid)

    def _compute_display_description(self, env: Env, rid: int, real: bool) -> Any:
        return not is_html_empty(self.value(env, rid, "description", real=real))

    def _compute_user_can_edit(self, env: Env, rid: int, real: bool) -> Any:
        partners = set(self.value(env, rid, "partner_ids", real=real) or ())
        editors = {
            uid
            for uid in self.db.ids("res.users")
            if self.db.fetch("res.users", uid)["partner_id"] in partners
        }
        organizer = self.value(env, rid, "user_id", real=real)
        if organizer:
            editors.add(organizer)
        if (
            env.has_group("Administration/Settings")
            and self.value(env, rid, "privacy", real=real) != "private"
        ):
            editors.add(env.uid)
        return env.uid in editors

    def _compute_res_model_name(self, env: Env, rid: int, real: bool) -> Any:
        return None

    def _compute_recurrence_update(self, env: Env, rid: int, real: bool) -> Any:
        return "self_only"

    # mail.thread fields: chatter records are not emulated beyond their ids

    def _hidden(self, rid: int, column: str) -> Any:
        row = self.db.row(self._name, rid)
        return row.get(column) if row else None

    def _compute_message_ids(self, env: Env, rid: int, real: bool) -> Any:
        return tuple(self._hidden(rid, "__messages") or ())

    def _compute_message_follower_ids(self, env: Env, rid: int, real: bool) -> Any:
        return tuple(item[0] for item in self._hidden(rid, "__followers") or ())

    def _compute_message_partner_ids(self, env: Env, rid: int, real: bool) -> Any:
        return tuple(item[1] for item in self._hidden(rid, "__followers") or ())

    def _compute_message_is_follower(self, env: Env, rid: int, real: bool) -> Any:
        return env.partner_id in (self.value(env, rid, "message_partner_ids", real=real) or ())

    def _compute_has_message(self, env: Env, rid: int, real: bool) -> Any:
        return bool(self._hidden(rid, "__messages"))

    def _compute_message_attachment_count(self, env: Env, rid: int, real: bool) -> Any:
        if not real and self._masked(env, rid):
            return 0
        return self._hidden(rid, "__attachments") or 0

    def _compute_activity_ids(self, env: Env, rid: int, real: bool) -> Any:
        return ()

    def _zero(self, env: Env, rid: int, real: bool) -> Any:
        return 0

    def _false(self, env: Env, rid: int, real: bool) -> Any:
        return False

    _compute_message_needaction = _false
    _compute_message_has_error = _false
    _compute_message_has_sms_error = _false
    _compute_message_needaction_counter = _zero
    _compute_message_has_error_counter = _zero

    # recurrence pseudo-fields (Odoo's ``_compute_recurrence``)

    def _recurrence_values(self, env: Env, rid: int, real: bool) -> dict[str, Any]:
        if not self.value(env, rid, "recurrency", real=real):
            return {}
        row = self.db.row(self._name, rid)
        assert row is not None
        defaults: dict[str, Any] = {
            **_RECURRENCE_DEFAULTS,
            "event_tz": env.tz or env.user.get("tz"),
        }
        stored = (
            self.db.row("calendar.recurrence", row["recurrence_id"])
            if row.get("recurrence_id")
            else None
        )
        rule = (
            {name: stored.get(name) for name in RECURRENT_FIELDS if stored and stored.get(name)}
            if stored
            else {}
        )
        rule = rule or dict(defaults)
        rule["rrule_type"] = rule.get("rrule_type") or defaults["rrule_type"]
        tz = rule.get("event_tz") or defaults["event_tz"]
        start = row["start"]
        if tz:
            moment = start.replace(hour=12) if row.get("allday") else start
            start = moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
        return {**defaults, **self.recurrence_params(env, start.date()), **rule}

    def _compute_rrule_type_ui(self, env: Env, rid: int, real: bool) -> Any:
        values = self._recurrence_values(env, rid, real)
        if not values:
            return None
        return "custom" if values.get("interval") != 1 else values.get("rrule_type")


def _pseudo_compute(fname: str) -> Any:
    """The compute of one recurrence pseudo-field (``rrule_type``, ``mon``, ...)."""

    def compute(self: CalendarEvent, env: Env, rid: int, real: bool) -> Any:
        return self._recurrence_values(env, rid, real).get(fname)

    compute.__doc__ = f"The event's ``{fname}``, taken from its recurrence (or the defaults)."
    return compute


for _fname in sorted(RECURRENT_FIELDS):
    setattr(CalendarEvent, f"_compute_{_fname}", _pseudo_compute(_fname))
