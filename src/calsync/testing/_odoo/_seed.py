"""The content of a fresh database with the ``calendar`` module and no demo data.

Ids are the ones the recordings show or imply, so that replayed ids line up:
partners 1-6 exist (the first new partner is 7 [05, 38]), users 1-5 (the first
new user is 6 [39]), the admin is user 2 with partner 3 "Administrator"
(``admin@example.com``) [04, 39], the seven shipped alarms are 1-7 [36], the
e-mail reminder template is 8 [36], and a fresh install holds 19,372 external
ids (the first new one is 19373 [35]). Records the recordings never show
(public and template users, most groups) are placeholders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsync.testing._odoo._models import Env

__all__ = ["ADMIN_GROUPS", "seed"]

_PARTNERS: tuple[dict[str, Any], ...] = (
    {"name": "My Company", "is_company": True, "email": "info@yourcompany.com"},
    {"name": "OdooBot", "email": "odoobot@example.com", "active": False},
    {"name": "Administrator", "email": "admin@example.com"},
    {"name": "Public user", "active": False},
    {"name": "Default User Template", "active": False},
    {"name": "Portal User Template", "active": False},
)
_GROUPS: tuple[tuple[str, str], ...] = (
    ("User types", "Internal User"),
    ("User types", "Portal"),
    ("User types", "Public"),
    ("Administration", "Access Rights"),
    ("Administration", "Settings"),
    ("Extra Rights", "Multi Currencies"),
    ("Extra Rights", "Technical Features"),
    ("Technical", "Access to export feature"),
    ("Extra Rights", "Contact Creation"),
)
#: Languages (code, name, week start, active), ids and week starts as a real 18.0 server
#: lists them: en_US is the installed one; the others (inactive) show other week starts.
_LANGUAGES: tuple[tuple[int, str, str, str, bool], ...] = (
    (1, "en_US", "English (US)", "7", True),
    (3, "ar_001", "Arabic / الْعَرَبيّة", "6", False),
    (18, "nl_BE", "Dutch (BE) / Nederlands (BE)", "1", False),
    (20, "en_AU", "English (AU)", "7", False),
    (22, "en_GB", "English (UK)", "1", False),
    (27, "fr_BE", "French (BE) / Français (BE)", "1", False),
    (30, "fr_FR", "French / Français", "1", False),
    (33, "de_DE", "German / Deutsch", "1", False),
)
ADMIN_GROUPS = (1, 4, 5, 7, 8, 9)
_ADMIN = {"_access_admin": True, "_settings_admin": True}
_USERS: tuple[dict[str, Any], ...] = (
    {
        "login": "__system__",
        "partner_id": 2,
        "active": False,
        "groups_id": [(6, 0, list(ADMIN_GROUPS))],
        **_ADMIN,
    },
    {"login": "admin", "partner_id": 3, "groups_id": [(6, 0, list(ADMIN_GROUPS))], **_ADMIN},
    {
        "login": "public",
        "partner_id": 4,
        "active": False,
        "share": True,
        "groups_id": [(6, 0, [3])],
    },
    {"login": "default", "partner_id": 5, "active": False, "groups_id": [(6, 0, [1])]},
    {
        "login": "portaltemplate",
        "partner_id": 6,
        "active": False,
        "share": True,
        "groups_id": [(6, 0, [2])],
    },
)
_ALARMS: tuple[tuple[str, str, int, str], ...] = (
    ("Notification - 15 Minutes", "notification", 15, "minutes"),
    ("Notification - 30 Minutes", "notification", 30, "minutes"),
    ("Notification - 1 Hours", "notification", 1, "hours"),
    ("Notification - 2 Hours", "notification", 2, "hours"),
    ("Notification - 1 Days", "notification", 1, "days"),
    ("Email - 3 Hours", "email", 3, "hours"),
    ("Email - 6 Hours", "email", 6, "hours"),
)
_XMLIDS: tuple[tuple[str, str, str, int], ...] = (
    ("base", "main_partner", "res.partner", 1),
    ("base", "partner_root", "res.partner", 2),
    ("base", "partner_admin", "res.partner", 3),
    ("base", "public_partner", "res.partner", 4),
    ("base", "user_root", "res.users", 1),
    ("base", "user_admin", "res.users", 2),
    ("base", "public_user", "res.users", 3),
    ("base", "group_user", "res.groups", 1),
    ("base", "group_portal", "res.groups", 2),
    ("base", "group_public", "res.groups", 3),
    ("base", "group_erp_manager", "res.groups", 4),
    ("base", "group_system", "res.groups", 5),
    ("base", "group_no_one", "res.groups", 7),
    ("base", "group_allow_export", "res.groups", 8),
    ("base", "group_partner_manager", "res.groups", 9),
    *(("calendar", f"alarm_notif_{index}", "calendar.alarm", index) for index in range(1, 6)),
    ("calendar", "alarm_mail_1", "calendar.alarm", 6),
    ("calendar", "alarm_mail_2", "calendar.alarm", 7),
    ("calendar", "calendar_template_meeting_reminder", "mail.template", 8),
    ("base", "main_company", "res.company", 1),
)
FIRST_NEW_XMLID = 19373


def seed(env: Env, admin_password: str) -> None:
    """Fill a new database (``env`` is a superuser environment at install time)."""
    db = env.db
    env.model("res.partner").create_records(env, list(_PARTNERS))
    env.model("res.company").create_records(
        env, [{"name": "My Company", "partner_id": 1, "sequence": 0, "phone": ""}]
    )
    groups = env.model("res.groups")
    groups.create_records(
        env, [{"name": name, "_category": category} for category, name in _GROUPS]
    )
    languages = env.model("res.lang")
    for rid, code, name, week_start, active in _LANGUAGES:
        db.set_next_id("res.lang", rid)
        languages.create_records(
            env, [{"code": code, "name": name, "week_start": week_start, "active": active}]
        )
    users = env.model("res.users")
    users.create_records(env, [dict(user) for user in _USERS])
    db.update("res.users", 2, {"_password": admin_password}, move=False)
    env.model("calendar.alarm").create_records(
        env,
        [
            {"name": name, "alarm_type": kind, "duration": duration, "interval": unit}
            for name, kind, duration, unit in _ALARMS
        ],
    )
    db.set_next_id("mail.template", 8)
    env.model("mail.template").create_records(env, [{"name": "Calendar: Reminder"}])
    env.model("ir.model.data").create_records(
        env,
        [
            {"module": module, "name": name, "model": model, "res_id": res_id, "noupdate": True}
            for module, name, model, res_id in _XMLIDS
        ],
    )
    db.set_next_id("ir.model.data", FIRST_NEW_XMLID)
