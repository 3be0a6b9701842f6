"""What every per-area store shares: the engine, dialect-aware upserts, one row-to-record mapper."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

R = TypeVar("R")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: Any) -> Any:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def to_record(record_type: type[R], row, **overrides) -> R:
    """A frozen dataclass from a result row: each field from the column of the same name (or
    from ``overrides``), datetimes made timezone-aware."""
    values = {
        f.name: overrides[f.name] if f.name in overrides else _aware(row[f.name])
        for f in dataclasses.fields(record_type)
    }
    return record_type(**values)


class AreaStore:
    """Base of the per-area stores: they share one engine (see ``bot.storage.store.Store``)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    def _insert(self, model):
        """INSERT for ``model`` with the dialect's ON CONFLICT support."""
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(model.__table__)
