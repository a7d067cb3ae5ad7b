"""Fixtures of the provider emulator tests (each emulator's fixtures live in their own module)."""

from conftest_odoo import *  # noqa: F403 (Odoo emulator fixtures: odoo_*)
