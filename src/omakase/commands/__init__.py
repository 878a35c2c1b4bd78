"""Command modules.

Every module in ``omakase.commands``, ``omakase.types`` and
``omakase.persistence`` declares its
handlers with ``registry.command``; ``load_all`` imports them all so the
declarations exist before a ``CommandTable`` is built.
"""
from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    import omakase.blocking  # noqa: F401  (CLIENT UNBLOCK)
    import omakase.commands as commands_pkg
    import omakase.persistence as persistence_pkg
    import omakase.types as types_pkg
    for pkg in (commands_pkg, types_pkg, persistence_pkg):
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{pkg.__name__}.{info.name}")
