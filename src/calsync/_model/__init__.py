"""The event model's implementation; import it through :mod:`calsync.model`."""
