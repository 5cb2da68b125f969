"""Classification in a small pool of worker processes, off the proxy's event loop and its
interpreter lock.

Threads in the proxy's own process compete with mitmproxy's event loop for the GIL, so CPU work
there still costs the loop its core. Here each worker is a process forked from a fork server
that loaded the models once (:mod:`kidgate._worker_preload`): the models' arrays are shared
copy-on-write, and a replacement worker starts in milliseconds.

The event loop never waits on a worker: a job is a message on a socket pair (a page's body
goes through shared memory), the answer wakes the loop through ``add_reader``. A worker
takes the jobs that queued as one message (at most one page), so under load one round trip
serves several requests, and it has the next message waiting while it works on one
(:data:`PIPELINE`): it never idles until a busy event loop gets round to reading its answer.
Jobs queue in a bounded queue; a job that is not answered in time, or whose worker dies, fails
(:class:`WorkerError`) so that the profile's fail-safe decides; a hung worker is killed, and a
dead one is replaced. Jobs waiting in the queue, or in a message the worker had not begun,
are never lost with a worker: the next free worker takes them.
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kidgate")

#: Bodies are cut to this before they cross to a worker: the page classifier reads at most
#: the first 256 kB (``classifier.extract.MAX_BYTES``), the label readers the first 128 kB.
BODY_CAP = 256 * 1024
#: A slot whose worker keeps dying is restarted at most this often.
RESTART_EVERY = 1.0
#: Most jobs one message to a worker carries (jobs that waited while it was busy).
MAX_BATCH = 16
#: Messages a worker may have at once: the one it works on and the next, so that it starts
#: the next page as soon as it has answered, without waiting for the proxy's loop to read the
#: answer and send more. Each has its own page buffer in the shared memory.
PIPELINE = 2
#: Every message is a pickle behind its length.
_HEADER = struct.Struct("<I")


class WorkerError(Exception):
    """A job could not be done: timeout, a dead worker or a full queue. Fail-safe evidence."""


def default_size() -> int:
    """One worker per spare CPU (the event loop has one), at least one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


# -- the worker process ---------------------------------------------------------------------------
def _name_process(name: bytes) -> None:
    """Show workers as ``kidgate-worker`` in ps/top (Linux), so a parent can tell them apart."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, name, 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _flat(evidence: list[Any]) -> list[tuple]:
    """Evidence as plain tuples: unpickling a frozen dataclass costs ~20 µs of the proxy's
    loop each (its ``__setstate__`` looks up the fields), building one from a tuple ~1 µs."""
    return [(e.source, e.category, e.detail, e.min_age, e.score, e.allow, e.kind, e.features)
            for e in evidence]


def _yield_to_the_proxy() -> None:
    """Workers are batch work, the proxy's event loop is not: a job sent to a worker must not
    take the proxy's CPU away at once (the kernel's wake-up preemption), or every connection
    waits while a page is classified. SCHED_BATCH turns that off and keeps the worker's fair
    share of the CPU (a lower priority would starve it on a busy machine, and a starved worker
    means fail-safe blocks). Best effort: not every system allows it."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass


def _run_job(clf: Any, kind: str, args: tuple) -> Any:
    from kidgate import engine
    if kind == "url":
        return engine.url_findings_fields(clf, *args)
    if kind == "page":
        found = engine.page_findings(clf, *args, fields=True)
        return _flat(found.labels), found.classifier, found.errors
    if kind == "ping":
        return os.getpid()
    raise ValueError(f"unknown job kind {kind!r}")


def evidence_of(flat: list[tuple]) -> list[Any]:
    """The proxy's side of :func:`_flat`."""
    from policies.core import Evidence
    return [Evidence(*t) for t in flat]


