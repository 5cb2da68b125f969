"""WireGuard for phones and tablets away from home: every device listed with ``wireguard:``
gets a tunnel of its own into kidgate, so it is filtered on mobile data too and recognised by
its key, not by an address (inside the tunnel every peer has the same one).

mitmproxy's WireGuard mode serves one peer per server, so ``kidgate run`` starts one server per
device, on the device's own UDP port, with the keys kept in ``DATA_DIR/wireguard/NAME.json``
(mitmproxy's format, readable by kidgate's user only). ``kidgate wireguard NAME`` prints the
configuration to import in the WireGuard app, and a QR code to scan with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from policies.config import Config, Device

KEY_DIR = "wireguard"
#: mitmproxy answers DNS inside the tunnel at this address.
TUNNEL_DNS = "10.0.0.53"


def key_file(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / KEY_DIR / f"{name}.json"


def ensure_keys(data_dir: Path, name: str) -> dict[str, str]:
    """The device's server and client keys, made on first use (file mode 0600: the client's
    private key is in it, as mitmproxy needs it to print the client configuration)."""
    from mitmproxy_rs import wireguard as wg
    path = key_file(data_dir, name)
    if path.exists():
        keys = json.loads(path.read_text(encoding="utf-8"))
        wg.pubkey(keys["server_key"]), wg.pubkey(keys["client_key"])  # fail on a broken file
        return keys
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = {"server_key": wg.genkey(), "client_key": wg.genkey()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(keys, f, indent=4)
    return keys


def devices(cfg: Config) -> list[Device]:
    return [d for d in cfg.devices if d.wireguard is not None]


def modes(cfg: Config, data_dir: Path) -> list[str]:
    """mitmdump options for one WireGuard server per device (keys made where missing)."""
    out: list[str] = []
    for dev in devices(cfg):
        assert dev.wireguard is not None
        ensure_keys(data_dir, dev.wireguard)
        out += ["--mode", f"wireguard:{key_file(data_dir, dev.wireguard)}@{dev.wireguard_port}"]
    return out


def client_config(keys: dict[str, str], endpoint: str, port: int) -> str:
    """The configuration the device's WireGuard app imports. All IPv4 and IPv6 traffic goes
    into the tunnel: kidgate filters IPv4 and drops IPv6, so nothing leaves around it."""
    from mitmproxy_rs import wireguard as wg
    host = f"[{endpoint}]" if ":" in endpoint else endpoint
    return (f"[Interface]\nPrivateKey = {keys['client_key']}\nAddress = 10.0.0.1/32\n"
            f"DNS = {TUNNEL_DNS}\n\n[Peer]\nPublicKey = {wg.pubkey(keys['server_key'])}\n"
            f"AllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = {host}:{port}\n")


def _own_address() -> str:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("wireguard", help="the WireGuard configuration of a device "
                                                "(devices: wireguard: NAME) for its app")
    p.add_argument("name", help="the device's wireguard name in the configuration")
    p.add_argument("--config", "-c", type=Path, default=None, help="configuration file")
    p.add_argument("--data-dir", dest="wg_data_dir", type=Path, default=None,
                   help="where kidgate keeps its keys (default: the proxy's data directory)")
    p.add_argument("--endpoint", help="the address or name the device reaches kidgate at "
                                      "(from outside: your router's public name; default: "
                                      "this machine's address)")
    p.add_argument("--qr", action="store_true", help="also print a QR code for the app")
    p.set_defaults(func=cmd_wireguard)


def cmd_wireguard(args: argparse.Namespace) -> int:
    from kidgate import settings
    from kidgate.paths import default_data_dir
    cfg = settings.load(args.config)
    found = [d for d in devices(cfg) if d.wireguard == args.name]
    if not found:
        names = ", ".join(d.wireguard or "" for d in devices(cfg)) or "none"
        raise SystemExit(f"kidgate wireguard: no device with wireguard: {args.name} in the "
                         f"configuration (WireGuard devices: {names})")
    data_dir = args.wg_data_dir or cfg.data_dir or default_data_dir()
    keys = ensure_keys(data_dir, args.name)
    conf = client_config(keys, args.endpoint or _own_address(), found[0].wireguard_port or 0)
    print(conf)
    if args.qr:
        import segno
        segno.make(conf, error="l").terminal(out=sys.stdout, compact=True)
    return 0
