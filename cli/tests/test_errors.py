"""A command that fails says so in one line with the fix, on standard error, and exits
non-zero: never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lms_cli import main as cli

LMS = Path(sys.executable).parent / "lms"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["lms", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    assert captured.out == ""
    return int(exited.value.code or 0), captured.err


def test_a_command_without_database_url_says_to_set_it_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LMS_DEBUG")}
    done = subprocess.run(
        [str(LMS), "outbox", "republish", "enrollment", "--since", "15m"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "lms: DATABASE_URL is not set: export it or run `./lms up`\n"


def test_migrate_without_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, err = run(monkeypatch, capsys, "migrate", "enrollment")
    assert (code, err) == (1, "lms: DATABASE_URL is not set: export it or run `./lms up`\n")


def test_a_postgresql_that_does_not_answer_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://lms:rahasia@127.0.0.1:{port}/lms")
    code, err = run(monkeypatch, capsys, "outbox", "republish", "content")
    assert code == 1
    assert err.startswith(f"lms: cannot reach PostgreSQL at 127.0.0.1:{port} (DATABASE_URL)")
    assert err.count("\n") == 1 and "rahasia" not in err and "Traceback" not in err


def test_a_nats_server_that_does_not_answer_and_a_missing_nats_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{closed_port()}")
    code, err = run(monkeypatch, capsys, "topology", "apply")
    assert code == 1
    assert err.startswith("lms: cannot reach NATS at 127.0.0.1:") and err.count("\n") == 1

    monkeypatch.delenv("NATS_URL")
    code, err = run(monkeypatch, capsys, "dead-letters", "list")
    assert code == 1 and err.startswith("lms: NATS_URL is not set") and err.count("\n") == 1


def test_an_invalid_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    code, err = run(monkeypatch, capsys, "token", "--role", "admin")
    assert code == 1
    assert err.startswith("lms: ENVIRONMENT is invalid: ") and err.count("\n") == 1
