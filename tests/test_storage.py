"""The Store on SQLite and on a real PostgreSQL server: dedupe, threads, feedback, subscriptions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from bot.storage import StoreError, create_store_engine, open_store
from bot.storage.migrate import current_revision, head_revision, upgrade
from bot.tips.schedule import ScheduleError

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database


@pytest.fixture
def settings(settings, database_url):
    return settings.with_overrides(database_url_env=database_url)


def test_claim_event_once_across_stores_and_restarts(database_url):
    first, second = open_store(database_url), open_store(database_url)
    assert first.claim_event("Ev1") is True
    assert second.claim_event("Ev1") is False
    assert second.claim_event("Ev2") is True
    first.close()
    second.close()
    reopened = open_store(database_url)
    assert reopened.claim_event("Ev1") is False
    assert reopened.claim_event("Ev3") is True
    reopened.close()


def test_claim_event_from_many_threads_gives_one_winner(database_url):
    stores = [open_store(database_url) for _ in range(4)]
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim(store):
        barrier.wait()
        results.append(store.claim_event("C1:1700000000.000100"))

    threads = [threading.Thread(target=claim, args=(stores[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    for store in stores:
        store.close()


def test_old_event_keys_are_pruned_after_a_day(store):
    assert store.claim_event("old")
    assert store.prune_events(now=datetime.now(UTC) + timedelta(hours=23)) == 0
    assert store.claim_event("old") is False
    assert store.prune_events(now=datetime.now(UTC) + timedelta(days=1, minutes=1)) == 1
    assert store.claim_event("old") is True


def test_threads_remember_close_and_reopen(store):
    assert store.thread_asker("T1", "C1", "1.0") is None
    store.remember_thread("T1", "C1", "1.0", "U1")
    assert store.thread_asker("T1", "C1", "1.0") == "U1"
    assert store.thread_asker("T1", "C2", "1.0") is None
    assert store.thread_asker("T2", "C1", "1.0") is None
    store.close_thread("T1", "C1", "1.0")
    assert store.thread_asker("T1", "C1", "1.0") is None
    store.close_thread("T1", "C1", "9.9")  # unknown: no error
    store.remember_thread("T1", "C1", "1.0", "U2")
    assert store.thread_asker("T1", "C1", "1.0") == "U2"


def test_following_a_thread_only_starts_a_new_one(store):
    assert store.follow_thread("T1", "C1", "2.0", "U1") is True
    assert store.thread_asker("T1", "C1", "2.0") == "U1"
    assert store.follow_thread("T1", "C1", "2.0", "U2") is False  # known: the asker stays
    assert store.thread_asker("T1", "C1", "2.0") == "U1"
    store.close_thread("T1", "C1", "2.0")
    assert store.follow_thread("T1", "C1", "2.0", "U1") is False  # closed stays closed
    assert store.thread_asker("T1", "C1", "2.0") is None


def test_feedback_last_vote_wins_per_user(store):
    common = dict(team="T1", channel="C1", message_ts="5.0")
    store.record_feedback(**common, user="U1", question="who sets quota?", passage_id="p1", helpful=True)
    store.record_feedback(**common, user="U2", question="who sets quota?", passage_id="p1", helpful=True)
    store.record_feedback(**common, user="U1", question="who sets quota?", passage_id="p2", helpful=False)
    votes = store.feedback_for("T1", "C1", "5.0")
    assert [(v.user, v.helpful, v.passage_id) for v in votes] == [
        ("U1", False, "p2"),
        ("U2", True, "p1"),
    ]
    assert store.feedback_for("T1", "C1", "6.0") == []


def test_subscriptions_list_deactivate_and_resubscribe(store):
    store.subscribe(team="T1", channel="C2", local_time="09:00", tz="Europe/Paris", created_by="U1")
    store.subscribe(team="T1", channel="C1", local_time="08:30", tz="Asia/Tokyo", days="daily")
    store.subscribe(team="T2", channel="C9", local_time="10:00", tz="America/Los_Angeles")
    listed = store.list_subscriptions()
    assert [(s.team, s.channel, s.local_time, s.tz, s.days) for s in listed] == [
        ("T1", "C1", "08:30", "Asia/Tokyo", "daily"),
        ("T1", "C2", "09:00", "Europe/Paris", "weekdays"),
        ("T2", "C9", "10:00", "America/Los_Angeles", "weekdays"),
    ]
    assert all(s.active and s.paused_reason is None for s in listed)
    assert store.deactivate_team("T1", "token_revoked") == 2
    assert store.deactivate_team("T1", "token_revoked") == 0
    t1 = store.list_subscriptions("T1")
    assert [(s.channel, s.active, s.paused_reason) for s in t1] == [
        ("C1", False, "token_revoked"),
        ("C2", False, "token_revoked"),
    ]
    assert store.list_subscriptions("T2")[0].active
    again = store.subscribe(team="T1", channel="C2", local_time="07:15", tz="Europe/Paris")
    assert (again.active, again.paused_reason, again.local_time) == (True, None, "07:15")
    assert store.unsubscribe("T1", "C2") is True
    assert store.unsubscribe("T1", "C2") is False
    assert store.get_subscription("T1", "C2").active is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus': use Area/City, e.g. Europe/Paris"),
        ({"tz": "../etc/passwd"}, "unknown time zone '../etc/passwd'"),
        ({"local_time": "9am"}, "invalid time '9am': use 24-hour HH:MM, e.g. 09:00"),
        ({"local_time": "24:00"}, "invalid time '24:00'"),
        ({"local_time": "9:00"}, "invalid time '9:00'"),
        ({"days": "weekends"}, "invalid days 'weekends': use one of weekdays, daily"),
    ],
)
def test_subscribe_refuses_a_schedule_that_could_never_run(store, change, message):
    good = dict(team="T1", channel="C1", local_time="09:00", tz="Europe/Paris")
    store.subscribe(**good)
    with pytest.raises(ScheduleError) as info:
        store.subscribe(**{**good, **change})
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    (kept,) = store.list_subscriptions()  # the stored subscription is untouched
    assert (kept.local_time, kept.tz, kept.days) == ("09:00", "Europe/Paris", "weekdays")


def test_migrations_upgrade_keeps_existing_data(empty_database_url):
    database_url = empty_database_url
    engine = create_store_engine(database_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "subscriptions" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO processed_events (key, created_at) VALUES ('Ev-old', :now)"),
            {"now": datetime.now(UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO threads (team, channel, thread_ts, asker, closed, created_at) "
                "VALUES ('T1', 'C1', '1.0', 'U1', false, :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    engine.dispose()
    store = open_store(database_url)  # upgrades to head
    assert current_revision(store.engine) == head_revision()
    assert {"subscriptions", "posts", "tip_orders"} <= set(inspect(store.engine).get_table_names())
    assert store.claim_event("Ev-old") is False
    assert store.thread_asker("T1", "C1", "1.0") == "U1"
    store.close()


def test_schema_from_migrations_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.storage.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_file_uses_wal_and_creates_its_directory(tmp_path):
    path = tmp_path / "deep" / "er" / "advisor.sqlite3"
    store = open_store(f"sqlite:///{path}")
    assert path.exists()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.close()


def test_bad_database_urls_give_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="unsupported DATABASE_URL scheme"):
        open_store("mysql://u:secret@localhost/db")
    with pytest.raises(StoreError) as info:
        open_store("postgresql+psycopg://u:s3cr3t@127.0.0.1:1/db")
    assert "s3cr3t" not in str(info.value) and "\n" not in str(info.value)


def test_unparsable_url_and_unknown_schema_revision_are_one_line_errors(tmp_path):
    with pytest.raises(StoreError) as info:
        open_store("postgresql://u:s3cr3t@host:notaport/db")
    assert "s3cr3t" not in str(info.value) and "cannot be parsed" in str(info.value)
    url = f"sqlite:///{tmp_path / 'advisor.sqlite3'}"
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))  # newer code ran here
    store.close()
    with pytest.raises(
        StoreError, match=f"cannot upgrade the database schema to {head_revision()}: .*'0099'"
    ):
        open_store(url)
