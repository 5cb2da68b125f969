"""The mitmproxy script that loads kidgate: ``mitmdump -s proxy_addons/addon.py``.

Order matters: the client is identified first, the internal pages are served before filtering,
the filter decides, and safe-search rewrites apply only to requests that were let through.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_addons.identify import Identify, RuntimeRef  # noqa: E402
from proxy_addons.filter import Filter  # noqa: E402


def make_addons() -> list[object]:
    ref = RuntimeRef()
    chain: list[object] = [Identify(ref)]
    filt = Filter(ref)
    try:
        from proxy_addons.internal import Internal
        chain.append(Internal(ref, filt))
    except ImportError as e:  # reporting is optional for the filter itself
        logging.getLogger("kidgate").warning("kidgate: internal pages unavailable: %s", e)
    chain.append(filt)
    try:
        from proxy_addons.safesearch import SafeSearch
        chain.append(SafeSearch(resolve_profile=lambda client: _profile_of(ref, client)))
    except ImportError as e:
        logging.getLogger("kidgate").warning("kidgate: safe search unavailable: %s", e)
    return chain


def _profile_of(ref: RuntimeRef, client):  # -> Profile | None
    """The profile of a connection that carries no request yet (pass-through TLS)."""
    rt = ref.get()
    if rt is None:
        return None
    return ref.who(client.peername[0] if client.peername else "")[0]


addons = make_addons()
