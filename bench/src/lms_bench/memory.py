"""Peak resident memory of each service process, sampled in the background."""

from __future__ import annotations

import threading
import time
from subprocess import Popen

import psutil


class PeakMemory:
    def __init__(self, processes: dict[str, Popen[bytes]], interval: float = 0.25) -> None:
        self.processes = processes
        self.interval = interval
        self.peaks: dict[str, float] = dict.fromkeys(processes, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, process in list(self.processes.items()):
                try:
                    rss = psutil.Process(process.pid).memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peaks[name] = max(self.peaks.get(name, 0.0), rss)
            time.sleep(self.interval)
