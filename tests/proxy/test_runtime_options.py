"""The runtime addon owns kidgate's options: invalid values are refused with mitmproxy's
``OptionsError``, as mitmproxy's own addons do, so mitmdump says what is wrong and does not
start an unfiltered proxy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.proxy import ADDON, ROOT, free_port


def _mitmdump(tmp_path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()",
         "-s", str(ADDON), "--listen-host", "127.0.0.1", "--listen-port", str(free_port()),
         "--set", f"confdir={tmp_path}", "--set", f"kidgate_data_dir={tmp_path}",
         "--set", "kidgate_classifier=false", *options],
        cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("option,message", [
    ("kidgate_timeout_ms=0", "kidgate_timeout_ms must be from 1 to 60000, got 0"),
    ("kidgate_workers=-1", "kidgate_workers must be from 0 to 64, got -1"),
    ("kidgate_lists=/nonexistent/x.kglist", "kidgate_lists: no such file: /nonexistent/x.kglist"),
])
def test_invalid_option_values_stop_the_proxy_with_a_clear_error(tmp_path, option, message):
    out = _mitmdump(tmp_path, "--set", option)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr  # mitmproxy prints its script's traceback too
    assert "kidgate: filtering" not in out.stdout
