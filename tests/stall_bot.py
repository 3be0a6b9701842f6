"""``python -m tests.stall_bot serve --http ...``: the bot with its lease times shortened, for
the suite's stall tests of the whole served bot (a 20 s stall with the default times would
make each test minutes long). Only ``JobWorkers``' defaults change, from the environment:
``ADVISOR_TEST_STALE_SECONDS``, ``ADVISOR_TEST_HEARTBEAT_SECONDS``, ``ADVISOR_TEST_HOLD_SECONDS``.
gunicorn's worker is forked from this process, so it has them too."""

from __future__ import annotations

import os
from datetime import timedelta

from bot.cli import main
from bot.slack.jobs import JobWorkers

defaults = JobWorkers.__init__.__kwdefaults__
for name, variable in (("stale_after", "STALE"), ("post_hold", "HOLD")):
    if value := os.environ.get(f"ADVISOR_TEST_{variable}_SECONDS"):
        defaults[name] = timedelta(seconds=float(value))
if value := os.environ.get("ADVISOR_TEST_HEARTBEAT_SECONDS"):
    defaults["heartbeat"] = float(value)

if __name__ == "__main__":
    main(prog_name="advisor")
