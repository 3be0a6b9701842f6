"""Shared fixtures: the fake Slack Web API, the bundled index, the core's model and knowledge."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.fake_slack import FakeSlack

pytest_plugins = ["tests.pg"]  # migrated_sqlite: every test's fresh SQLite database is a copy

SHARED_INDEX = "core_data_dir"  # the fixture behind every use of the one shared index build
VECTORS = "vectors.pickle"  # beside the shared index: what its build embedded, text by text
BUILD_STARTED = "build-started"  # beside the shared index: the Unix time its build began


def pytest_collection_modifyitems(items):
    """Whole files at a time (their module fixtures set up once), in three groups: those that
    need no index, those that need the model too (they build or embed), those that only read
    the shared index. pytest-xdist hands each worker a contiguous share of this order and
    steals from the end of a share: the worker whose share starts with the model's tests
    builds the index while the other runs tests that need none, then takes over the readers,
    and only one worker of two loads torch."""
    uses = {}
    for item in items:
        names = set(item.fixturenames)
        group = 1 if names & {"core_embedder", "core_model"} else 2 if SHARED_INDEX in names else 0
        uses[item.path] = max(uses.get(item.path, 0), group)
    items.sort(key=lambda item: uses[item.path])


@pytest.fixture
def fake_slack():
    """A fake Slack for one test."""
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def settings(fake_slack, tmp_path, migrated_sqlite):
    """One test's settings: the fake Slack and a bot token, unpaced tips, a data dir of its own
    (whose SQLite file is the database, a copy of one at the newest schema: tests/pg.py; a
    module testing both backends overrides this with its ``database_url``)."""
    from bot.config import Settings
    from tests.pg import migrated_sqlite_copy

    data_dir = tmp_path / "data"
    migrated_sqlite_copy(migrated_sqlite, data_dir / "advisor.sqlite3")
    return Settings(
        slack_api_url=fake_slack.url,
        slack_bot_token="xoxb-test",
        tips_pace_seconds=0,
        data_dir=data_dir,
    )


@pytest.fixture
def store(settings):
    """The store at ``settings.database_url``, schema upgraded."""
    from bot.storage import open_store

    store = open_store(settings.database_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def fake():
    """The fake Slack the session's bot server talks to (tests keep to their own channels)."""
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


# --- The bot's real HTTP server, started once a session -------------------------------------


@pytest.fixture(scope="session")
def bot_data_dir(tmp_path_factory, bundled_index):
    data = tmp_path_factory.mktemp("bot")
    shutil.copytree(bundled_index, data / "index")
    return data


@pytest.fixture(scope="session")
def bot_database_url(bot_data_dir):
    """The session bot's database (a SQLite file): a second process may share it."""
    return f"sqlite:///{bot_data_dir / 'advisor.sqlite3'}"


@pytest.fixture(scope="session")
def bot_environment(fake, bot_data_dir, bot_database_url):
    """The session bot's environment: the fake Slack, its database, the tip scheduler on
    (checking five times a second, unpaced)."""
    from tests.slack_harness import bot_env

    return bot_env(
        fake.url,
        bot_data_dir,
        DATABASE_URL=bot_database_url,
        ADVISOR_RUN_SCHEDULER="true",
        ADVISOR_TIPS_CHECK_SECONDS="0.2",
        ADVISOR_TIPS_PACE_SECONDS="0",
    )


@pytest.fixture(scope="session")
def bot(bot_environment):
    """``python -m bot serve --http`` on a free port, shared by the HTTP tests of the session."""
    from tests.slack_harness import BOT_TOKEN, BotServer

    server = BotServer(bot_environment).start()
    yield server
    server.stop()
    assert BOT_TOKEN not in server.log, "the bot token leaked into the log"


@pytest.fixture(scope="module")
def slack(bot):
    """A signed sender of Slack's requests to the session bot."""
    return bot.sender()


@pytest.fixture
def channel():
    """A channel id no other test uses."""
    from tests.slack_harness import unique_id

    return unique_id("C")


