"""Load the real region list into the reporting database (``lms reporting load-regions``)."""

from __future__ import annotations

import os
import subprocess
import sys

from .services import service_cli


def load_region_list(database_url: str) -> bool:
    """Run reporting's loader as its own step; False if reporting offers none."""
    module = service_cli("reporting")
    if module is None or not any(
        command.name == "load-regions"
        or getattr(command.callback, "__name__", "") == "load_regions"
        for command in module.app.registered_commands
    ):
        return False
    subprocess.run(
        [sys.executable, "-m", "lms_cli.main", "reporting", "load-regions"],
        env=os.environ | {"DATABASE_URL": database_url},
        check=True,
    )
    return True
