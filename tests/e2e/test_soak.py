"""The one-minute soak (``make soak`` runs ten): steady load at 80% of capacity through a real
``kidgate run`` (nginx upstream, wrk client), then memory, descriptors, log and database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_minute_at_eighty_percent_of_capacity(tmp_path):
    if os.geteuid() != 0 and not (shutil.which("wrk") and shutil.which("nginx")):
        pytest.skip("needs nginx and wrk (installed by the soak itself when run as root)")
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--seconds", "60", "--slices", "6",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert out.exists(), done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert done.returncode == 0 and report["result"] == "pass", (report["result"], done.stderr[-2000:])
    assert report["errors"] == 0 and report["memory_growth"] < 0.10
    assert report["decision_log_lines"] > 0 and report["database"] == "ok"
    assert report["median_rps"] > 0.5 * report["target_rps"]
