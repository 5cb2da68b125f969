"""The mitmproxy script that loads kidgate: ``mitmdump -s proxy_addons/addon.py``.

Order matters: the runtime comes first (it owns the options and builds the engine), then the
client signs in (proxy authentication) and is identified, the internal pages are served before filtering, the filter decides, and
safe-search rewrites apply only to requests that were let through. Each addon receives the
runtime (and the filter the internal pages) in its constructor.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_addons.filter import Filter  # noqa: E402
from proxy_addons.identify import Identify, wireguard_peer  # noqa: E402
from proxy_addons.runtime import KidgateRuntime  # noqa: E402
from proxy_addons.signin import SignIn  # noqa: E402


def make_addons() -> list[object]:
    runtime = KidgateRuntime()
    chain: list[object] = [runtime, SignIn(runtime), Identify(runtime)]
    pages = None
    try:
        from proxy_addons.internal import Internal
        pages = Internal(runtime)
        chain.append(pages)
    except ImportError as e:  # reporting is optional for the filter itself
        logging.getLogger("kidgate").warning("kidgate: internal pages unavailable: %s", e)
    chain.append(Filter(runtime, pages))
    try:
        from proxy_addons.safesearch import SafeSearch
        chain.append(SafeSearch(resolve_profile=lambda client: profile_of(runtime, client)))
    except ImportError as e:
        logging.getLogger("kidgate").warning("kidgate: safe search unavailable: %s", e)
    return chain


def profile_of(runtime: KidgateRuntime, client):  # -> Profile | None
    """The profile of a connection that carries no request yet (pass-through TLS)."""
    if runtime.get() is None:
        return None
    return runtime.who(client.peername[0] if client.peername else "",
                       wireguard=wireguard_peer(client))[0]


addons = make_addons()
