"""Running syncs; import through :mod:`calsync`."""
