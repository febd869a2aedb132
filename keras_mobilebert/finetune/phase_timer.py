"""Wall-clock seconds per phase of a job, logged as each phase ends."""

import time


class PhaseTimer:
    """Times consecutive phases: each `done(name)` ends one.

    Args:
        log: callable taking one string; `done` logs `[name: seconds s]`.

    Example:
    ```python
    timer = PhaseTimer(print)
    train()
    timer.done("training")
    timer.phases  # {"training": 12.3}
    ```
    """

    def __init__(self, log=print):
        self.log = log
        self.start = time.perf_counter()
        self.phases = {}
        self._phase_start = self.start

    def done(self, name):
        """End the current phase under `name` and log its seconds."""
        now = time.perf_counter()
        self.phases[name] = round(now - self._phase_start, 1)
        self._phase_start = now
        self.log(f"[{name}: {self.phases[name]} s]")

    def total(self):
        """Seconds since the timer started, rounded to 0.1."""
        return round(time.perf_counter() - self.start, 1)
