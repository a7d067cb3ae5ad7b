"""The applications built on the library, shared by ``calsync`` and ``calsync serve``.

The configuration file (:mod:`._config`) and the deployment it describes (:mod:`._deploy`).
"""
