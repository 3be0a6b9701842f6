"""The answer queue's workers: threads of the serving process that carry out queued jobs.

Listeners queue acknowledged work through ``bot.slack.queue`` (the job row, with its dedupe
claims, is committed before the ack). ``JobWorkers`` (threads of the serving process, not the
request threads) take jobs from the database, run the kind's handler with the team's Web API
client (``WorkspaceClients.for_team``) and record the outcome.

Exactly once (for posts in a channel; replies through ``response_url`` cannot be read back
and are sent again after a crash: at least once). The rule: a job's message is sent only by
the process holding the job's lease, under a lease extended over the whole call, and another
process takes the job only after that lease ran out and then reads back before posting.

- Every message a job posts names the job in its metadata (``messaging.post``).
- Right before the call, ``store.hold_job`` extends the holder's lease to POST_HOLD from now
  on the database's clock (longer than a Web API call can last), in a statement that names
  the holder: a process that lost the job (its heartbeat stalled with the database) finds it
  gone and posts nothing (``LeaseLost``). The heartbeat renews leases but never shortens a hold.
- Another process takes a ``posting`` job only when its lease is STALE_AFTER past on the
  database's clock (``take_job``): a call made under a hold is over by then, so its message,
  if it was sent, is in Slack; the new holder has ``verify`` set and reads the conversation
  first (``bot.slack.posted``), marking the job done without posting if the message is there.
- A process never retakes its own job (one of its workers may still be posting it), and a job
  whose call timed out is rescheduled with ``verify`` (the call may have been acted on).
- Only the holder records the outcome (``finish_job`` returns False for a job taken over).

What it does not cover: a process frozen (SIGSTOP, swapped out) between its hold and sending
the request for longer than POST_HOLD + STALE_AFTER (30 s) could send after a new holder read
back; the client's timeout bounds a call, not a freeze of the caller.

Waiting out outages: a failed attempt is retried or failed by ``bot.slack.retry`` (a 429 after
Retry-After, capped; a refused connection, a timeout or a 5xx with capped exponential backoff
and jitter) for as long as the job's retry budget lasts (``RetryPolicy``, from the settings);
past it, or past its deadline (response_url: 30 minutes), it fails with a log line. The asker is
told of a failure only when telling can work: not after an outage outlasted the budget (Slack
is still unreachable), nor when Slack said the bot cannot post there.
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

from ..storage.jobs import DONE, FAILED, STALE_AFTER, JobRecord
from ..storage.rows import utcnow
from .client import NotInstalled, WorkspaceClients
from .messaging import NOT_IN_CHANNEL, before_post, current_job, slack_error
from .posted import find_posted
from .queue import RESPONSE_URL_LIFETIME, Handler, JobContext, JobQueue
from .retry import RetryPolicy, classify, describe

logger = logging.getLogger(__name__)

JOB_WORKERS = 16  # threads per process; posting is I/O: a slow Slack needs more in flight
STUCK_AFTER = 120.0  # seconds one job may hold a worker before /healthz calls it stuck
HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 1.0  # how often an idle worker looks for jobs queued by other processes
# A lease held over a post: longer than one Web API call can last. Of the client's attempts
# (bot.slack.client) only one can wait out TIMEOUT_SECONDS (10 s): the others follow a refused
# connection (at once) or a 429 with Retry-After of at most 2 s (twice): about 15 s at worst.
# Not longer: a process killed mid-post leaves its job to the next one after this + STALE_AFTER.
POST_HOLD = timedelta(seconds=20)
# Slack errors after which telling the asker cannot work either (the bot cannot post there).
CANNOT_TELL = NOT_IN_CHANNEL | {"is_archived", "account_inactive", "invalid_auth", "token_revoked"}


class LeaseLost(Exception):
    """The job was taken over by another process before this one posted it: post nothing."""


class JobWorkers:
    """Threads that carry out queued jobs, and the process's heartbeat."""

    def __init__(
        self,
        queue: JobQueue,
        clients: WorkspaceClients,
        *,
        threads: int = JOB_WORKERS,
        retry: RetryPolicy | None = None,
        post_hold: timedelta = POST_HOLD,
        stale_after: timedelta = STALE_AFTER,
        heartbeat: float = HEARTBEAT_SECONDS,
    ):
        """``post_hold``, ``stale_after`` and ``heartbeat``: the lease's times (tests shorten
        them; a heartbeat must come several times within ``stale_after``)."""
        self.queue = queue
        self.retry = retry or RetryPolicy()
        self.post_hold = post_hold
        self.stale_after = stale_after
        self.heartbeat = heartbeat
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
        while (job := self.store.take_job(self.owner, stale_after=self.stale_after)) is not None:
            self._carry_out(job)
            count += 1
        return count

    # --- health -----------------------------------------------------------------------------
    def health(self) -> tuple[bool, dict]:
        """(healthy, details): the heartbeat reaches the database, no worker is stuck or dead."""
        now = time.monotonic()
        details: dict = {"workers": self._count}
        problems = []
        if self.last_beat is None or now - self.last_beat > 3 * self.heartbeat + 1:
            problems.append(f"database not writable: {self.beat_error or 'no heartbeat'}")
        with self._busy_lock:
            stuck = [key for since, key in self._busy.values() if now - since > STUCK_AFTER]
        if stuck:
            problems.append(f"{len(stuck)} worker(s) stuck on a job for over {STUCK_AFTER:g}s")
        if not self._stopping.is_set():
            dead = sum(1 for thread in self._threads if not thread.is_alive())
            if dead:
                problems.append(f"{dead} worker thread(s) died")
        # Jobs waiting on Slack (or on a token) are reported, but do not make the process
        # unhealthy: restarting it would not bring Slack back.
        try:
            waiting, oldest = self.store.job_backlog()
            details["waiting_on_slack"] = {
                "jobs": waiting,
                "oldest_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else 0.0,
            }
        except Exception as exc:
            from ..errors import first_line

            details["waiting_on_slack"] = {"error": first_line(str(getattr(exc, "orig", None) or exc))}
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
        while not self._stopping.wait(self.heartbeat):
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
                job = self.store.take_job(self.owner, stale_after=self.stale_after)
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
                self._hand_back(job)
            finally:
                with self._busy_lock:
                    self._busy.pop(name, None)

    def _hand_back(self, job: JobRecord) -> None:
        """A job whose outcome could not be recorded (the database out of reach) goes back to
        the queue, to be looked for before it is posted again, as soon as the database answers.
        Left as it was, it would stay ``posting`` under this process: its heartbeat renews the
        lease and no process takes over a live one, so it would wait for the next restart."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                self.store.reschedule_job(
                    job.id, self.owner, run_after=utcnow(), error="outcome not recorded", verify=True
                )
                return
            except Exception:
                attempt += 1
                self._stopping.wait(self.retry.backoff(attempt))
        # Stopping: the drain's release_jobs (or the next process, once the lease runs out)
        # hands it on, looked for first.

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
            retry_in = self.retry.backoff(job.attempts)
            if self.retry.spent(job.created_at, utcnow(), retry_in):
                logger.error("job %s (%s in %s): no client: %s; failed", job.key, job.kind, job.channel, exc)
                self.store.finish_job(job.id, self.owner, status=FAILED, error=describe(exc))
                return
            logger.warning(
                "job %s (%s in %s): no client: %s; retrying in %.1fs",
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
        hold = before_post.set(lambda: self._hold(job))
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
            except LeaseLost:
                logger.warning("job %s was taken over by another process: not posting it", job.key)
                return
            except Exception as exc:
                self._failed(job, handler, client, exc)
                return
            ts = result if isinstance(result, str) else None
            if not self.store.finish_job(job.id, self.owner, status=DONE, message_ts=ts):
                logger.warning("job %s finished after another process took it over", job.key)
        finally:
            before_post.reset(hold)
            current_job.reset(token)

    def _hold(self, job: JobRecord) -> None:
        if not self.store.hold_job(job.id, self.owner, for_=self.post_hold):
            raise LeaseLost(job.key)

    def _failed(self, job: JobRecord, handler: Handler, client: WebClient, exc: BaseException) -> None:
        retry = classify(exc, job.attempts, self.retry)
        now = utcnow()
        if retry is not None and not self.retry.spent(job.created_at, now, retry.after):
            run_after = now + timedelta(seconds=retry.after)
            if job.deadline is not None:
                run_after = min(run_after, job.deadline)
            logger.warning(
                "job %s (%s in %s): %s; retrying in %.1fs (attempt %d)",
                job.key,
                job.kind,
                job.channel,
                retry.why,
                retry.after,
                job.attempts,
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
                "job %s (%s in %s) gave up after %d attempts in %.0fs (retry budget %gs): %s",
                job.key,
                job.kind,
                job.channel,
                job.attempts,
                (now - job.created_at).total_seconds(),
                self.retry.budget,
                why,
            )
        # Tell the asker only when telling can work: Slack answered, and not that the bot
        # cannot post there.
        if handler.tell_failure is not None and retry is None and slack_error(exc) not in CANNOT_TELL:
            try:
                handler.tell_failure(JobContext(job, client))
            except Exception:
                logger.exception("job %s: could not tell the asker that it failed", job.key)
        self.store.finish_job(job.id, self.owner, status=FAILED, error=why)
