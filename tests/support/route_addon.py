"""Test-only addon, loaded after kidgate's: sends requests for test host names to local servers.

It runs after kidgate has decided, so kidgate sees the real host name; only the connection
goes to 127.0.0.1. Options: ``test_routes`` = "host=port,host=port".
"""

from __future__ import annotations

from mitmproxy import ctx, http
from mitmproxy.proxy import server_hooks


class Route:
    def load(self, loader) -> None:
        loader.add_option("test_routes", str, "", "host=port pairs for test upstreams")

    def _routes(self) -> dict[str, int]:
        out = {}
        for pair in filter(None, ctx.options.test_routes.split(",")):
            host, _, port = pair.partition("=")
            out[host] = int(port)
        return out

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        port = self._routes().get(flow.request.pretty_host)
        if port is None:
            return
        host_header = flow.request.host_header
        flow.request.host = "127.0.0.1"
        flow.request.port = port
        flow.request.host_header = host_header

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Connections that are not intercepted (pass-through TLS) are routed here."""
        if data.server.address is None:
            return
        port = self._routes().get(data.server.address[0])
        if port is not None:
            data.server.address = ("127.0.0.1", port)


addons = [Route()]
