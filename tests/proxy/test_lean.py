"""mitmproxy's optional addons are left out of the chain while their options are unset, and
kept, working, when a user sets one."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy import addons, options
from mitmproxy.addons import (dumper, keepserving, modifyheaders, readfile, stickycookie,
                              upstream_auth)
from mitmproxy.test import taddons

from proxy_addons.lean import IDLE_WHEN, is_idle, leave_out_idle
from tests.support.proxy import Site, run_proxy


def _chain(tctx: taddons.context) -> list[object]:
    """mitmdump's chain: the default addons and its own."""
    tctx.master.addons.add(*addons.default_addons(), dumper.Dumper(), keepserving.KeepServing(),
                           readfile.ReadFileStdin())
    return list(tctx.master.addons.chain)


def test_every_option_named_exists_in_this_mitmproxy() -> None:
    """A renamed option would make an addon look idle forever (or never): fail here instead."""
    with taddons.context(loadcore=False) as tctx:
        _chain(tctx)
        for cls, wanted in IDLE_WHEN.items():
            for name in wanted:
                assert name in tctx.options, f"{cls.__name__}: no option {name!r}"


def test_idle_addons_are_left_out_and_the_core_stays() -> None:
    with taddons.context(loadcore=False) as tctx:
        chain = _chain(tctx)
        tctx.options.update(flow_detail=0)
        names = asyncio.run(leave_out_idle(tctx.master.addons, tctx.options))
        left = {type(a) for a in tctx.master.addons.chain}
        assert {"modifyheaders", "serverplayback", "save", "dumper", "maplocal",
                "upstreamauth"} <= set(names)
        assert not left & set(IDLE_WHEN)
        # What a filtering proxy needs is never judged idle.
        for needed in ("Core", "Proxyserver", "NextLayer", "TlsConfig", "ScriptLoader",
                       "ProxyAuth", "Block", "Onboarding"):
            assert needed in {type(a).__name__ for a in tctx.master.addons.chain}, needed
        assert len(tctx.master.addons.chain) == len(chain) - len(names)
        assert all(tctx.master.addons.get(n) is None for n in names)


@pytest.mark.parametrize(("setting", "kept"), [
    ({"modify_headers": ["/~q/X-Probe/yes"]}, modifyheaders.ModifyHeaders),
    ({"stickycookie": "~d garden.test"}, stickycookie.StickyCookie),
    ({"flow_detail": 1}, dumper.Dumper),
    ({"upstream_auth": "user:secret"}, upstream_auth.UpstreamAuth),
])
def test_an_addon_whose_option_is_set_stays(setting: dict, kept: type) -> None:
    with taddons.context(loadcore=False) as tctx:
        chain = _chain(tctx)
        addon = next(a for a in chain if type(a) is kept)
        tctx.options.update(flow_detail=0)
        assert is_idle(addon, tctx.options)
        tctx.options.update(**setting)
        assert not is_idle(addon, tctx.options)


def test_an_option_this_mitmproxy_lacks_keeps_the_addon() -> None:
    opts = options.Options()
    fake = modifyheaders.ModifyHeaders()
    assert "modify_headers" not in opts  # no addon loaded: the option is unknown
    assert not is_idle(fake, opts)
    assert not is_idle(object(), opts)  # not an optional addon at all


def test_a_set_option_still_works_through_kidgate(tmp_path) -> None:
    """End to end: mitmproxy's header rewriting, asked for on the command line, still rewrites
    with kidgate's addons loaded; with nothing asked, the proxy says what it left out."""
    site = Site({"/": (200, {"Content-Type": "text/plain"}, b"hello")}).start()
    try:
        with run_proxy(tmp_path, routes={"garden.test": site.port}, classifier=False,
                       options=["--set", "modify_headers=/~q/X-Probe/from-the-proxy",
                                "--set", "termlog_verbosity=info"]) as proxy:
            with proxy.client() as c:
                r = c.get("http://garden.test/")
            assert r.status_code == 200
            assert site.requests[-1][2].get("X-Probe") == "from-the-proxy"
            log = proxy.log()
            assert "left out" in log and "serverplayback" in log
            assert "modifyheaders" not in log.split("left out", 1)[1].splitlines()[0]
    finally:
        site.stop()
