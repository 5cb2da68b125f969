"""kidgate's runtime: the first addon in the chain. It owns the ``kidgate_*`` options, builds a
complete engine (configuration, lists, approvals, decision log, alerts) and the classifier's
worker processes, and hands them to the other addons, which receive it in their constructors.

The configuration is swapped as a whole on reload, so a hook always sees one consistent
version; an invalid new file keeps the old configuration and logs why. Everything derived
from the configuration (alert rules, the internal pages' hotline and helpline) is rebuilt with
it: ``generation`` counts the versions, so the addons know when to rebuild their part.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http

from kidgate import devices, metrics
from kidgate.decisionlog import DecisionLog, record
from kidgate.engine import Engine, PageFindings, needs_url_model
from kidgate.paths import default_data_dir
from kidgate.proxyauth import ProxyAuthenticator
from kidgate import settings
from policies.config import Config, ConfigError
from policies.core import Evidence, Profile, Verdict

log = logging.getLogger("kidgate")

#: Options whose change rebuilds the runtime (the others are read when used).
_REBUILD = frozenset({"kidgate_config", "kidgate_data_dir", "kidgate_lists", "kidgate_classifier",
                      "kidgate_site_labels", "kidgate_site_labels_ca", "kidgate_workers",
                      "kidgate_auto_update"})
#: Bodies larger than this are streamed, not held in memory (unless mitmproxy's own
#: ``stream_large_bodies`` option is set).
STREAM_LARGE_BODIES = "8m"
#: Answers kept per URL (URL model) and per URL + ETag (pages already classified).
_URL_CACHE = 8192
_PAGE_CACHE = 2048


@dataclass
class Reporting:
    """The reporting side: database, link signer, alerts. Absent when reporting is unavailable."""

    store: Any
    signer: Any
    alerter: Any = None
    pruner: Any = None

    def close(self) -> None:
        if self.alerter is not None:
            self.alerter.close()
        if self.pruner is not None:
            self.pruner.close()


@dataclass
class Runtime:
    """One version of the configuration and everything built from it."""

    config_path: Path | None
    config: Config
    engine: Engine
    data_dir: Path
    decisions: DecisionLog | None = None
    reporting: Reporting | None = None
    updater: Any = None  # lists.autoupdate.AutoUpdater, when the lists update themselves
    generation: int = 0
    _mtime: float | None = None
    _checked: float = 0.0

    @classmethod
    def start(cls, config_path: Path | None, *, data_dir: Path | None = None,
              with_classifier: bool = True, lists_path: Path | None = None,
              site_labels: bool = True, site_labels_ca: str | None = None,
              reporting: bool = True, auto_update: bool = True) -> "Runtime":
        cfg = settings.load(config_path)  # raises ConfigError with file:line:key
        ddir = data_dir or cfg.data_dir or default_data_dir()
        ddir.mkdir(parents=True, exist_ok=True)
        engine = Engine.from_config(cfg, with_classifier=with_classifier, lists_path=lists_path,
                                    data_dir=ddir)
        if site_labels:
            from policies.labels.sitefile import SiteLabelCache
            engine.site_labels = SiteLabelCache(verify=site_labels_ca or True)
        rt = cls(config_path, cfg, engine, ddir, _decision_log(cfg, ddir))
        if reporting:
            rt.reporting = _start_reporting(rt)
            if rt.reporting is not None:
                from reporting import access
                # first_wait=0: a database slow to answer at start never holds a request.
                engine.approvals = access.ApprovalIndex(rt.reporting.store, first_wait=0.0)
        if auto_update and lists_path is None:
            rt.updater = _start_updater(rt)
        rt._mtime = _mtime(config_path)
        return rt

    def maybe_reload(self, every: float = 2.0) -> bool:
        """Reload the config file if it changed. Cheap: at most one ``stat`` per ``every`` s."""
        now = time.monotonic()
        if self.config_path is None or now - self._checked < every:
            return False
        self._checked = now
        m = _mtime(self.config_path)
        if m == self._mtime:
            return False
        self._mtime = m
        try:
            new = settings.load(self.config_path)
        except ConfigError as e:
            log.warning("kidgate: configuration not reloaded, keeping the previous one: %s", e)
            return False
        self.config = new
        self.engine.config = new
        if self.decisions is not None:
            self.decisions.apply(new.log)  # rotation and deletion happen on the log's thread
        if self.reporting is not None:
            _start_alerts(self, self.reporting)
        if self.updater is not None:
            self.updater.stop()
            self.updater = _start_updater(self)
        self.generation += 1
        log.warning("kidgate: configuration reloaded from %s", self.config_path)
        return True

    def close(self) -> None:
        if self.updater is not None:
            self.updater.stop()
        if self.decisions is not None:
            self.decisions.close()
        if self.reporting is not None:
            self.reporting.close()


def _decision_log(cfg: Config, data_dir: Path) -> DecisionLog:
    """decisions.jsonl, and/or rows in the database (``database.decisions``)."""
    rows = None
    if cfg.decisions_to != "file":
        from storage import default_url
        from storage.decisions import DecisionRows
        rows = DecisionRows(cfg.database_url or default_url(data_dir),
                            drop_queries=cfg.drop_queries)
    return DecisionLog(data_dir / "decisions.jsonl", retention=cfg.log, rows=rows,
                       files=cfg.decisions_to != "database")


def _start_updater(rt: Runtime) -> Any:
    """The daily list update (a sleeping thread; the work runs in a child process)."""
    import lists as list_engine
    from lists.autoupdate import AutoUpdater, parse_auto_update
    plan = parse_auto_update(rt.config.lists.get("auto_update"))  # checked when loaded
    configured = rt.config.lists.get("path")
    store = Path(configured).expanduser() if configured else list_engine.updated_store_path(
        rt.data_dir)
    return AutoUpdater(store, plan, config=rt.config_path).start()


def _start_reporting(rt: Runtime) -> Reporting | None:
    try:
        from reporting import tokens
        from reporting.store import Pruner, Store
    except ImportError as e:  # reporting is optional for the filter itself
        log.warning("kidgate: reports and access requests unavailable: %s", e)
        return None
    store = Store.open(rt.data_dir, rt.config.database_url)
    rep = Reporting(store, tokens.Signer(tokens.load_or_create_secret(rt.data_dir)))
    _start_alerts(rt, rep)
    # Its own thread: old tokens, alerts, approvals and answered requests go, never on the
    # event loop; the retention is read on each run, so a reloaded config applies.
    rep.pruner = Pruner(store, lambda: rt.config.log.days)
    return rep


def _start_alerts(rt: Runtime, rep: Reporting) -> None:
    """(Re)build the alerter from the configuration's ``alerts`` section."""
    if rep.alerter is not None:
        rep.alerter.close()
        rep.alerter = None
    if not rt.config.alerts:
        return
    try:
        from reporting import alerts
        rep.alerter = alerts.Alerter.from_config(rt.config.alerts, store=rep.store,
                                                 signer=rep.signer)
    except Exception as e:  # noqa: BLE001 - a broken alert setting must not stop filtering
        log.warning("kidgate: alerts disabled: %s", e)


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        st = path.stat()
        return st.st_mtime_ns + st.st_size
    except OSError:
        return None


