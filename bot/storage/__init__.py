"""Persistent state: event dedupe, threads, feedback, the answer queue, tip subscriptions and posts.

``open_store(database_url)`` opens SQLite (a file, WAL) or PostgreSQL (psycopg 3) and
upgrades the schema with the Alembic migrations shipped in this package.
"""

from .engine import StoreError, create_store_engine
from .feedback import FeedbackRecord
from .jobs import JobRecord, NewJob
from .question_log import LoggedQuestion
from .store import Store, open_store

__all__ = [
    "FeedbackRecord",
    "JobRecord",
    "LoggedQuestion",
    "NewJob",
    "Store",
    "StoreError",
    "create_store_engine",
    "open_store",
]
