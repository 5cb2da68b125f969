"""Fixtures for list-engine tests: a small UT1 tree on disk and a local HTTP file server."""

from __future__ import annotations

import functools
import http.server
import os
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, "utf-8")
    else:
        path.write_bytes(data)
    return path


GLOBAL_USAGE = """\
#\tglobal description
NAME:\tadult
DEFAULT_TYPE: black
DESC EN: Some adult sites.

NAME:\tpress
DEFAULT_TYPE: black
DESC EN: News.
"""


def make_ut1(root: Path) -> Path:
    """A miniature UT1 ``blacklists`` tree with the upstream layout and quirks."""
    bl = root / "blacklists"
    write(bl / "global_usage", GLOBAL_USAGE)
    write(bl / "adult" / "domains", "porn.example\nxxx-site.test\n10.1.2.3\n")
    write(bl / "adult" / "urls", "free-host.example/~naughty/\nphotos.example/gallery/nsfw\n")
    write(bl / "adult" / "expressions", "")
    write(bl / "adult" / "usage", "black\nadult\nporn\n")
    write(bl / "gambling" / "domains", "casino.example\nbet.example\n")
    write(bl / "gambling" / "usage", "black\n")
    write(bl / "press" / "domains", "news.example\n")
    write(bl / "press" / "usage", "black\npress\n")
    write(bl / "blog" / "domains", "blogs.example\n")
    write(bl / "blog" / "usage", "black\n")
    write(bl / "sexual_education" / "domains", "sexed.example\n")
    write(bl / "sexual_education" / "usage", "white\n")
    write(bl / "liste_blanche" / "domains", "school.example\n")
    write(bl / "liste_blanche" / "usage", "white\n")
    # Not in the shipped mapping: its usage file decides (white -> allow-list).
    write(bl / "museums" / "domains", "museum.example\n")
    write(bl / "museums" / "usage", "white\n")
    write(bl / "malware" / "expressions", "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/search\\?q=[0-9]+$\n")
    write(bl / "malware" / "usage", "black\n")
    os.symlink("adult", bl / "porn")
    write(bl / "violence", "gambling")  # an alias materialised as a tiny file
    return bl


@pytest.fixture
def ut1_tree(tmp_path: Path) -> Path:
    return make_ut1(tmp_path / "src")


def make_tarball(tree: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tree, arcname="blacklists")
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/lying/"):
            # Announces more bytes than it sends: an interrupted transfer.
            body = (Path(self.directory) / self.path[len("/lying/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) * 2))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/hang/"):
            # Answers, then sends nothing more: a server that hangs mid-download.
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b")
            self.wfile.flush()
            time.sleep(20)
            return
        super().do_GET()


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder: (base_url, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
