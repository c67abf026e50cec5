"""The import rules, written from the registry so that every service falls under them: services
never import one another, plumbing and contracts know no service, contracts need pydantic
only (the subscriber kit, an extra, adds FastStream, nats-py and the worked example's
asyncpg), and every service's domain is plain Python.

``lms test`` checks them: ``python -m lms_cli.import_rules`` writes an import-linter
configuration to a temporary file and runs ``lint-imports`` on it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.registry import SERVICES

PLUMBING = ("servicekit", "lms_contracts")
SUBSCRIBER_KIT = ("faststream", "nats", "asyncpg")
# what a domain model may not know: frameworks, the wire, the plumbing
FRAMEWORKS = ("fastapi", "starlette", "sqlalchemy", "nats", "pydantic", *PLUMBING)


@dataclass(frozen=True)
class Contract:
    key: str
    name: str
    type: str
    options: dict[str, tuple[str, ...] | str] = field(default_factory=dict)


def services() -> tuple[str, ...]:
    return tuple(spec.package for spec in SERVICES)


def contracts() -> list[Contract]:
    return [
        Contract(
            "services-independent",
            "Services never import one another",
            "independence",
            {"modules": services()},
        ),
        Contract(
            "plumbing-knows-no-service",
            "Plumbing and contracts know no service",
            "forbidden",
            {"source_modules": PLUMBING, "forbidden_modules": services()},
        ),
        Contract(
            "contracts-need-pydantic-only",
            "Contracts depend on pydantic only",
            "forbidden",
            {
                "source_modules": ("lms_contracts",),
                "forbidden_modules": ("servicekit", "fastapi", "sqlalchemy", *SUBSCRIBER_KIT),
                "allow_indirect_imports": "True",
                # the subscriber kit is the one package that needs them (extra "subscriber")
                "ignore_imports": tuple(
                    f"lms_contracts.subscriber.** -> {module}" for module in SUBSCRIBER_KIT
                ),
            },
        ),
        Contract(
            "domain-is-plain-python",
            "Every service's domain is plain Python",
            "forbidden",
            {
                "source_modules": tuple(f"{name}.domain" for name in services()),
                "forbidden_modules": FRAMEWORKS,
                "allow_indirect_imports": "True",
            },
        ),
    ]


def _option(key: str, value: tuple[str, ...] | str) -> str:
    if isinstance(value, str):
        return f"{key} = {value}"
    return "\n    ".join((f"{key} =", *value))


def config() -> str:
    """The rules in import-linter's INI format."""
    sections = [
        "\n".join(
            (
                "[importlinter]",
                _option("root_packages", (*services(), *PLUMBING)),
                "include_external_packages = True",
            )
        )
    ]
    for contract in contracts():
        lines = [
            f"[importlinter:contract:{contract.key}]",
            f"name = {contract.name}",
            f"type = {contract.type}",
        ]
        lines += [_option(key, value) for key, value in contract.options.items()]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def check() -> int:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "importlinter.ini"
        path.write_text(config())
        return subprocess.run([str(lint_imports), "--config", str(path)]).returncode


if __name__ == "__main__":  # pragma: no cover - run by `lms test`
    sys.exit(check())
