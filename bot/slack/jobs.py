"""The answer queue's Slack side: listeners enqueue acknowledged work, workers carry it out.

A listener turns its request into a job (``JobQueue.submit``, one transaction with the
request's dedupe claims) and only then acknowledges, so the 3-second ack never waits for an
answer and an acknowledged request survives a crash. ``JobWorkers`` (threads of the serving
process, not the request threads) take jobs from the database, run the kind's handler with
the team's Web API client (``WorkspaceClients.for_team``) and record the outcome.

Exactly once: every message a job posts carries Slack message ``metadata`` naming the job
(``event_type`` ``advisor_answer``, ``event_payload.job`` = its key). A job taken with
``verify`` set (its process died while posting, or a post timed out) first reads its thread
(``conversations.replies``) or channel (``conversations.history``) and is marked done,
without posting, if a message naming it is there. Replies through ``response_url``
(ephemeral) cannot be read back: they are sent again after a crash (at least once).

Bounded waits: a 429 reschedules the job after Retry-After (capped at RETRY_AFTER_CAP), a
timeout or 5xx reschedules it with backoff (verified first), so no thread sleeps out a slow
channel. After MAX_ATTEMPTS, or past its deadline (response_url: 30 minutes), a job fails
with a log line and, where Slack still lets us, a message to the asker.
"""

from __future__ import annotations

import contextvars
import http.client
import inspect
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.error import URLError

from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..storage import JobRecord, NewJob, Store
from ..storage.jobs import DONE, FAILED, Enqueued
from ..storage.rows import utcnow
from . import blocks
from .client import NotInstalled, WorkspaceClients, never_sent

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "advisor_answer"
MAX_OPEN_JOBS = 500  # pending + posting; beyond this a request is told "busy, try again"
JOB_WORKERS = 16  # threads per process; posting is I/O: a slow Slack needs more in flight
MAX_ATTEMPTS = 6
RETRY_AFTER_CAP = 20.0  # seconds: a longer Retry-After is retried at the cap (and counted)
RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack's limit on a response_url
STUCK_AFTER = 120.0  # seconds one job may hold a worker before /healthz calls it stuck
HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 1.0  # how often an idle worker looks for jobs queued by other processes
SLACK_OUTAGE_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
BUSY_TEXT = "I'm busy answering a lot of questions right now. Please try again in a minute."


def busy_message() -> dict:
    return blocks.notice(BUSY_TEXT)


# The job whose handler is running on this thread: ``messaging.post`` names it in the message.
current_job: contextvars.ContextVar[JobRecord | None] = contextvars.ContextVar("current_job", default=None)


def job_metadata() -> dict | None:
    """The ``metadata`` of a message posted by the running job (None outside a job)."""
    job = current_job.get()
    if job is None:
        return None
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"job": job.key}}


@dataclass(frozen=True)
class Handler:
    """How to carry out one kind of job.

    ``run`` does the work (its posts carry the job's metadata); ``tell_failure`` tells the
    asker, best effort, that it failed for good. ``verifiable``: the job posts in its channel
    (``job.thread_ts``'s thread, else top level), so a possibly-sent post can be looked for.
    """

    run: Callable[[JobRecord, WebClient], object]
    tell_failure: Callable[[JobRecord, WebClient], object] | None = None
    verifiable: bool = True


class JobQueue:
    """Enqueueing for listeners, and the handler of each kind of job for the workers."""

    def __init__(self, store: Store, *, limit: int = MAX_OPEN_JOBS):
        self.store = store
        self.limit = limit
        self.handlers: dict[str, Handler] = {}
        self.wake = threading.Semaphore(0)
        self._notices = None

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def submit(self, job: NewJob, *, claims: tuple[str, ...] = ()) -> Enqueued:
        """Record ``job`` (queued, duplicate or busy: see ``Store.enqueue_job``); raises when the
        database cannot record it (then do not acknowledge as if it were taken)."""
        outcome = self.store.enqueue_job(job, claims=claims, limit=self.limit)
        if outcome.status == "queued":
            self.wake.release()
        elif outcome.status == "busy":
            logger.warning(
                "queue full (%d open jobs): told %s in %s to try again", self.limit, job.kind, job.channel
            )
        return outcome

    def notice(self, send: Callable[[], object], what: str) -> None:
        """Send a short notice (busy) off the request thread, best effort."""
        from concurrent.futures import ThreadPoolExecutor

        if self._notices is None:
            self._notices = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notice")

        def run() -> None:
            try:
                send()
            except Exception:
                logger.exception("could not send the %s notice", what)

        self._notices.submit(run)

    def deferred(
        self,
        kind: str,
        listener: Callable,
        *,
        where: Callable[[dict], tuple[str, str | None]] | None = None,
    ) -> Callable:
        """A Bolt listener that queues the request and acknowledges; a worker later calls
        ``listener`` with the same arguments (``ack`` a no-op, ``respond`` to the request's
        response_url, ``client`` the team's). ``where(body)``: the channel and thread the
        listener posts in (verifiable), None if it only answers through response_url."""

        def listen(ack, body: dict, context: BoltContext) -> None:
            team = context.team_id or (body.get("team") or {}).get("id") or body.get("team_id") or ""
            channel, thread_ts = where(body) if where else (_channel_of(body), None)
            job = NewJob(
                key=f"{kind}:{team}:{body.get('trigger_id') or body.get('event_id') or uuid.uuid4().hex}",
                kind=kind,
                team=team,
                enterprise=context.enterprise_id,
                channel=channel,
                thread_ts=thread_ts,
                payload={"body": body, "context": _context_values(context)},
                deadline=utcnow() + RESPONSE_URL_LIFETIME if body.get("response_url") else None,
            )
            outcome = self.submit(job)
            ack()
            if outcome.status == "busy" and body.get("response_url"):
                respond = Respond(response_url=body["response_url"])
                self.notice(
                    lambda: respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False), "busy"
                )

        def run(job: JobRecord, client: WebClient) -> None:
            body = job.payload["body"]
            context = BoltContext(job.payload.get("context") or {})
            context["client"] = client
            response_url = body.get("response_url")
            available = {
                "ack": lambda *args, **kwargs: None,
                "body": body,
                "event": body.get("event"),
                "payload": (body.get("actions") or [body])[0],
                "action": (body.get("actions") or [None])[0],
                "command": body,
                "view": body.get("view"),
                "respond": Respond(response_url=response_url) if response_url else None,
                "client": client,
                "context": context,
                "logger": logging.getLogger(getattr(listener, "__module__", __name__)),
            }
            names = inspect.signature(listener).parameters
            listener(**{name: available.get(name) for name in names})

        self.register(kind, Handler(run=run, verifiable=where is not None))
        return listen


