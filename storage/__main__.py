"""``python -m storage upgrade``: migrate the database whose URL is read from stdin.

The proxy runs this in a child process at start when the schema is behind, so that the
migration tool never stays in its memory (see :meth:`storage.db.Database.upgrade_in_child`)."""

from __future__ import annotations

import sys

from storage.db import Database, DatabaseError


def main(argv: list[str]) -> int:
    if argv != ["upgrade"]:
        print("usage: python -m storage upgrade  (the database URL on stdin)", file=sys.stderr)
        return 2
    url = sys.stdin.readline().strip()
    try:
        db = Database(url)
        try:
            db.upgrade()
        finally:
            db.dispose()
    except DatabaseError as e:
        print(f"kidgate: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
