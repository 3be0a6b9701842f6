"""Shared fixtures: the fake Slack Web API."""

from __future__ import annotations

import pytest

from tests.fake_slack import FakeSlack


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()
