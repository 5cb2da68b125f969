"""The worker pool's messages, with real worker processes and the shipped models: many jobs in
flight at once (sent to a worker in batches, a page at most in each, two messages at once per
worker) each get their own answer (the same as classifying in this process), a message
larger than the socket takes at once still arrives whole, and a job that waits too long fails
with ``WorkerError`` instead of waiting for ever."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator

import pytest

import classifier
from kidgate import engine
from kidgate.workers import WorkerError, WorkerPool, evidence_of

pytestmark = pytest.mark.slow

PAGE = (b"<!doctype html><html><head><title>%s</title></head><body><p>%s</p></body></html>")
URLS = [f"http://www.{name}.test/{path}?id={i}"
        for i, (name, path) in enumerate([("garden-news", "tomatoes"), ("casino-royal", "poker"),
                                          ("free-vpn", "unblock"), ("school-maths", "fractions"),
                                          ("hot-girls", "videos"), ("gun-shop", "rifles")] * 4)]


@pytest.fixture(scope="module")
def local_classifier():
    return classifier.load()


def _run(coro):
    return asyncio.run(coro)


@contextlib.asynccontextmanager
async def _one_stopped_worker() -> AsyncIterator[tuple[WorkerPool, int]]:
    """A pool of one worker, stopped (SIGSTOP): it takes jobs and answers none until resumed
    or replaced; the pool and the worker's pid."""
    pool = WorkerPool(1).start()
    try:
        pool.attach(asyncio.get_running_loop())
        [pid] = pool.pids()
        os.kill(pid, signal.SIGSTOP)
        yield pool, pid
    finally:
        pool.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_answers_reach_their_own_jobs_with_many_in_flight(local_classifier, workers):
    """One worker has two pages in its two page buffers at once; two workers, four."""
    async def main():
        pool = WorkerPool(workers).start()
        try:
            pages = [("http://www.garden-news.test/p%d" % i, {"content-type": "text/html"},
                      PAGE % (b"Page %d" % i, b"tomatoes " * i + b"poker casino bets " * (i % 3)))
                     for i in range(12)]
            jobs = [pool.run("url", (u,), 30) for u in URLS]
            jobs += [pool.run("page", p, 30) for p in pages]
            answers = await asyncio.gather(*jobs)
        finally:
            pool.close()
        return pages, answers

    pages, answers = _run(main())
    for url, got in zip(URLS, answers[:len(URLS)]):
        assert evidence_of(got) == engine.url_findings(local_classifier, url), url
    for page, got in zip(pages, answers[len(URLS):]):
        want = engine.page_findings(local_classifier, *page)
        labels, scores, errors = got
        assert evidence_of(scores) == want.classifier
        assert evidence_of(labels) == want.labels and tuple(errors) == want.errors


def test_a_message_larger_than_the_socket_buffer_arrives_whole(local_classifier):
    long_url = "http://www.garden-news.test/search?q=" + "tomato+" * 60_000  # ~420 kB

    async def main():
        pool = WorkerPool(1).start()
        try:
            loop = asyncio.get_running_loop()
            pool.attach(loop)
            for w in pool._workers.values():  # the smallest send buffer the kernel allows
                w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            return await asyncio.gather(pool.run("url", (long_url,), 30),
                                        pool.run("url", (URLS[1],), 30))
        finally:
            pool.close()

    big, small = _run(main())
    assert evidence_of(big) == engine.url_findings(local_classifier, long_url)
    assert evidence_of(small) == engine.url_findings(local_classifier, URLS[1])


def test_jobs_queued_behind_a_hung_worker_are_answered_by_its_replacement():
    """A busy worker already has the jobs that queued meanwhile, as its next message: when it
    hangs, the job it was working on fails (fail-safe), and those of the message it had not
    begun go back to the queue and, as one batch, to the worker that replaces it."""
    async def main():
        async with _one_stopped_worker() as (pool, pid):
            first = asyncio.ensure_future(pool.run("url", (URLS[0],), 0.3))
            await asyncio.sleep(0.05)  # the first job is with the stopped worker
            batch = [asyncio.ensure_future(pool.run("url", (u,), 5)) for u in URLS[1:4]]
            await asyncio.sleep(0.05)
            [stopped] = pool._workers.values()
            assert len(stopped.batches) == 2  # the next message is with the worker already
            results = await asyncio.gather(first, *batch, return_exceptions=True)
            later = await pool.run("url", (URLS[4],), 30)
            return pid, pool.pids(), results, later

    old, now, results, later = _run(main())
    assert isinstance(results[0], WorkerError)
    # The three that queued went to the replacement in one batch, after the first failed.
    assert all(isinstance(r, list) for r in results[1:]), results
    assert now and old not in now and isinstance(later, list)


def test_a_job_that_waits_too_long_fails_and_the_pool_recovers():
    async def main():
        async with _one_stopped_worker() as (pool, pid):  # takes the job, never answers
            with pytest.raises(WorkerError, match="longer than 200 ms"):
                await pool.run("url", (URLS[0],), 0.2)
            # The stuck worker is killed and replaced; the next job is answered.
            answer = await pool.run("url", (URLS[0],), 30)
            return pid, pool.pids(), answer

    old, now, answer = _run(main())
    assert now and old not in now
    assert isinstance(answer, list)


def test_a_job_waiting_behind_a_slow_message_fails_alone():
    """A job in a worker's next message that runs out of time while the worker is still on the
    message before it fails (fail-safe) without the worker being killed: it is slow, not hung
    on that job. The job before it is answered."""
    async def main():
        async with _one_stopped_worker() as (pool, pid):
            slow = asyncio.ensure_future(pool.run("url", (URLS[0],), 10))
            await asyncio.sleep(0.05)
            with pytest.raises(WorkerError, match="longer than 200 ms"):
                await pool.run("url", (URLS[1],), 0.2)
            os.kill(pid, signal.SIGCONT)
            answer = await slow
            return pid, pool.pids(), answer

    old, now, answer = _run(main())
    assert now == [old]
    assert isinstance(answer, list)
