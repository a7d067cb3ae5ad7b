"""The reconciliation engine's implementation; import it through :mod:`calsync.engine`."""
