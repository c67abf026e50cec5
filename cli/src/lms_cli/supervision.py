"""Keeping the services of ``lms up`` running: one that exits is started again, as Kubernetes
would restart its container, after a back-off that grows while it keeps failing (1 s, 2 s, 4 s
... at most 30 s; back to 1 s once it has stayed up a minute). What happened is printed: the
exit and its cause, the restart, and when it is ready again."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from rich.console import Console

FIRST_DELAY = 1.0
LONGEST_DELAY = 30.0
STABLE_AFTER = 60.0  # seconds up after which a service's back-off starts again from the first
POLL_SECONDS = 0.5


@dataclass
class Supervised:
    """One service's state: its process, when it (re)started, the next back-off, and when it
    is due to start again (None while it runs)."""

    name: str
    started_at: float
    delay: float = FIRST_DELAY
    due: float | None = None
    restarts: int = 0
    awaiting_ready: bool = False


def exit_cause(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Watch ``processes`` (a service's name to its process); ``start`` starts one again and
    returns its new process; ``ready_url`` gives the address whose ``/readyz`` says it is back."""

    def __init__(
        self,
        processes: dict[str, subprocess.Popen[bytes]],
        start: Callable[[str], subprocess.Popen[bytes]],
        ready_url: Callable[[str], str],
        console: Console,
        log_file: Callable[[str], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.processes = processes
        self.start = start
        self.ready_url = ready_url
        self.console = console
        self.log_file = log_file
        self.clock = clock
        now = clock()
        self.states = {name: Supervised(name, now) for name in processes}

    def run(self) -> None:
        """Until interrupted (Ctrl-C or SIGTERM raise KeyboardInterrupt)."""
        while True:
            self.check()
            time.sleep(POLL_SECONDS)

    def check(self) -> None:
        now = self.clock()
        for name, state in self.states.items():
            code = self.processes[name].poll()
            if code is None:
                self._running(state, now)
            elif state.due is None:
                state.due = now + state.delay
                self.console.print(
                    f"[red]{name} stopped ({exit_cause(code)}); restarting in "
                    f"{state.delay:.0f} s[/] (log: {self.log_file(name)})"
                )
            elif now >= state.due:
                self._restart(state, now)

    def _running(self, state: Supervised, now: float) -> None:
        if state.awaiting_ready and self._ready(state.name):
            state.awaiting_ready = False
            waited = now - state.started_at
            self.console.print(f"[green]{state.name} is ready again[/] ({waited:.1f} s)")
        if now - state.started_at >= STABLE_AFTER:
            state.delay = FIRST_DELAY

    def _restart(self, state: Supervised, now: float) -> None:
        process = self.start(state.name)
        state.restarts += 1
        state.started_at, state.due, state.awaiting_ready = now, None, True
        state.delay = min(state.delay * 2, LONGEST_DELAY)
        self.console.print(
            f"[yellow]{state.name} restarted[/] (pid {process.pid}, restart {state.restarts})"
        )

    def _ready(self, name: str) -> bool:
        try:
            return httpx.get(f"{self.ready_url(name)}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
