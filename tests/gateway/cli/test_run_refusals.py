"""A `gateway run` that is refused touches nothing of the daemon already running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ENV = {**os.environ, "GATEWAY_CONFIG": ""}


def gw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60, env=ENV
    )


def test_a_refused_second_simulated_run_leaves_the_first_ones_simulator_working(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    first = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--simulate", "1", "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 30
        while gw("simulate", "sent", "--json", "--db", str(db)).returncode != 0:  # its socket answers
            assert time.monotonic() < deadline and first.poll() is None, "the first daemon did not come up"
            time.sleep(0.2)

        second = gw("run", "--simulate", "1", "--db", str(db))
        assert second.returncode == 1 and "already running" in second.stderr, second.stderr

        sent = gw("simulate", "sms", "--from", "+989121234567", "1 48213", "--db", str(db))
        assert sent.returncode == 0, sent.stderr  # the first daemon's socket is still there
        replies: list[dict[str, str]] = []
        while not replies and time.monotonic() < deadline + 30:
            replies = json.loads(gw("simulate", "sent", "--json", "--db", str(db)).stdout)
        assert replies and replies[0]["number"] == "+989121234567"
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 0
