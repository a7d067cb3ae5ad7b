"""calsync against a real Odoo, and the same scenarios against ``OdooEmulator``.

``nox -s conformance`` runs, on the server the ``CALSYNC_ODOO_*`` variables
name (:mod:`.target`), the adapter contract suite and the end-to-end scenarios
(:mod:`.scenarios`) as the administrator and as an ordinary user; the normal
suite runs the same scenarios against the emulator. ``python -m
tests.conformance.record`` records them on a throwaway database for the
emulator's replay test (:mod:`.record`).
"""
