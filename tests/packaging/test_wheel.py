"""kidgate installed from its wheel, as a parent installs it: a fresh virtual environment
outside the source tree, then the same verdicts as from the checkout and a working proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import port_open, stop, wait_until_ready
from tests.support.proxy import free_port

ROOT = Path(__file__).resolve().parents[2]
RTA_PAGE = ('<html><head><meta name="RATING" content="RTA-5042-1996-1400-1577-RTA">'
            "<title>Members</title></head><body>Enter</body></html>")
RECORDS = [
    {"id": "listed", "url": "http://pornhub.com/"},
    {"id": "harmless-url", "url": "https://www.wikipedia.org/wiki/Otter"},
    {"id": "labelled", "url": "https://unknown.example/", "html": RTA_PAGE},
    {"id": "harmful-text", "text": "Buy cocaine and meth online, discreet shipping, best "
                                   "prices on MDMA pills and heroin, order now."},
    {"id": "harmless-text", "text": "The city council approved the new library budget on "
                                    "Tuesday after a long public debate about opening hours."},
]

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """No trace of the checkout: no PYTHONPATH, not run from the source tree."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the wheel and install it as the README tells a parent to, with pipx (an
    environment of kidgate's own); the folder of that environment's programs."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                    str(ROOT)], check=True, cwd=work, capture_output=True)
    wheel = next(dist.glob("kidgate-*.whl"))
    env = {**_clean_env(), "PIPX_HOME": str(work / "pipx"), "PIPX_BIN_DIR": str(work / "bin"),
           "PIPX_MAN_DIR": str(work / "man")}
    cmd = [sys.executable, "-m", "pipx", "install", str(wheel)]
    constraints = ROOT / "constraints.txt"
    if constraints.exists():
        cmd += ["--pip-args", f"-c {constraints}"]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (work / "bin" / "kidgate").exists()
    yield work / "pipx" / "venvs" / "kidgate" / "bin"


def _check(kidgate: list[str], cwd: Path, env: dict[str, str]) -> dict[str, dict]:
    lines = "\n".join(json.dumps(r) for r in RECORDS) + "\n"
    out = subprocess.run([*kidgate, "check", "--jsonl", "--age", "10"], input=lines, text=True,
                         capture_output=True, cwd=cwd, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return {r["id"]: r for r in map(json.loads, out.stdout.splitlines())}


def test_the_wheel_carries_models_lists_policy_and_terms(installed: Path) -> None:
    site = next((installed.parent / "lib").glob("python3.*/site-packages"))
    for path in ("models/MANIFEST.json", "models/MODEL_CARD.md", "models/text_model.joblib",
                 "lists/data/default.kglist", "lists/data/ATTRIBUTION.md",
                 "policies/default.yaml", "classifier/terms/sexual.yaml",
                 "reporting/templates/kg_base.html", "pages/templates/blockpage.html",
                 "pages/templates/email/access_request.txt", "pages/locale/ro.po"):
        assert (site / path).is_file(), path
    assert not list(site.glob("tests")), "the test suite is not part of the package"


def test_installed_kidgate_decides_as_the_checkout(installed: Path, tmp_path: Path) -> None:
    env = _clean_env()
    wheel = _check([str(installed / "kidgate")], tmp_path, env)
    checkout = _check([sys.executable, "-m", "kidgate"], ROOT, env)
    assert {k: (v["action"], v["category"]) for k, v in wheel.items()} == \
           {k: (v["action"], v["category"]) for k, v in checkout.items()}
    assert wheel["listed"]["action"] == wheel["labelled"]["action"] == "block"
    assert wheel["harmful-text"]["action"] == "block"
    assert wheel["harmless-url"]["action"] == wheel["harmless-text"]["action"] == "allow"
    assert not any("unavailable" in json.dumps(v) for v in wheel.values())


def test_version_and_python_dash_m(installed: Path, tmp_path: Path) -> None:
    for cmd in ([str(installed / "kidgate"), "--version"],
                [str(installed / "python"), "-m", "kidgate", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
        assert out.returncode == 0 and out.stdout.startswith("kidgate 0."), out


def test_a_package_that_overwrites_kidgates_is_refused_with_a_clear_message(
        installed: Path, tmp_path: Path) -> None:
    """Another distribution with a top-level ``policies`` injected into kidgate's environment
    writes over kidgate's files: kidgate refuses to run and says why, instead of half-working."""
    src = tmp_path / "other"
    (src / "policies").mkdir(parents=True)
    (src / "policies" / "__init__.py").write_text('"""Somebody else\'s policies."""\n')
    (src / "pyproject.toml").write_text(
        '[project]\nname = "other-policies"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["policies"]\n')
    env = {**_clean_env(), "PIPX_HOME": str(installed.parents[2]),
           "PIPX_BIN_DIR": str(installed.parents[3] / "bin")}
    done = subprocess.run([sys.executable, "-m", "pipx", "inject", "kidgate", str(src)],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    try:
        out = subprocess.run([str(installed / "kidgate"), "check", "http://x.example/"],
                             capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
        assert out.returncode == 3, out
        assert "policies/__init__.py was replaced by another package" in out.stderr
        assert "pipx install" in out.stderr and "Traceback" not in out.stderr
    finally:  # put kidgate back for the tests after this one
        wheel = next((installed.parents[3] / "dist").glob("kidgate-*.whl"))
        subprocess.run([sys.executable, "-m", "pipx", "runpip", "kidgate", "uninstall", "-y",
                        "other-policies"], env=env, capture_output=True)
        subprocess.run([str(installed / "python"), "-m", "pip", "install", "-q",
                        "--force-reinstall", "--no-deps", str(wheel)], env=_clean_env(),
                       capture_output=True, check=True)


def test_installed_kidgate_run_serves_a_block_page(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        [str(installed / "kidgate"), "run", "--listen-host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "data"), "--", "--set", f"confdir={tmp_path / 'mitm'}",
         "--set", "kidgate_auto_update=false"],
        cwd=tmp_path, env=_clean_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(proc, lambda: port_open(port), what="the installed kidgate run",
                         output=(tmp_path / "run.log").read_text, timeout=90)
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=30) as client:
            resp = client.get("http://pornhub.com/")
        assert resp.status_code == 403 and "sexual" in resp.text, resp.text[:500]
    finally:
        stop(proc, grace=15)
        log.close()
