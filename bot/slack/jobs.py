"""The answer queue's workers: threads of the serving process that carry out queued jobs.

Listeners queue acknowledged work through ``bot.slack.queue`` (the job row, with its dedupe
claims, is committed before the ack). ``JobWorkers`` (threads of the serving process, not the
request threads) take jobs from the database, run the kind's handler with the team's Web API
client (``WorkspaceClients.for_team``) and record the outcome.

Exactly once: every message a job posts names the job in its metadata; a job that may have
posted already (``verify``: its process died while posting, or a post timed out) is looked
for first and marked done without posting if it is there (``bot.slack.posted``). Replies through
``response_url`` cannot be read back: they are sent again after a crash (at least once). The
job row is held by one owner at a time (``take_job`` under a heartbeat lease), and its outcome is
written only by that owner (``finish_job`` returns False for a job another process took over).

Bounded waits: a failed attempt is retried or failed by ``bot.slack.retry`` (a 429 after
Retry-After, capped; a timeout or 5xx with backoff, verified first), so no thread sleeps out a
slow channel. After MAX_ATTEMPTS, or past its deadline (response_url: 30 minutes), a job fails
with a log line and, where Slack still lets us, a message to the asker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from slack_sdk import WebClient

from ..storage.jobs import DONE, FAILED, JobRecord
from ..storage.rows import utcnow
from .client import NotInstalled, WorkspaceClients
from .messaging import current_job
from .posted import find_posted
from .queue import RESPONSE_URL_LIFETIME, Handler, JobContext, JobQueue
from .retry import MAX_ATTEMPTS, classify, describe

logger = logging.getLogger(__name__)

JOB_WORKERS = 16  # threads per process; posting is I/O: a slow Slack needs more in flight
STUCK_AFTER = 120.0  # seconds one job may hold a worker before /healthz calls it stuck
HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 1.0  # how often an idle worker looks for jobs queued by other processes


class JobWorkers:
    """Threads that carry out queued jobs, and the process's heartbeat."""

    def __init__(self, queue: JobQueue, clients: WorkspaceClients, *, threads: int = JOB_WORKERS):
        self.queue = queue
        self.store = queue.store
        self.clients = clients
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = utcnow()
        self._count = threads
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._busy: dict[str, tuple[float, str]] = {}  # thread name -> (since, job key)
        self._busy_lock = threading.Lock()
        self.last_beat: float | None = None  # monotonic time of the last heartbeat written
        self.beat_error: str | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._beat()
        beat = threading.Thread(target=self._beat_loop, name="job-heartbeat", daemon=True)
        beat.start()
        for n in range(self._count):
            thread = threading.Thread(target=self._work, name=f"job-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        counts = self.store.job_counts()
        logger.info(
            "answer queue: %d workers (%s); %d pending, %d posting at start",
            self._count,
            self.owner,
            counts.get("pending", 0),
            counts.get("posting", 0),
        )

    def stop_taking(self) -> None:
        """Take no new jobs (shutdown begins); jobs in hand are finished."""
        if not self._stopping.is_set():
            self._stopping.set()
            for _ in self._threads:
                self.queue.wake.release()

    def drain(self, timeout: float) -> None:
        """Stop taking jobs, wait up to ``timeout`` s for those in hand, hand the rest over
        (in-flight jobs are verified by the next process) and log what was left."""
        self.stop_taking()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._busy_lock:
            in_flight = sorted(key for _, key in self._busy.values())
        try:
            released = self.store.release_jobs(self.owner)
            counts = self.store.job_counts()
        except Exception:
            logger.exception("could not hand over the jobs of %s", self.owner)
            return
        logger.info(
            "answer queue stopped: %d job(s) in flight handed to the next process%s; %d pending left queued",
            released,
            f" ({', '.join(in_flight)})" if in_flight else "",
            counts.get("pending", 0),
        )

    def run_due(self) -> int:
        """Carry out every due job on the calling thread until none is due; how many ran (the
        worker threads do the same in a loop; tests drive the queue with this)."""
        count = 0
        while (job := self.store.take_job(self.owner)) is not None:
            self._carry_out(job)
            count += 1
        return count

    # --- health -----------------------------------------------------------------------------
    def health(self) -> tuple[bool, dict]:
        """(healthy, details): the heartbeat reaches the database, no worker is stuck or dead."""
        now = time.monotonic()
        details: dict = {"workers": self._count}
        problems = []
        if self.last_beat is None or now - self.last_beat > 3 * HEARTBEAT_SECONDS + 1:
            problems.append(f"database not writable: {self.beat_error or 'no heartbeat'}")
        with self._busy_lock:
            stuck = [key for since, key in self._busy.values() if now - since > STUCK_AFTER]
        if stuck:
            problems.append(f"{len(stuck)} worker(s) stuck on a job for over {STUCK_AFTER:g}s")
        if not self._stopping.is_set():
            dead = sum(1 for thread in self._threads if not thread.is_alive())
            if dead:
                problems.append(f"{dead} worker thread(s) died")
        if problems:
            details["problems"] = problems
        return not problems, details

    # --- loops ------------------------------------------------------------------------------
    def _beat(self) -> None:
        try:
            self.store.beat(self.owner, self.started_at)
            self.last_beat = time.monotonic()
            self.beat_error = None
        except Exception as exc:
            from ..errors import first_line

            self.beat_error = first_line(str(getattr(exc, "orig", None) or exc))
            logger.error("answer queue heartbeat failed: %s", self.beat_error)

    def _beat_loop(self) -> None:
        last_prune = 0.0
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            self._beat()
            if time.monotonic() - last_prune > 600:
                last_prune = time.monotonic()
                try:
                    self.store.prune_jobs()
                except Exception:
                    logger.exception("could not prune finished jobs")

    def _work(self) -> None:
        name = threading.current_thread().name
        while not self._stopping.is_set():
            try:
                job = self.store.take_job(self.owner)
            except Exception:
                logger.exception("could not take a job from the queue")
                self._stopping.wait(POLL_SECONDS)
                continue
            if job is None:
                self.queue.wake.acquire(timeout=POLL_SECONDS)
                continue
            with self._busy_lock:
                self._busy[name] = (time.monotonic(), job.key)
            try:
                self._carry_out(job)
            except Exception:
                logger.exception("job %s: could not record its outcome", job.key)
            finally:
                with self._busy_lock:
                    self._busy.pop(name, None)

    def _carry_out(self, job: JobRecord) -> None:
        handler = self.queue.handlers.get(job.kind)
        if handler is None:
            logger.error("job %s: no handler for kind %r; failed", job.key, job.kind)
            self.store.finish_job(job.id, self.owner, status=FAILED, error=f"unknown kind {job.kind}")
            return
        try:
            client = self.clients.for_team(job.team or None, job.enterprise)
        except NotInstalled as exc:  # uninstalled since it was asked: nobody left to answer
            logger.warning("job %s (%s in %s) dropped: %s", job.key, job.kind, job.channel, exc)
            self.store.finish_job(job.id, self.owner, status=FAILED, error="not_installed")
            return
        except Exception as exc:  # a token refresh failed (Slack down?): try again later
            retry_in = min(2.0**job.attempts, 30.0)
            if job.attempts >= MAX_ATTEMPTS:
                logger.error("job %s (%s in %s): no client: %s; failed", job.key, job.kind, job.channel, exc)
                self.store.finish_job(job.id, self.owner, status=FAILED, error=describe(exc))
                return
            logger.warning(
                "job %s (%s in %s): no client: %s; retrying in %.0fs",
                job.key,
                job.kind,
                job.channel,
                exc,
                retry_in,
            )
            self.store.reschedule_job(
                job.id,
                self.owner,
                run_after=utcnow() + timedelta(seconds=retry_in),
                error=describe(exc),
                verify=job.verify,
            )
            return
        token = current_job.set(job)
        try:
            if job.deadline is not None and utcnow() > job.deadline:
                logger.warning(
                    "job %s (%s in %s) expired unanswered: Slack's response_url lasts %s "
                    "(attempts: %d, last error: %s)",
                    job.key,
                    job.kind,
                    job.channel,
                    RESPONSE_URL_LIFETIME,
                    job.attempts - 1,
                    job.last_error,
                )
                self.store.finish_job(job.id, self.owner, status=FAILED, error="expired")
                return
            try:
                # Exactly once: a job that may have posted (``verify``) looks for a message naming
                # it before posting; every post of ``handler.run`` names it (``current_job``, set
                # above), and only the owner holding the row records it done.
                if job.verify and handler.verifiable:
                    posted = find_posted(client, job)
                    if posted:
                        logger.info("job %s was already posted (%s): not posting it again", job.key, posted)
                        self.store.finish_job(job.id, self.owner, status=DONE, message_ts=posted)
                        return
                result = handler.run(JobContext(job, client))
            except Exception as exc:
                self._failed(job, handler, client, exc)
                return
            ts = result if isinstance(result, str) else None
            if not self.store.finish_job(job.id, self.owner, status=DONE, message_ts=ts):
                logger.warning("job %s finished after another process took it over", job.key)
        finally:
            current_job.reset(token)

    def _failed(self, job: JobRecord, handler: Handler, client: WebClient, exc: BaseException) -> None:
        retry = classify(exc, job.attempts)
        if retry is not None and job.attempts < MAX_ATTEMPTS:
            run_after = utcnow() + timedelta(seconds=retry.after)
            if job.deadline is not None:
                run_after = min(run_after, job.deadline)
            logger.warning(
                "job %s (%s in %s): %s; retrying in %.0fs (attempt %d of %d)",
                job.key,
                job.kind,
                job.channel,
                retry.why,
                retry.after,
                job.attempts,
                MAX_ATTEMPTS,
            )
            self.store.reschedule_job(
                job.id, self.owner, run_after=run_after, error=retry.why, verify=retry.verify
            )
            return
        why = retry.why if retry is not None else describe(exc)
        if retry is None:
            logger.error("job %s (%s in %s) failed: %s", job.key, job.kind, job.channel, why, exc_info=exc)
        else:
            logger.error(
                "job %s (%s in %s) gave up after %d attempts: %s",
                job.key,
                job.kind,
                job.channel,
                job.attempts,
                why,
            )
        if handler.tell_failure is not None:
            try:
                handler.tell_failure(JobContext(job, client))
            except Exception:
                logger.exception("job %s: could not tell the asker that it failed", job.key)
        self.store.finish_job(job.id, self.owner, status=FAILED, error=why)
