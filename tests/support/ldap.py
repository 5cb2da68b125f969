"""A throwaway OpenLDAP server for the proxy sign-in tests: Debian's ``slapd``, a directory of
its own in a temporary folder, a free port on 127.0.0.1, stopped when the tests end.

``make test`` (and so CI) installs Debian's ``slapd`` and ``ldap-utils``; the system's own
server is never used. Without them the LDAP tests are skipped, except under ``CI=true``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.process import port_open, stop, wait_until_ready
from tests.support.proxy import free_port

SUFFIX = "dc=school,dc=example"
USER_DN = "uid={user},ou=pupils," + SUFFIX
#: The pupils the directory holds: uid -> password.
PUPILS = {"ana": "pupil password 1", "radu": "pupil password 2"}
_SCHEMAS = ("core", "cosine", "inetorgperson")


def unavailable_reason() -> str | None:
    for tool in ("slapd", "slapadd", "slappasswd"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (make test installs Debian's slapd as root)"
    return None


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@contextmanager
def ldap_server() -> Iterator[str]:
    """Yield ``ldap://127.0.0.1:PORT`` of a running server holding :data:`PUPILS`."""
    tmp = Path(tempfile.mkdtemp(prefix="kidgate-ldap-"))
    (tmp / "db").mkdir()
    conf = tmp / "slapd.conf"
    conf.write_text("".join(f"include /etc/ldap/schema/{s}.schema\n" for s in _SCHEMAS) + f"""\
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
database mdb
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw not-used-by-the-tests-{time.time_ns()}
directory {tmp}/db
maxsize 10485760
""")
    entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: School\n"
               f"dc: school\n",
               f"dn: ou=pupils,{SUFFIX}\nobjectClass: organizationalUnit\nou: pupils\n"]
    for uid, password in PUPILS.items():
        hashed = subprocess.run([_tool("slappasswd"), "-s", password], capture_output=True,
                                text=True, check=True).stdout.strip()
        entries.append(f"dn: {USER_DN.format(user=uid)}\nobjectClass: inetOrgPerson\n"
                       f"uid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {hashed}\n")
    (tmp / "base.ldif").write_text("\n".join(entries))
    subprocess.run([_tool("slapadd"), "-f", str(conf), "-l", str(tmp / "base.ldif")],
                   check=True, capture_output=True)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen([_tool("slapd"), "-f", str(conf), "-h", f"{url}/", "-d", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_ready(proc, lambda: port_open(port), what="slapd", timeout=20,
                         output=lambda: proc.stderr.read().decode()[-500:])
        yield url
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