def _channel_of(body: dict) -> str:
    container = body.get("container") or {}
    return (
        container.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or body.get("channel_id")
        or (body.get("event") or {}).get("channel")
        or ""
    )


def _context_values(context: BoltContext) -> dict:
    keys = (
        "team_id",
        "enterprise_id",
        "user_id",
        "channel_id",
        "bot_user_id",
        "bot_id",
        "is_enterprise_install",
    )
    return {key: context.get(key) for key in keys if context.get(key) is not None}


# --- outcomes of a failed attempt ---------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    after: float  # seconds
    why: str
    verify: bool  # the attempt may have posted: look before posting again


def classify(exc: BaseException, attempts: int) -> Retry | None:
    """A retry for a failure that can pass (rate limit, Slack outage, network), else None."""
    backoff = min(2.0**attempts, 30.0)
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if status == 429:
            retry_after = _retry_after(exc)
            return Retry(
                min(retry_after, RETRY_AFTER_CAP), f"ratelimited (Retry-After {retry_after:g}s)", False
            )
        if status >= 500 or error in SLACK_OUTAGE_ERRORS:
            return Retry(backoff, f"Slack answered {error or f'HTTP {status}'}", True)
        return None
    if never_sent(exc):
        return Retry(backoff, f"cannot reach Slack: {type(exc).__name__}", False)
    if isinstance(
        exc, TimeoutError | socket.timeout | ConnectionError | URLError | http.client.HTTPException
    ):
        return Retry(backoff, f"no answer from Slack: {type(exc).__name__}", True)
    return None


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0


# --- reading back what a job may have posted ----------------------------------------------


def find_posted(client: WebClient, job: JobRecord) -> str | None:
    """The ts of a message in Slack that names ``job`` in its metadata, else None.

    A conversation the bot cannot read (a Slack error other than an outage) is logged and
    treated as "not there": posting twice is better than never answering.
    """
    try:
        channel = job.channel
        if channel.startswith(("U", "W")):  # a direct message addressed to the user
            channel = client.conversations_open(users=channel)["channel"]["id"]
        for message in _messages(client, channel, job):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("job") == job.key:
                return message.get("ts") or "?"
    except SlackApiError as exc:
        if classify(exc, job.attempts) is not None:
            raise
        logger.warning(
            "cannot read back job %s in %s (%s): posting it again",
            job.key,
            job.channel,
            exc.response.get("error"),
        )
    return None


def _messages(client: WebClient, channel: str, job: JobRecord, pages: int = 5):
    cursor = None
    for _ in range(pages):
        if job.thread_ts:
            response = client.conversations_replies(
                channel=channel, ts=job.thread_ts, include_all_metadata=True, limit=200, cursor=cursor
            )
        else:
            oldest = f"{job.created_at.timestamp() - 60:.6f}"
            response = client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor
            )
        yield from response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


# --- the workers ----------------------------------------------------------------------------


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
                self.store.finish_job(job.id, self.owner, status=FAILED, error=_describe(exc))
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
                error=_describe(exc),
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
                if job.verify and handler.verifiable:
                    posted = find_posted(client, job)
                    if posted:
                        logger.info("job %s was already posted (%s): not posting it again", job.key, posted)
                        self.store.finish_job(job.id, self.owner, status=DONE, message_ts=posted)
                        return
                result = handler.run(job, client)
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
        why = retry.why if retry is not None else _describe(exc)
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
                handler.tell_failure(job, client)
            except Exception:
                logger.exception("job %s: could not tell the asker that it failed", job.key)
        self.store.finish_job(job.id, self.owner, status=FAILED, error=why)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack error {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"
