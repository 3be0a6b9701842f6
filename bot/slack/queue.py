"""The one way to queue Slack work: listeners enqueue a ``Request``, workers run its kind's handler.

Enqueueing (``JobQueue.enqueue``, on the request thread): the request becomes a job row, with
its dedupe claims, in one transaction (``store.enqueue_job``), and only then is Slack
acknowledged, so the 3-second ack never waits for an answer and an acknowledged request
survives a crash. Every surface goes through it, so the job key (``kind:team:id``), the
response_url deadline and the busy reply of a full queue are decided here, once:

- a slash command is told in its ack (ephemeral), and so is a queue that cannot record it;
- a modal shows it on its input field;
- an event is answered in the question's conversation, a click through its response_url
  (both are already acknowledged: the notice is a job of its own, ``busy`` or ``busy_url``,
  outside the queue's limit, so it is durable and waits out a Slack outage like an answer).

Running (``bot.slack.jobs.JobWorkers``): a worker hands the kind's ``Handler`` a ``JobContext``,
the job with its team's client and what the handler needs of the request (body, context,
respond). Kinds are added to the queue by each listener kind's ``register``, never by a
constructor. ``JobQueue.listener`` is the generic surface: a Bolt listener that queues the
whole request body, for a handler that takes Bolt's usual arguments from the ``JobContext``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from ..storage.jobs import Enqueued, JobRecord, NewJob
from ..storage.rows import utcnow
from . import blocks
from .messaging import post

logger = logging.getLogger(__name__)

MAX_OPEN_JOBS = 500  # pending + posting; beyond this a request is told "busy, try again"
RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack's limit on a response_url
BUSY_TEXT = "I'm busy answering a lot of questions right now. Please try again in a minute."
BUSY_FIELD_TEXT = "I'm busy: try again in a minute."  # a modal's field error is short

# How a request is told that the queue is full (see the module's docstring).
IN_ACK = "ack"  # a slash command
IN_FORM = "form"  # a modal submission
IN_CONVERSATION = "conversation"  # an event: a message in its channel or thread
BY_RESPONSE_URL = "response_url"  # a click (or an event, which has none: not told)
# The kinds of job that carry a busy notice (to a conversation, through a response_url).
BUSY_KIND, BUSY_URL_KIND = "busy", "busy_url"


class JobStore(Protocol):
    """What the queue needs of the store (``bot.storage.Store`` is one)."""

    def enqueue_job(
        self, job: NewJob, *, claims: tuple[str, ...] = (), limit: int | None = None
    ) -> Enqueued: ...

    def take_job(self, owner: str, *, stale_after: timedelta = ...) -> JobRecord | None: ...

    def hold_job(self, job_id: int, owner: str, *, for_: timedelta) -> bool: ...

    def job_backlog(self) -> tuple[int, object]: ...

    def finish_job(
        self, job_id: int, owner: str, *, status: str, message_ts: str | None = None, error: str | None = None
    ) -> bool: ...

    def reschedule_job(self, job_id: int, owner: str, *, run_after, error: str, verify: bool) -> None: ...

    def beat(self, owner: str, started_at) -> None: ...

    def release_jobs(self, owner: str) -> int: ...

    def job_counts(self) -> dict[str, int]: ...

    def prune_jobs(self) -> int: ...


def busy_message() -> dict:
    return blocks.notice(BUSY_TEXT)


@dataclass(frozen=True)
class Request:
    """One piece of Slack work, as a listener hands it to the queue.

    ``id`` makes it unique within its kind and team (a trigger id, a view id, ``channel:ts``):
    the same request delivered twice is one job; None for a request without one (a random
    id). ``channel`` and ``thread_ts``: where the handler posts (read back after a crash; a
    direct message is addressed to the user id). ``response_url``: the job answers through it,
    so it expires with it. ``claims``: keys taken in the same transaction (a second request
    holding one is a duplicate). ``busy``: how a full queue is told (``IN_ACK``...).
    """

    kind: str
    team: str
    id: str | None
    channel: str
    payload: dict
    busy: str
    enterprise: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    claims: tuple[str, ...] = ()

    def job(self) -> NewJob:
        return NewJob(
            key=f"{self.kind}:{self.team}:{self.id or uuid.uuid4().hex}",
            kind=self.kind,
            team=self.team,
            enterprise=self.enterprise,
            channel=self.channel,
            thread_ts=self.thread_ts,
            payload=self.payload,
            deadline=utcnow() + RESPONSE_URL_LIFETIME if self.response_url else None,
        )


@dataclass(frozen=True)
class JobContext:
    """What a handler gets for one job: the job, its team's client, and its request's parts.

    ``body``, ``context`` and the rest are those of a request queued whole (``JobQueue.listener``);
    ``respond`` answers through the request's response_url (a body's, or a command's).
    """

    job: JobRecord
    client: WebClient

    @property
    def payload(self) -> dict:
        return self.job.payload

    @property
    def body(self) -> dict:
        return self.payload.get("body") or {}

    @property
    def event(self) -> dict | None:
        return self.body.get("event")

    @property
    def action(self) -> dict | None:
        return (self.body.get("actions") or [None])[0]

    @property
    def context(self) -> BoltContext:
        context = BoltContext(self.payload.get("context") or {})
        context["client"] = self.client
        return context

    @property
    def respond(self) -> Respond | None:
        url = self.body.get("response_url") or (self.payload.get("command") or {}).get("response_url")
        return Respond(response_url=url) if url else None

    @staticmethod
    def ack(*args, **kwargs) -> None:
        """The request was acknowledged when it was queued: nothing left to acknowledge."""


@dataclass(frozen=True)
class Handler:
    """How to carry out one kind of job.

    ``run`` does the work (its posts carry the job's metadata) and may return the ts it posted;
    ``tell_failure`` tells the asker, best effort, that it failed for good. ``verifiable``: the
    job posts in its channel (``job.thread_ts``'s thread, else top level), so a possibly-sent
    post can be looked for before posting again.
    """

    run: Callable[[JobContext], object]
    tell_failure: Callable[[JobContext], object] | None = None
    verifiable: bool = True


@dataclass(eq=False)  # one queue per process: compared and hashed by identity
class JobQueue:
    """Enqueueing for listeners, and the handler of each kind of job for the workers."""

    store: JobStore
    limit: int = MAX_OPEN_JOBS
    handlers: dict[str, Handler] = field(default_factory=dict)
    wake: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def __post_init__(self) -> None:
        self.handlers.setdefault(BUSY_KIND, Handler(run=_post_busy))
        self.handlers.setdefault(BUSY_URL_KIND, Handler(run=_respond_busy, verifiable=False))

    def add(self, handlers: dict[str, Handler]) -> None:
        """Add kinds of job (a listener kind's ``register`` does, with its handlers')."""
        self.handlers.update(handlers)

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def enqueue(
        self, request: Request, ack: Callable | None = None, *, client: WebClient | None = None
    ) -> Enqueued:
        """Record ``request`` as a job, then acknowledge with ``ack`` (None: Bolt acknowledges
        an event when its listener returns) and tell a full queue ``busy`` (how: ``request.busy``).

        A database that cannot record it raises (no ack: Slack sends the request again), except
        for a slash command, whose ack says something went wrong instead.
        """
        try:
            outcome = self.submit(request.job(), claims=request.claims)
        except Exception:
            if request.busy != IN_ACK or ack is None:
                raise
            logger.exception("could not queue %s in %s", request.kind, request.channel)
            _ack_ephemeral(ack, blocks.error_message())
            return Enqueued("failed")
        busy = outcome.status == "busy"
        if ack is not None:
            ack(**(_busy_ack(request.busy) if busy else {}))
        if busy:
            self._tell_busy(request, client)
        return outcome

    def _tell_busy(self, request: Request, client: WebClient | None) -> None:
        """A refused event or click (already acknowledged) is told by a job of its own, queued
        past the limit: durable, retried through an outage like an answer. Its key is the
        request's, so Slack's retries of a refused request are told once."""
        key = request.id or uuid.uuid4().hex
        url = request.response_url
        if request.busy == IN_CONVERSATION:
            kind, payload = BUSY_KIND, {}
        elif request.busy == BY_RESPONSE_URL and url:
            kind, payload = BUSY_URL_KIND, {"response_url": url}
        else:
            return
        notice = Request(
            kind=kind,
            team=request.team,
            enterprise=request.enterprise,
            id=f"{request.kind}:{key}",
            channel=request.channel,
            thread_ts=request.thread_ts,
            payload=payload,
            response_url=url if kind == BUSY_URL_KIND else None,
            busy=request.busy,
        )
        try:
            outcome = self.store.enqueue_job(notice.job(), limit=None)
        except Exception:
            logger.exception("could not queue the busy notice for %s in %s", request.kind, request.channel)
            return
        if outcome.status == "queued":
            self.wake.release()

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

    def listener(
        self, kind: str, *, where: Callable[[dict], tuple[str, str | None]] | None = None
    ) -> Callable:
        """A Bolt listener that queues the whole request as a ``kind`` job and acknowledges;
        the kind's handler reads it from its ``JobContext``. ``where(body)``: the channel and
        thread the handler posts in (verifiable), None if it only answers through response_url.
        The kind's handler is added first (checked here, at startup, not at the first click)."""
        handler = self.handlers.get(kind)
        if handler is None or handler.verifiable != (where is not None):
            raise ValueError(f"queued kind {kind!r}: add its handler first, verifiable iff it has a `where`")

        def listen(ack, body: dict, context: BoltContext) -> None:
            channel, thread_ts = where(body) if where else (_channel_of(body), None)
            self.enqueue(
                Request(
                    kind=kind,
                    team=context.team_id or (body.get("team") or {}).get("id") or body.get("team_id") or "",
                    enterprise=context.enterprise_id,
                    id=body.get("trigger_id") or body.get("event_id"),
                    channel=channel,
                    thread_ts=thread_ts,
                    payload={"body": body, "context": _context_values(context)},
                    response_url=body.get("response_url"),
                    busy=BY_RESPONSE_URL,
                ),
                ack,
            )

        return listen


def _post_busy(job: JobContext) -> str | None:
    return post(job.client, job.job.channel, busy_message(), thread_ts=job.job.thread_ts).get("ts")


def _respond_busy(job: JobContext) -> None:
    respond = Respond(response_url=job.payload["response_url"])
    response = respond(text=BUSY_TEXT, response_type="ephemeral", replace_original=False)
    status = getattr(response, "status_code", 200)
    if status >= 300:
        raise RuntimeError(f"response_url answered HTTP {status}")


def _ack_ephemeral(ack: Callable, message: dict) -> None:
    ack(text=message["text"], blocks=message["blocks"], response_type="ephemeral")


def _busy_ack(how: str) -> dict:
    """What the ack of a refused request says: a command's and a modal's (an event or a click
    is acknowledged empty and told afterwards, ``_tell_busy``)."""
    if how == IN_ACK:
        message = busy_message()
        return {"text": message["text"], "blocks": message["blocks"], "response_type": "ephemeral"}
    if how == IN_FORM:
        return {"response_action": "errors", "errors": {blocks.ASK_INPUT_BLOCK: BUSY_FIELD_TEXT}}
    return {}


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
