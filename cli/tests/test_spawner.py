"""The processes of a local stack die with the stack's process, and only then: not when the
thread that happened to start one (an event loop's executor) ends."""

import asyncio
import signal
import subprocess

import pytest

from lms_cli.stack import SPAWNER, Spawner


def test_a_process_started_from_a_thread_that_ends_keeps_running() -> None:
    async def restart_from_an_executor_thread() -> subprocess.Popen[bytes]:
        return await asyncio.to_thread(SPAWNER.popen, ["sleep", "60"])

    # as a test restarts a killed replica: its loop, and the loop's threads, end afterwards
    child = asyncio.run(restart_from_an_executor_thread())
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    finally:
        child.kill()
        child.wait()


def test_a_process_is_stopped_when_its_starter_ends() -> None:
    spawner = Spawner()
    child = spawner.popen(["sleep", "60"])
    try:
        spawner.close()  # as when `lms up` ends, however it ends
        assert child.wait(timeout=30) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
