"""Where a service process spends its time: py-spy on each service while the rollout runs,
summarised as the frames that hold the largest shares of the samples."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Frames every sample of a service passes through (the process's entry, the event loop):
# they say nothing about where the time goes.
ENTRY_FRAMES = (
    "runpy",
    "typer/",
    "click/",
    "lms_cli/main.py",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
)


@dataclass(frozen=True)
class Share:
    frame: str
    share: float  # of the process's samples


@dataclass(frozen=True)
class Profile:
    service: str
    samples: int  # with a frame of the service's own work (not the event loop waiting)
    own: list[Share]  # time in the frame itself
    within: list[Share]  # time in the frame and everything it called


def _frame(text: str) -> str:
    """``fn (path/to/file.py:12)`` without its line: one entry per function."""
    return re.sub(r":\d+\)$", ")", text)


def summarise(service: str, stacks: Iterable[tuple[list[str], int]], top: int = 25) -> Profile:
    own: Counter[str] = Counter()
    within: Counter[str] = Counter()
    total = 0
    for frames, count in stacks:
        if not frames:  # the event loop waiting (or a thread without Python code)
            continue
        total += count
        names = [_frame(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            within[name] += count
    if not total:
        return Profile(service, 0, [], [])
    return Profile(
        service,
        total,
        [Share(f, n / total) for f, n in own.most_common(top)],
        [Share(f, n / total) for f, n in within.most_common(top)],
    )


def read_collapsed(path: Path) -> Iterator[tuple[list[str], int]]:
    """py-spy's ``--format raw`` output: one ``frame;frame;... count`` line per stack."""
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            frames = [f for f in stack.split(";") if not any(e in f for e in ENTRY_FRAMES)]
            yield frames, int(count)


def markdown(profiles: list[Profile], cpu_seconds: dict[str, float], events: int) -> str:
    lines = ["# Where the services' time goes", ""]
    lines += ["| service | CPU s | CPU ms per event | samples |", "|---|---|---|---|"]
    for p in profiles:
        cpu = cpu_seconds.get(p.service, 0.0)
        per_event = 1000 * cpu / events if events else 0.0
        lines.append(f"| {p.service} | {cpu:.1f} | {per_event:.2f} | {p.samples} |")
    for p in profiles:
        lines += ["", f"## {p.service}", "", "| in the frame itself | share |", "|---|---|"]
        lines += [f"| `{s.frame}` | {100 * s.share:.1f}% |" for s in p.own]
        lines += ["", "| in the frame and what it calls | share |", "|---|---|"]
        lines += [f"| `{s.frame}` | {100 * s.share:.1f}% |" for s in p.within]
    return "\n".join(lines) + "\n"


@contextmanager
def sampled(pids: dict[str, int], out: Path, rate: int = 100) -> Iterator[dict[str, Path]]:
    """py-spy recording each process (by service name) until the block ends."""
    py_spy = Path(sys.executable).with_name("py-spy")
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / f"profile-{name}.txt" for name in pids}
    spies = [
        subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(files[name]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    try:
        yield files
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        for spy in spies:
            spy.wait(60)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and everything under it, ended children included (PostgreSQL's
    postmaster: its backends, workers and writers)."""
    import psutil

    root = psutil.Process(pid)
    own = root.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in root.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def machine_cpu() -> tuple[float, float]:
    """Seconds of CPU used and available on the whole machine so far (every core)."""
    import os

    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks
