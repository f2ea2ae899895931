"""Loaded by every Python process of a faked-date test run (scripts/test-faketime.sh puts this
folder on PYTHONPATH): lets time.sleep work under libfaketime.

With the wall clock faked and the monotonic clock left real (DONT_FAKE_MONOTONIC=1, without
which condition waits never end), libfaketime 0.9.10 hands the kernel a wrong deadline for
Python 3.11's time.sleep (clock_nanosleep on CLOCK_MONOTONIC with TIMER_ABSTIME), which
fails with EINVAL (wolfcw/libfaketime#426). select() takes a relative timeout and is not
affected, so sleeping is done with it.
"""
import os

if os.environ.get("FAKETIME") and "libfaketime" in os.environ.get("LD_PRELOAD", ""):
    import select
    import time

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)  # retried with the time left after a signal (PEP 475)

    time.sleep = _sleep
