"""Persistent state: event dedupe, threads, feedback, tip subscriptions and posts.

``open_store(database_url)`` opens SQLite (a file, WAL) or PostgreSQL (psycopg 3) and
upgrades the schema with the Alembic migrations shipped in this package.
"""

from .store import (
    FeedbackRecord,
    InvalidSubscription,
    PostRecord,
    Store,
    StoreError,
    SubscriptionRecord,
    TipOrderState,
    open_store,
)

__all__ = [
    "FeedbackRecord",
    "InvalidSubscription",
    "PostRecord",
    "Store",
    "StoreError",
    "SubscriptionRecord",
    "TipOrderState",
    "open_store",
]
