"""Is this kidgate whole? Its packages have generic names (``policies``, ``classifier``,
``lists``, ``models``...), so an unrelated distribution with the same top-level name, installed
in the same environment or earlier on ``sys.path``, could shadow one of them. kidgate is meant
to live in an environment of its own (``pipx install``, or a virtual environment); this check
turns a shadowed package into one clear message instead of strange errors or wrong verdicts."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

#: kidgate's own top-level packages, each beside ``kidgate/``.
PACKAGES = ("policies", "classifier", "lists", "reporting", "proxy_addons", "admin", "storage")
#: Data folders that must be there too.
DATA = (Path("models") / "MANIFEST.json", Path("policies") / "default.yaml",
        Path("lists") / "data" / "default.kglist")


class BrokenInstallation(RuntimeError):
    pass


def version() -> str:
    try:
        return importlib.metadata.version("kidgate")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown (not installed)"


def root() -> Path:
    """The folder that holds ``kidgate/`` and its sibling packages."""
    return Path(__file__).resolve().parent.parent


def check() -> None:
    """Raise :class:`BrokenInstallation` when a package is shadowed or a data file is missing."""
    base = root()
    problems = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)  # where it would come from; runs no code
        origin = spec.origin if spec else None
        if not origin or origin == "namespace":
            problems.append(f"package {name!r} is missing")
        elif Path(origin).resolve().parent != base / name:
            problems.append(f"package {name!r} comes from {Path(origin).resolve().parent}, "
                            f"not from kidgate ({base / name})")
    problems += [f"{path} is missing" for path in DATA if not (base / path).is_file()]
    problems += _overwritten(base)
    if problems:
        raise BrokenInstallation(
            "kidgate is not installed correctly: " + "; ".join(problems) + ". Install kidgate "
            "in an environment of its own: pipx install kidgate (or a virtual environment).")


def _overwritten(base: Path) -> list[str]:
    """Package files that another distribution wrote over (pip installs one package's files
    over another's without a word). Compared with the hashes pip recorded for kidgate; an
    editable checkout has no such record and is skipped."""
    try:
        files = importlib.metadata.distribution("kidgate").files or []
    except importlib.metadata.PackageNotFoundError:
        return []
    wanted = {f"{name}/__init__.py" for name in PACKAGES}
    out = []
    for f in files:
        if str(f) not in wanted or f.hash is None:
            continue
        path = Path(str(f.locate()))
        if path.resolve().parent.parent != base:
            continue
        try:
            digest = base64.urlsafe_b64encode(
                hashlib.new(f.hash.mode, path.read_bytes()).digest()).rstrip(b"=").decode()
        except OSError:
            digest = ""
        if digest != f.hash.value:
            out.append(f"{f} was replaced by another package")
    return out


def main() -> int:
    """The ``kidgate`` command: check the installation before anything imports a shadowed
    package, then hand over to :func:`kidgate.cli.main`."""
    import sys
    try:
        check()
    except BrokenInstallation as e:
        print(f"kidgate: {e}", file=sys.stderr)
        return 3
    from kidgate.cli import main as cli_main
    return cli_main()