@pytest.fixture(scope="session")
def bot_store(bot_database_url):
    """The session bot's store, opened by the tests to set up and check rows."""
    from bot.storage import open_store

    store = open_store(bot_database_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def bundled_index(core_data_dir):
    """The bundled knowledge's index, built once a session (the same index as the core's:
    tips files are not part of the knowledge hash).

    Copy it into a test's own data dir (``shutil.copytree(bundled_index, data_dir / "index")``)
    so a bot started there loads in seconds instead of rebuilding.
    """
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.knowledge import load_knowledge
    from bot.search.store import read_manifest

    index = core_data_dir / "index"
    assert read_manifest(index).knowledge_hash == load_knowledge(DEFAULT_KNOWLEDGE_DIR).content_hash
    return index


# --- The offline core: the real bundled model, loaded once a session ----------------------


@pytest.fixture(scope="session")
def core_model():
    """The bundled all-MiniLM-L6-v2, weights checked, remembering each text's vector: the
    model is a pure function of the text, so a run embeds the article's sentences once
    however many indexes its tests build from them (building is embedding, nearly all of it).
    Tests take it as ``core_embedder``, after the shared build."""
    from bot.config import BUNDLED_MODEL, BUNDLED_MODEL_SHA256
    from bot.search.torch_embedder import load_embedder
    from tests.helpers import WORKER_SETTINGS

    threads = int(WORKER_SETTINGS.get("ADVISOR_MODEL_THREADS", 0)) or None
    loaded = load_embedder(BUNDLED_MODEL, expected_sha256=BUNDLED_MODEL_SHA256, threads=threads)
    return _remembering(loaded)


@pytest.fixture(scope="session")
def core_embedder(core_model, core_data_dir):
    """The model, remembering what the shared index build embedded (in whichever worker), and
    lending that build's export (parity-checked, digested) to this worker's later builds as a
    process's own first export would: they copy it instead of exporting again (~4 s)."""
    from bot.search.store import read_manifest

    # What the building worker's model computed, this worker's model would too (a pure
    # function of the text): its later builds of the same texts embed nothing.
    core_model.recall(core_data_dir / VECTORS)
    manifest = read_manifest(core_data_dir / "index")
    if manifest.onnx_file:
        from bot.search.torch_embedder import _EXPORTS, _EXPORTS_LOCK

        with _EXPORTS_LOCK:
            key = (core_model.model_id, str(core_model.location))
            _EXPORTS.setdefault(key, (core_data_dir / "index" / manifest.onnx_file, dict(manifest.onnx)))
    return core_model


def _remembering(loaded):
    import pickle
    from dataclasses import dataclass, field

    import numpy as np

    from bot.search.torch_embedder import TorchEmbedder

    @dataclass
    class RememberingEmbedder(TorchEmbedder):
        vectors: dict = field(default_factory=dict, repr=False)
        tokens: dict = field(default_factory=dict, repr=False)

        def encode(self, texts, *, batch_size: int = 32, progress: bool = False):
            texts = list(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
            if missing:
                encoded = super().encode(missing, batch_size=batch_size, progress=progress)
                self.vectors.update(zip(missing, encoded, strict=True))
            if not texts:
                return np.zeros((0, self.dimension), dtype=np.float32)
            return np.ascontiguousarray(np.stack([self.vectors[t] for t in texts]), dtype=np.float32)

        def encode_tokens(self, texts):
            texts = list(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in self.tokens))
            if missing:
                vectors, tokens = super().encode_tokens(missing)
                self.tokens.update(zip(missing, zip(vectors, tokens, strict=True), strict=True))
                self.vectors.update(zip(missing, vectors, strict=True))
            if not texts:
                return np.zeros((0, self.dimension), dtype=np.float32), []
            vectors = np.stack([self.tokens[t][0] for t in texts]).astype(np.float32)
            return np.ascontiguousarray(vectors), [self.tokens[t][1] for t in texts]

        def remember(self, path):
            """Write what this model has computed, for the other workers of the run."""
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps((self.model_id, self.vectors, self.tokens)))
            tmp.replace(path)

        def recall(self, path):
            """Take in what another worker's model of the same id computed (see remember)."""
            model_id, vectors, tokens = pickle.loads(path.read_bytes())
            assert model_id == self.model_id, (model_id, self.model_id)
            self.vectors.update(vectors)
            self.tokens.update(tokens)

    return RememberingEmbedder(
        model_id=loaded.model_id, model=loaded.model, location=loaded.location, backend=loaded.backend
    )


