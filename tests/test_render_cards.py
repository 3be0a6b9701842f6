"""Every card and view, as ``scripts/render_cards.py`` renders them, laid out by headless
Chromium at a phone's width: no button label cut, no sideways overflow, and the answer to the
README's quota question within one phone screen."""

from __future__ import annotations

import os
import shutil

import pytest

from bot.slack.cards import Cards
from tests.helpers import render_cards_script


def test_cards_read_on_a_phone(core_advisor, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("ADVISOR_TEST_CHROMIUM") == "required":  # CI: never skip it
            pytest.fail("no Chromium on this machine (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    script = render_cards_script()
    rendered = script.build_all(Cards(core_advisor))
    script.write_pages(rendered, tmp_path)
    found, heights = [], {}
    for name, payload in rendered.items():
        if "blocks" in payload:
            metrics = script.measure(browser, tmp_path / f"{name}.html", 390)
            heights[name] = metrics["height"]
            found += script.problems(name, metrics)
    assert found == []
    for name in script.ONE_SCREEN:  # the quota answer: question, verdict, quote, source, vote
        assert 0 < heights[name] <= script.PHONE_SCREEN, (name, heights[name])
