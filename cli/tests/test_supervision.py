"""`lms up` restarts a service that stops, with a back-off that grows while it keeps failing."""

import io
from dataclasses import dataclass, field

from rich.console import Console

from lms_cli.supervision import Supervisor


@dataclass
class FakeProcess:
    pid: int
    code: int | None = None

    def poll(self) -> int | None:
        return self.code


@dataclass
class Stack:
    processes: dict[str, FakeProcess] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def start(self, name: str) -> FakeProcess:
        self.started.append(name)
        process = self.processes[name] = FakeProcess(pid=100 + len(self.started))
        return process


def supervised() -> tuple[Stack, Supervisor, list[float], io.StringIO]:
    stack = Stack({"reporting": FakeProcess(1), "content": FakeProcess(2)})
    now = [0.0]
    out = io.StringIO()
    supervisor = Supervisor(
        stack.processes,  # type: ignore[arg-type]
        stack.start,  # type: ignore[arg-type]
        lambda name: "http://127.0.0.1:9",  # nothing answers: never "ready again"
        Console(file=out, width=200),
        lambda name: f"logs/{name}.log",
        clock=lambda: now[0],
    )
    return stack, supervisor, now, out


def restart_delays(
    stack: Stack, supervisor: Supervisor, now: list[float], times: int
) -> list[float]:
    """Kill reporting ``times`` times, each as soon as it is back; the waits before each
    restart."""
    delays: list[float] = []
    before = len(stack.started)
    for _ in range(times):
        stack.processes["reporting"].code = -9
        supervisor.check()
        died_at = now[0]
        while len(stack.started) == before + len(delays):
            now[0] += 0.5
            supervisor.check()
        delays.append(now[0] - died_at)
    return delays


def test_a_service_that_keeps_dying_is_restarted_ever_more_slowly_up_to_30_s() -> None:
    stack, supervisor, now, out = supervised()
    assert restart_delays(stack, supervisor, now, 7) == [1, 2, 4, 8, 16, 30, 30]
    assert stack.started == ["reporting"] * 7  # content, still running, left alone
    text = out.getvalue()
    assert (
        "reporting stopped (killed by SIGKILL); restarting in 1 s (log: logs/reporting.log)" in text
    )
    assert "reporting restarted (pid 107, restart 7)" in text


def test_the_back_off_starts_again_once_a_service_has_stayed_up_a_minute() -> None:
    stack, supervisor, now, out = supervised()
    assert restart_delays(stack, supervisor, now, 3) == [1, 2, 4]
    now[0] += 61
    supervisor.check()
    assert restart_delays(stack, supervisor, now, 1) == [1]
    stack.processes["content"].code = 3
    supervisor.check()
    assert "content stopped (exit code 3); restarting in 1 s" in out.getvalue()