@pytest.fixture(scope="session")
def core_knowledge_dir(tmp_path_factory):
    """A copy of the core's knowledge files (the article, scope examples and glossary)."""
    import shutil

    from bot.config import DEFAULT_KNOWLEDGE_DIR

    directory = tmp_path_factory.mktemp("core-knowledge")
    for name in ("article.yaml", "scope.yaml", "glossary.yaml"):
        shutil.copy(DEFAULT_KNOWLEDGE_DIR / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def core_knowledge(core_knowledge_dir):
    from bot.knowledge import load_knowledge

    return load_knowledge(core_knowledge_dir)


@pytest.fixture(scope="session")
def core_data_dir(request, tmp_path_factory, core_knowledge):
    """A data dir whose index/ is built once a run (the only build of the bundled knowledge);
    copy it before changing anything.

    With pytest-xdist the workers share it: the first to take the lock builds it in the run's
    common temporary directory, the others wait for the lock and read what it built (the
    knowledge hash is of the content, so each worker's copy of the knowledge matches it).
    Only the builder loads the model here: a worker whose tests only read the index never does.
    """
    from filelock import FileLock

    from bot.search.store import read_manifest

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's directory, above each worker's own
    data_dir = root / "core-data"
    with FileLock(str(root / "core-data.lock")):
        if not (data_dir / "index" / "manifest.json").exists():
            from bot.search.store import build_index

            model = request.getfixturevalue("core_model")
            data_dir.mkdir(parents=True, exist_ok=True)
            # When the build began, on the clock the manifest's built_at is written from: the
            # manifest's test brackets built_at by this and the manifest file's own time.
            (data_dir / BUILD_STARTED).write_text(repr(time.time()))
            # On this worker's one thread (under xdist): the other workers run the tests that
            # need no index meanwhile (pytest_collection_modifyitems), and two model threads
            # on a busy machine spin-wait for each other (twice the CPU, measured).
            build_index(core_knowledge, model, data_dir / "index")
            model.remember(data_dir / VECTORS)
    assert read_manifest(data_dir / "index").knowledge_hash == core_knowledge.content_hash
    return data_dir


@pytest.fixture(scope="session")
def core_advisor(core_knowledge, core_embedder, core_data_dir):
    from bot.search.advisor import Advisor
    from bot.search.store import load_index

    return Advisor(core_knowledge, core_embedder, load_index(core_data_dir / "index"))


CORE_MINI_ARTICLE = """\
kind: article
id: mini
title: A two-section handbook
sections:
- id: leads
  heading: Who handles leads?
  takeaway: Marketing finds the leads, while sales closes the deals.
  owner: both
  topics:
  - lead hand-off
  questions:
  - Who passes leads to sales?
  paragraphs:
  - Marketing runs the webinars and scores every lead. Sales calls each qualified lead within a day.
  assignments:
  - quote: Marketing finds the leads,
    owner: marketing
  - quote: while sales closes the deals.
    owner: sales
- id: pricing
  heading: Who sets the price?
  takeaway: Product marketing sets list prices once a year.
  owner: marketing
  paragraphs:
  - Discounts above ten percent need the finance director's approval.
"""


@pytest.fixture
def core_mini_knowledge_dir(tmp_path):
    """A tiny article whose index builds in about a second (for rebuild tests)."""
    directory = tmp_path / "mini-knowledge"
    directory.mkdir()
    (directory / "mini.yaml").write_text(CORE_MINI_ARTICLE, encoding="utf-8")
    return directory
