"""WireGuard devices in the configuration: one tunnel, one name, one port each; a WireGuard
peer beats every other way of recognising a client (it is a key of the device's own)."""

from __future__ import annotations

import pytest

from policies import config as config_mod
from policies.devices import resolve

BASE = "profiles: {kid: {age: 9}, mum: {age: 40}}\ndefault_profile: mum\ndevices:\n"


def test_the_tunnel_decides_whatever_the_address() -> None:
    cfg = config_mod.parse(BASE + "  - {wireguard: kid-phone, port: 51820, profile: kid}\n"
                                  "  - {ip: 10.0.0.1, profile: mum}\n", "k.yaml")
    assert resolve(cfg, "10.0.0.1", wireguard="kid-phone") == (cfg.profile("kid"), "kid-phone")
    assert resolve(cfg, "10.0.0.1")[0].name == "mum"
    assert resolve(cfg, "10.0.0.1", wireguard="unknown")[0].name == "mum"


@pytest.mark.parametrize("entries, key, words", [
    (["{wireguard: kid-phone, profile: kid}"], "devices[0]", "its own UDP port"),
    (["{ip: 10.0.0.2, port: 51820, profile: kid}"], "devices[0].port", "other devices"),
    (["{wireguard: 'kid phone', port: 51820, profile: kid}"], "devices[0].wireguard", "letters"),
    (["{wireguard: a, port: 80, profile: kid}"], "devices[0].port", "1024"),
    (["{wireguard: a, port: 51820, profile: kid}", "{wireguard: a, port: 51821, profile: kid}"],
     "devices[1].wireguard", "already"),
    (["{wireguard: a, port: 51820, profile: kid}", "{wireguard: b, port: 51820, profile: kid}"],
     "devices[1].port", "already"),
])
def test_mistakes_say_where(entries: list[str], key: str, words: str) -> None:
    text = BASE + "".join(f"  - {e}\n" for e in entries)
    with pytest.raises(config_mod.ConfigError) as e:
        config_mod.parse(text, "k.yaml")
    assert f"{key}:" in str(e.value) and words in str(e.value)
