"""The test harness's clock for the processes a test spawns (Daphne, Celery workers and their children).

core.testing.process_env puts this directory first on a child's PYTHONPATH, with TEST_CLOCK_OFFSET_SECONDS:
the seconds between the test's travelled clock and the real one. Python imports `sitecustomize` at start-up,
so the child travels by the same offset before any of its code runs, and its clock then ticks on in step with
the test's. Nothing outside the tests puts this directory on a path.
"""

import os

_offset = os.environ.get("TEST_CLOCK_OFFSET_SECONDS")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