def _raise_open_files_limit(want: int = 65536) -> None:
    """Each client connection is a file descriptor (two, with its upstream): a school's
    hundreds of devices, or idle connections by the thousand, must not hit a soft limit of
    1,024 that the hard limit allows raising."""
    import resource
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as e:
        log.warning("kidgate: cannot raise the open-files limit: %s", e)


class _LRU(OrderedDict):
    """A small least-recently-inserted cache. An OrderedDict drops its oldest entry in O(1);
    a plain dict's ``next(iter())`` after many deletions from its front walks every deleted
    slot, which costs every new URL ~10 µs once the cache is full."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)


class KidgateRuntime:
    """The addon that owns kidgate's options and state; the others ask it for everything."""

    def __init__(self) -> None:
        self.current: Runtime | None = None
        self.pool: Any = None  # kidgate.workers.WorkerPool when the classifier is on
        self.devices: devices.DeviceResolver | None = None
        self.arp = devices.ArpTable()
        #: Checks proxy sign-ins when ``proxy_auth`` is configured (proxy_addons.signin).
        self.authenticator: ProxyAuthenticator | None = None
        self._url_cache: _LRU = _LRU(_URL_CACHE)
        self._page_cache: _LRU = _LRU(_PAGE_CACHE)
        self._pool_key: tuple | None = None

    # -- options ----------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("kidgate_config", str, "",
                          "kidgate configuration file (YAML); empty uses the shipped default.")
        loader.add_option("kidgate_data_dir", str, "",
                          "Where kidgate keeps its database and logs.")
        loader.add_option("kidgate_lists", str, "",
                          "Compiled list file; empty uses the configured or shipped lists.")
        loader.add_option("kidgate_classifier", bool, True,
                          "Classify page text and unknown hosts with the shipped models.")
        loader.add_option("kidgate_workers", int, 0,
                          "Classifier worker processes; 0: one per spare CPU (at least one).")
        loader.add_option("kidgate_site_labels", bool, True,
                          "Fetch sites' age-de.xml label files in the background.")
        loader.add_option("kidgate_site_labels_ca", str, "",
                          "CA bundle for verifying label-file fetches (default: the system's).")
        loader.add_option("kidgate_auto_update", bool, True,
                          "Update the lists by themselves (lists.auto_update in the config).")
        loader.add_option("kidgate_timeout_ms", int, 1500,
                          "Longest wait for the classifier before the fail-safe applies.")
        loader.add_option("kidgate_lean", bool, True,
                          "Leave out mitmproxy's optional addons whose options are not set "
                          "(replay, rewriting, saving flows, ...): each costs every request; "
                          "and ask each event only of the addons that answer it.")

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "kidgate_timeout_ms" in updated and not 1 <= opts.kidgate_timeout_ms <= 60_000:
            raise exceptions.OptionsError(
                f"kidgate_timeout_ms must be from 1 to 60000, got {opts.kidgate_timeout_ms}")
        if "kidgate_workers" in updated and not 0 <= opts.kidgate_workers <= 64:
            raise exceptions.OptionsError(
                f"kidgate_workers must be from 0 to 64, got {opts.kidgate_workers}")
        for name in ("kidgate_config", "kidgate_lists", "kidgate_site_labels_ca"):
            value = getattr(opts, name)
            if name in updated and value and not Path(value).expanduser().is_file():
                raise exceptions.OptionsError(f"{name}: no such file: {value}")
        if not updated & _REBUILD and self.current is not None:
            return
        path = Path(opts.kidgate_config).expanduser() if opts.kidgate_config else None
        try:
            rt = Runtime.start(
                path,
                data_dir=Path(opts.kidgate_data_dir).expanduser() if opts.kidgate_data_dir else None,
                with_classifier=False,  # the worker processes load the models, not this one
                site_labels=opts.kidgate_site_labels,
                site_labels_ca=opts.kidgate_site_labels_ca or None,
                auto_update=opts.kidgate_auto_update,
                lists_path=Path(opts.kidgate_lists).expanduser() if opts.kidgate_lists else None)
        except ConfigError as e:
            if self.current is None:
                raise exceptions.OptionsError(f"kidgate: {e}") from None
            log.warning("kidgate: keeping the previous configuration: %s", e)
            return
        self._start_pool(opts, rt)
        old, self.current = self.current, rt
        if old is not None:
            rt.generation = old.generation + 1
            old.close()
        self._set_devices(rt)
        if rt.engine.lists is not None:
            metrics.watch_list_entries(lambda: float(rt.engine.lists.current().entries))
        for name, err in rt.engine.load_errors.items():
            log.warning("kidgate: %s unavailable (%s); child profiles fail safe", name, err)

    def _start_pool(self, opts: Any, rt: Runtime) -> None:
        want = opts.kidgate_classifier and rt.config.classifier.get("enabled", True)
        key = (opts.kidgate_workers,) if want else None
        if key != self._pool_key:
            if self.pool is not None:
                self.pool.close()
                self.pool = None
            self._pool_key = key
            if want:
                from kidgate.workers import WorkerPool
                try:
                    self.pool = WorkerPool(opts.kidgate_workers or None).start()
                except Exception as e:  # noqa: BLE001 - no classifier: child profiles fail safe
                    log.warning("kidgate: classifier workers not started: %s", e)
                    rt.engine.load_errors["classifier"] = f"{type(e).__name__}: {e}"
        if self.pool is not None and self.pool.load_error:
            rt.engine.load_errors["classifier"] = self.pool.load_error

    def _set_devices(self, rt: Runtime) -> None:
        self.devices = devices.DeviceResolver(rt.config, self.arp)
        wanted = rt.config.proxy_auth
        have = self.authenticator.settings if self.authenticator is not None else None
        if wanted != have:  # unchanged settings keep the verified sign-ins and lock-outs
            self.authenticator = ProxyAuthenticator(wanted) if wanted.enabled else None

    # -- life cycle -------------------------------------------------------------------------
    async def running(self) -> None:
        import asyncio
        import gc
        _raise_open_files_limit()
        if ctx.options.stream_large_bodies is None:
            # Bounded memory: a body past this size (a download, an endless chunked page) is
            # streamed instead of held. Pages are classified on what fits below it.
            ctx.options.update(stream_large_bodies=STREAM_LARGE_BODIES)
        if self.pool is not None:
            self.pool.attach(asyncio.get_running_loop())
        # What start-up loaded (lists, reporting, web pages) lives as long as the proxy: the
        # collector need not walk it again after every few thousand allocations of a flow.
        gc.freeze()
        if ctx.options.kidgate_lean:
            from proxy_addons import dispatch
            from proxy_addons.lean import leave_out_idle
            await leave_out_idle(ctx.master.addons, ctx.options)
            dispatch.install(ctx.master.addons)

    async def done(self) -> None:
        rt = self.current
        if rt is not None:
            rt.close()
            if rt.engine.site_labels is not None:
                await rt.engine.site_labels.aclose()
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    # -- what the other addons use ----------------------------------------------------------
    def get(self) -> Runtime | None:
        return self.current

    def refresh(self) -> Runtime | None:
        """The runtime after a reload of a changed configuration file (checked every 2 s)."""
        rt = self.current
        if rt is not None and rt.maybe_reload():
            self._set_devices(rt)
        return rt

    def who(self, ip: str, user: str | None = None,
            wireguard: str | None = None) -> tuple[Profile, str]:
        """The profile for a client address (and proxy-auth user or WireGuard peer), MAC
        address included: the same answer for requests and for connections that carry no
        request (pass-through TLS, safe addresses) and for ``kidgate check --client``. Needs a
        runtime."""
        assert self.devices is not None
        return self.devices.resolve(ip, user=user, wireguard=wireguard)

    @property
    def timeout_s(self) -> float:
        return ctx.options.kidgate_timeout_ms / 1000

    async def url_model_evidence(self, url: str, known: list[Evidence]) -> list[Evidence]:
        """The URL/host model's evidence from a worker process (cached per URL)."""
        if self.pool is None or not needs_url_model(known):
            return []
        hit = self._url_cache.get(url)
        if hit is not None:
            return hit
        from kidgate.workers import WorkerError, evidence_of
        started = time.perf_counter()
        try:
            ev = evidence_of(await self.pool.run("url", (url,), self.timeout_s))
        except WorkerError as e:
            metrics.ERRORS.labels("url model").inc()
            return [Evidence("error", None, f"url model: {e}", kind="url model")]
        metrics.series(metrics.CLASSIFIER, "url").observe(time.perf_counter() - started)
        self._url_cache.put(url, ev)
        return ev

    async def page_findings(self, url: str, headers: dict[str, str], body: bytes,
                            etag: str | None) -> PageFindings:
        """Labels and classifier scores of a page, from a worker process. A page already
        classified under the same URL and ETag is not sent again."""
        from kidgate.workers import BODY_CAP, WorkerError, evidence_of
        key = (url, etag, headers.get("content-type"), headers.get("content-encoding"),
               len(body)) if etag else None
        if key is not None and (hit := self._page_cache.get(key)) is not None:
            return hit
        args = (url, headers, body[:BODY_CAP])
        started = time.perf_counter()
        try:
            if self.pool is not None:
                labels, scores, errors = await self.pool.run("page", args, self.timeout_s)
                found = PageFindings(evidence_of(labels), evidence_of(scores), errors)
                metrics.series(metrics.CLASSIFIER, "page").observe(time.perf_counter() - started)
            else:  # labels only, without the models: still off the event loop
                import asyncio
                from kidgate.engine import page_findings
                loop = asyncio.get_running_loop()
                found = await asyncio.wait_for(
                    loop.run_in_executor(None, page_findings, None, *args), self.timeout_s)
        except (WorkerError, TimeoutError) as e:
            metrics.ERRORS.labels("classifier").inc()
            return PageFindings(errors=(("classifier", f"classifier: {e or 'timed out'}"),))
        if key is not None and not found.errors:
            self._page_cache.put(key, found)
        return found

    def decided(self, flow: http.HTTPFlow, client: str, profile: Profile, verdict: Verdict,
                phase: str) -> None:
        """Log a decision and tell the alert rules about blocks."""
        rt = self.current
        if rt is None:
            return
        from proxy_addons.identify import host_of, url_of
        if rt.decisions is not None:
            rt.decisions.write(record(client=client, profile=profile.name,
                                      host=host_of(flow), verdict=verdict, phase=phase,
                                      method=flow.request.method))
        top = verdict.reasons[0] if verdict.reasons else None
        metrics.count_decision(phase, verdict.action, verdict.category,
                               top.source if top is not None else None)
        alerter = rt.reporting.alerter if rt.reporting is not None else None
        if alerter is not None and verdict.blocked:
            from reporting import alerts
            alerter.notify(alerts.DecisionEvent.from_verdict(
                verdict, url=url_of(flow), profile=profile.name, client=client))


OnDecision = Callable[[http.HTTPFlow, Profile, Verdict], None]
