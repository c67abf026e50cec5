"""Developer commands: ``python -m servicekit.devtools revision <service> "message"``.

Autogenerates the next Alembic revision of a service by migrating a throwaway local
PostgreSQL to head and diffing the service's table metadata against it.
"""

from __future__ import annotations

import importlib
import shutil
import sys

from .migrations import make_revision
from .servers import LocalPostgres, ensure_database_sync, new_run_dir


def revision(service: str, message: str) -> None:
    main = importlib.import_module(f"{service}.main")
    run_dir = new_run_dir("revision")
    server = LocalPostgres(run_dir / "postgres")
    try:
        url = ensure_database_sync(server.start(), "revision")
        make_revision(main.MIGRATIONS, url, message)
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - developer command
    if len(sys.argv) != 4 or sys.argv[1] != "revision":
        sys.exit('usage: python -m servicekit.devtools revision <service> "message"')
    revision(sys.argv[2], sys.argv[3])