def _send(sock: socket.socket, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv(stream: Any) -> Any:
    """One message from a blocking file object; EOFError when the other end closed."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def worker_main(sock: socket.socket) -> None:
    """Answer jobs until the proxy closes its end (or dies: the socket then reads EOF)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the proxy, which stops us
    _name_process(b"kidgate-worker")
    _yield_to_the_proxy()
    from kidgate import _worker_preload as pre  # already imported by the fork server
    try:
        # First the page buffer the proxy shares with this worker (a memfd), then jobs.
        _msg, fds, _flags, _addr = socket.recv_fds(sock, 1, 1)
        if not fds:
            return
        pages = mmap.mmap(fds[0], BODY_CAP * PIPELINE)
        os.close(fds[0])
        stream = sock.makefile("rb")
        _send(sock, ("ready", os.getpid(), pre.ERROR))
        while True:
            # A batch: the jobs that waited while this worker was busy, at most one page (in
            # its own part of the shared buffer). Quick jobs first; one message answers them all.
            batch = sorted(_recv(stream), key=lambda job: job[1] == "page")
            answers = []
            for job_id, kind, args, shared in batch:
                if shared is not None:  # the body waits in the shared buffer: (start, length)
                    start, length = shared
                    args = (*args, pages[start:start + length])
                try:
                    if pre.CLASSIFIER is None and kind != "ping":
                        raise RuntimeError(f"classifier unavailable: {pre.ERROR}")
                    answers.append((job_id, True, _run_job(pre.CLASSIFIER, kind, args)))
                except Exception as e:  # noqa: BLE001 - a bad page fails its job, not the worker
                    answers.append((job_id, False, f"{type(e).__name__}: {e}"[:300]))
            _send(sock, answers)
    except (EOFError, OSError):
        return


# -- the proxy's side ---------------------------------------------------------------------------
@dataclass(eq=False)
class _Job:
    kind: str
    args: tuple
    future: asyncio.Future
    id: int = 0
    timer: asyncio.TimerHandle | None = None
    timeout: float = 0.0


@dataclass(eq=False)
class _Batch:
    """One message to a worker: its jobs, and which page buffer its page (if any) is in."""
    jobs: list[_Job]
    page_buffer: int | None


@dataclass(eq=False)
class _Worker:
    slot: int
    proc: Any
    sock: socket.socket
    pages: mmap.mmap
    pid: int = 0
    ready: bool = False
    batches: deque[_Batch] = field(default_factory=deque)  # sent, unanswered; oldest first
    connected: bool = False
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """``size`` classifier worker processes and a bounded queue of jobs for them.

    Cheap for the event loop by design (the proxy pays for every job in its own process): a
    job is one ``send`` of a small pickled header (page bodies wait in shared memory), its
    answer is read by a reader callback on the socket (``add_reader``) that sets the job's
    future, and its time limit is one timer handle; no stream objects, tasks or shields.
    """

    def __init__(self, size: int | None = None, *, max_queue: int = 256,
                 start_timeout: float = 120.0) -> None:
        self.size = size or default_size()
        self.max_queue = max_queue
        self.start_timeout = start_timeout
        self.load_error: str | None = None
        self.restarts = 0
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["kidgate._worker_preload"])
        self._workers: dict[int, _Worker] = {}
        self._queue: deque[_Job] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = 0
        self._closed = False
        self._last_start: dict[int, float] = {}
        self._starting: set[int] = set()

    # -- life cycle --
    def start(self) -> "WorkerPool":
        """Start every worker and wait until each has its models (start-up only: blocking)."""
        for slot in range(self.size):
            w = self._spawn(slot)
            self._await_ready(w)
            self._workers[slot] = w
        return self

    def _spawn(self, slot: int) -> _Worker:
        ours, theirs = socket.socketpair()
        proc = self._ctx.Process(target=worker_main, args=(theirs,), daemon=True,
                                 name=f"kidgate-worker-{slot}")
        proc.start()
        theirs.close()
        self._last_start[slot] = time.monotonic()
        # Page bodies go through shared memory: one copy in, one copy out, no socket buffers
        # (a socket pair costs the proxy several system calls and kernel copies per page).
        fd = os.memfd_create(f"kidgate-pages-{slot}", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, BODY_CAP * PIPELINE)
            pages = mmap.mmap(fd, BODY_CAP * PIPELINE)
            socket.send_fds(ours, [b"m"], [fd])
        finally:
            os.close(fd)
        return _Worker(slot, proc, ours, pages)

    def _await_ready(self, w: _Worker) -> None:
        """The worker's first message, read blocking (at start-up, or on an executor thread)."""
        w.sock.settimeout(self.start_timeout)
        try:
            msg = _recv(w.sock.makefile("rb"))
        except (OSError, EOFError) as e:
            w.proc.kill()
            w.sock.close()
            raise WorkerError(f"classifier worker did not start: {e or 'it exited'}") from None
        w.sock.settimeout(None)
        _tag, w.pid, error = msg
        w.ready = True
        if error:
            self.load_error = error

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answers wake this event loop (the proxy's); call from that loop."""
        if self._loop is loop:
            return
        self._loop = loop
        for w in self._workers.values():
            self._connect(w)

    def _connect(self, w: _Worker) -> None:
        """Non-blocking socket watched by the loop: answers are read as they arrive, and a
        message the socket cannot take at once waits in the worker's outbox."""
        assert self._loop is not None
        w.sock.setblocking(False)
        self._loop.add_reader(w.sock.fileno(), self._readable, w)
        w.connected = True
        self._dispatch()

    def _readable(self, w: _Worker) -> None:
        """The worker's socket has data: every complete answer in it settles its job."""
        try:
            data = w.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._died(w)
            return
        inbox = w.inbox
        inbox += data
        size_of = _HEADER.size
        while len(inbox) >= size_of:
            (size,) = _HEADER.unpack_from(inbox)
            if len(inbox) < size_of + size:
                return
            try:
                msg = pickle.loads(memoryview(inbox)[size_of:size_of + size])
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
                self._died(w)
                return
            del inbox[:size_of + size]
            self._answered(w, msg)
            if self._workers.get(w.slot) is not w:
                return

    def _writable(self, w: _Worker) -> None:
        """The socket takes more: send what waits in the outbox."""
        try:
            sent = w.sock.send(w.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._died(w)
            return
        del w.outbox[:sent]
        if not w.outbox and self._loop is not None:
            self._loop.remove_writer(w.sock.fileno())

    def _write(self, w: _Worker, data: bytes) -> None:
        """Send at once when the socket takes it (nearly always: job headers are small)."""
        if not w.outbox:
            try:
                sent = w.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
            assert self._loop is not None
            self._loop.add_writer(w.sock.fileno(), self._writable, w)
        w.outbox += data

    def pids(self) -> list[int]:
        return [w.pid for w in self._workers.values() if w.pid]

    def close(self, timeout: float = 2.0) -> None:
        """Stop every worker (closing its socket ends its loop), kill what does not stop."""
        self._closed = True
        workers = list(self._workers.values())
        self._workers.clear()
        for w in workers:
            self._detach(w)
            for batch in w.batches:
                for job in batch.jobs:
                    _fail(job, WorkerError("the proxy is stopping"))
        while self._queue:
            _fail(self._queue.popleft(), WorkerError("the proxy is stopping"))
        deadline = time.monotonic() + timeout
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(1.0)

    # -- jobs --
    async def run(self, kind: str, args: tuple, timeout: float) -> Any:
        """The worker's answer, or :class:`WorkerError` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.attach(loop)
        if self._closed:
            raise WorkerError("the classifier pool is stopped")
        if len(self._queue) >= self.max_queue:
            raise WorkerError(f"classifier queue full ({self.max_queue} pages waiting)")
        self._ids += 1
        job = _Job(kind, args, loop.create_future(), self._ids, timeout=timeout)
        job.timer = loop.call_later(timeout, self._expire, job)
        self._queue.append(job)
        self._dispatch()
        try:
            return await job.future
        finally:
            if job.timer is not None:
                job.timer.cancel()

    def _dispatch(self) -> None:
        """Give the workers the jobs waiting, as one message each: idle workers first, then
        each a next message to have ready (:data:`PIPELINE`). Under load one round trip (one
        send, one wake-up each way) serves several requests."""
        queue = self._queue
        for depth in range(PIPELINE):
            for w in list(self._workers.values()):
                if not queue:
                    return
                if w.ready and w.connected and len(w.batches) == depth:
                    self._send_batch(w)

    def _send_batch(self, w: _Worker) -> None:
        """Send ``w`` the jobs at the head of the queue (at most one page) as one message."""
        queue = self._queue
        used = {b.page_buffer for b in w.batches}
        free = next((i for i in range(PIPELINE) if i not in used), None)
        jobs: list[_Job] = []
        header: list[tuple] = []
        page_buffer: int | None = None
        while queue and len(jobs) < MAX_BATCH:
            job = queue[0]
            if job.future.done():  # given up on (timed out, or its flow went away)
                queue.popleft()
                continue
            args, shared = job.args, None
            if job.kind == "page":  # (url, headers, body): the body goes to shared memory
                if page_buffer is not None or free is None:
                    break  # one page per message, in a buffer no unanswered message uses
                body = args[-1][:BODY_CAP]
                start = free * BODY_CAP
                w.pages[start:start + len(body)] = body
                args, shared, page_buffer = args[:-1], (start, len(body)), free
            header.append((job.id, job.kind, args, shared))
            jobs.append(queue.popleft())
        if not jobs:
            return
        data = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
        w.batches.append(_Batch(jobs, page_buffer))
        try:
            self._write(w, _HEADER.pack(len(data)) + data)
        except OSError:
            w.batches.pop()
            queue.extendleft(reversed(jobs))  # not lost: the next worker takes them
            self._died(w)

    def _answered(self, w: _Worker, answers: list[tuple]) -> None:
        """The worker answered its oldest message (it works through them in order)."""
        batch = w.batches.popleft() if w.batches else _Batch([], None)
        jobs = {job.id: job for job in batch.jobs}
        for job_id, ok, value in answers:
            job = jobs.get(job_id)
            if job is not None and not job.future.done():
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(WorkerError(value))
        self._dispatch()

    def _expire(self, job: _Job) -> None:
        """A job ran out of time: drop it from the queue, or kill the worker stuck on it."""
        _fail(job, WorkerError(f"classifier took longer than {job.timeout * 1000:.0f} ms"))
        try:
            self._queue.remove(job)
            return
        except ValueError:
            pass
        for w in list(self._workers.values()):
            if w.batches and job in w.batches[0].jobs:  # the message it is working on
                log.warning("kidgate: classifier worker %d did not answer in time; replacing it",
                            w.pid)
                w.proc.kill()
                self._died(w)
            # A job in a later message has waited behind a slow one: it alone fails (above);
            # its answer, when it comes, is dropped.

    def _detach(self, w: _Worker) -> None:
        if w.connected and self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(w.sock.fileno())
                self._loop.remove_writer(w.sock.fileno())
            except (ValueError, OSError, RuntimeError):
                pass
        w.connected = False
        try:
            w.sock.close()
        except OSError:
            pass
        try:
            w.pages.close()
        except (BufferError, ValueError):
            pass

    def _died(self, w: _Worker) -> None:
        """The worker is gone: fail the jobs it was working on (fail-safe), put those of a
        message it had not begun back at the head of the queue, start a new one."""
        if self._workers.get(w.slot) is not w:
            return
        del self._workers[w.slot]
        self._detach(w)
        if w.batches:
            for job in w.batches.popleft().jobs:
                _fail(job, WorkerError("classifier worker stopped"))
            waiting = [job for batch in w.batches for job in batch.jobs if not job.future.done()]
            w.batches.clear()
            self._queue.extendleft(reversed(waiting))
            if waiting:
                self._dispatch()  # another worker may be free for them now
        if not self._closed:
            log.warning("kidgate: classifier worker %d stopped; starting a new one", w.pid)
            self._replace(w.slot)
        self._reap(w)

    def _reap(self, w: _Worker) -> None:
        def join() -> None:
            w.proc.join(5.0)
        if self._loop is not None:
            self._loop.run_in_executor(None, join)

    def _replace(self, slot: int) -> None:
        if slot in self._starting or self._loop is None:
            return
        self._starting.add(slot)
        wait = max(0.0, self._last_start.get(slot, 0.0) + RESTART_EVERY - time.monotonic())
        loop = self._loop

        def spawn() -> _Worker:
            time.sleep(wait)
            w = self._spawn(slot)
            self._await_ready(w)
            return w

        def started(fut: asyncio.Future) -> None:
            self._starting.discard(slot)
            if self._closed:
                if not fut.exception():
                    fut.result().proc.kill()
                return
            if fut.exception() is not None:
                log.warning("kidgate: cannot start a classifier worker: %s", fut.exception())
                self._last_start[slot] = time.monotonic()
                self._replace(slot)
                return
            w = fut.result()
            self.restarts += 1
            self._workers[slot] = w
            self._connect(w)

        loop.run_in_executor(None, spawn).add_done_callback(started)


def _fail(job: _Job, error: WorkerError) -> None:
    if not job.future.done():
        job.future.set_exception(error)
    if job.timer is not None:
        job.timer.cancel()


__all__ = ["BODY_CAP", "WorkerError", "WorkerPool", "default_size", "evidence_of", "worker_main"]
