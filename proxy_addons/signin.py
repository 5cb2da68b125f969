"""Proxy sign-in: a device of the explicit proxy names its user (``Proxy-Authorization``), so
that a shared computer or a pupil's tablet gets the profile of whoever signed in.

With ``proxy_auth`` in the configuration the password is checked (kidgate's own hashes or the
school's LDAP directory, :mod:`kidgate.proxyauth`) off the event loop, a wrong one gets
``407 Proxy Authentication Required``, and with ``required: true`` so does a device that sends
none. Without it the user name only identifies, as before (no password is checked). Either way
the header never reaches a web site, and a tunnel (``CONNECT``) that signed in carries its user
to every request inside it. Transparent, reverse and WireGuard clients cannot send the header:
they are identified by address (README, "Proxy sign-in").
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from mitmproxy import connection, http
from mitmproxy.addons.proxyauth import is_http_proxy, parse_http_basic_auth

from proxy_addons.filter import INTERNAL_HOST
from proxy_addons.identify import USER, host_of

if TYPE_CHECKING:
    from proxy_addons.runtime import KidgateRuntime

log = logging.getLogger("kidgate")

HEADER = "Proxy-Authorization"
REALM = "kidgate"


def sign_in_required(message: str) -> http.Response:
    return http.Response.make(
        407, f"<!doctype html><title>kidgate: sign in</title><p>{message}</p>\n",
        {"Proxy-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"',
         "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


class SignIn:
    """Sets ``kidgate.user`` on flows whose client signed in; refuses wrong passwords."""

    def __init__(self, runtime: "KidgateRuntime") -> None:
        self.runtime = runtime
        self.signed_in: WeakKeyDictionary[connection.Client, str] = WeakKeyDictionary()

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        await self._sign_in(flow)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        user = self.signed_in.get(flow.client_conn)
        if user is not None:  # a request inside a tunnel that signed in
            flow.metadata[USER] = user
            return
        await self._sign_in(flow)

    async def _sign_in(self, flow: http.HTTPFlow) -> None:
        header = flow.request.headers.get(HEADER)
        auth = self.runtime.authenticator
        if auth is None:
            if header is not None:  # identification only: the name, never checked
                del flow.request.headers[HEADER]
                try:
                    _, user, _ = parse_http_basic_auth(header)
                except ValueError:
                    return
                self._remember(flow, user)
            return
        if not is_http_proxy(flow):
            return
        if header is None:
            if auth.required and host_of(flow) != INTERNAL_HOST:
                flow.response = sign_in_required("Sign in to use the internet here.")
            return
        del flow.request.headers[HEADER]
        ip = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        try:
            _, user, password = parse_http_basic_auth(header)
        except ValueError:
            flow.response = sign_in_required("Sign in with a user name and password.")
            return
        if auth.locked_out(ip):
            flow.response = sign_in_required("Too many failed sign-ins from this device. "
                                             "Try again in 15 minutes.")
            return
        if not (auth.known(user, password) or await asyncio.to_thread(auth.check, user, password)):
            auth.failed(ip)
            log.warning("kidgate: proxy sign-in failed for %r from %s", user[:64], ip)
            flow.response = sign_in_required("Wrong user name or password.")
            return
        self._remember(flow, user)

    def _remember(self, flow: http.HTTPFlow, user: str) -> None:
        if not user:
            return
        flow.metadata[USER] = user
        if flow.request.method == "CONNECT":
            self.signed_in[flow.client_conn] = user
