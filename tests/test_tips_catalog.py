"""The tips file, its loader's errors, the tip card, due times and the per-channel order (no DB)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import KnowledgeError, load_knowledge
from bot.slack.tips import tip_card
from bot.tips.catalog import Tip, load_tips
from bot.tips.order import next_tip
from bot.tips.records import TipOrderState
from bot.tips.schedule import (
    ScheduleError,
    due_date,
    first_local_moment,
    next_due,
    parse_local_time,
    parse_now,
    parse_tz,
)

ARMS = "Which is more important, arms or thighs?"


@pytest.fixture(scope="module")
def catalog():
    return load_tips(DEFAULT_KNOWLEDGE_DIR)


def test_the_tips_file_has_thirty_short_verbatim_tips(catalog):
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    sections = {s.heading: s for s in knowledge.sections()}
    assert len(catalog.tips) >= 30
    assert len(set(catalog.ids)) == len(catalog.tips)
    for tip in catalog.tips:
        section = sections[tip.section_heading]
        texts = [section.takeaway, *(p.text for p in section.paragraphs)]
        assert any(tip.quote in text for text in texts), tip.id
        assert len(re.findall(r"[.?!](\s|$)", tip.quote)) <= 2, tip.id  # one or two sentences
        assert tip.title not in tip.quote, tip.id  # the title is ours
    assert len({t.section_id for t in catalog.tips}) == len(sections)  # every section has tips


def test_the_article_loader_skips_the_tips_file():
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    assert [d.id for d in knowledge.documents] == ["sales-and-marketing"]


def write_tips(tmp_path: Path, body: str) -> Path:
    shutil.copy(DEFAULT_KNOWLEDGE_DIR / "article.yaml", tmp_path / "article.yaml")
    path = tmp_path / "tips.yaml"
    path.write_text("kind: tips\ntips:\n" + body, encoding="utf-8")
    return path


GOOD = f"""- id: good-one
  title: Scouts and soldiers
  quote: We can compare the marketing department to a scout
  section: {ARMS}
"""


def test_a_quote_not_in_its_section_names_the_file_line_field_and_tip(tmp_path):
    path = write_tips(
        tmp_path,
        GOOD
        + """- id: made-up
  title: Invented
  quote: Marketing should always set the sales quota.
  section: Which is more important today or tomorrow?
""",
    )
    with pytest.raises(KnowledgeError) as info:
        load_tips(tmp_path)
    assert str(info.value) == (
        f"{path}:9: tips[1].quote: tip 'made-up': quote not found verbatim in section "
        "'Which is more important today or tomorrow?'"
    )


def test_a_quote_from_another_section_is_rejected(tmp_path):
    write_tips(
        tmp_path,
        """- id: wrong-section
  title: Misfiled
  quote: We can compare the marketing department to a scout
  section: Sell first or market first?
""",
    )
    with pytest.raises(KnowledgeError, match=r"tips\.yaml:5: tips\[0\]\.quote: tip 'wrong-section'"):
        load_tips(tmp_path)


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "- id: a\n  title: T\n  quote: We can\n  section: Which is more important, arm or thighs?\n",
            f":6: tips[0].section: tip 'a': no section with this heading (did you mean {ARMS!r}?)",
        ),
        ("- id: a\n  quote: We can compare\n  section: x\n", ":3: tips[0].title: required field is missing"),
        (GOOD + GOOD, ":7: tips[1].id: duplicate tip id 'good-one'"),
        (GOOD + "  owner: sales\n", ":7: tips[0].owner: unknown field"),
        ("- id: Bad Id\n  title: T\n  quote: q\n  section: s\n", ":3: tips[0].id: use lowercase"),
        ("  []\n", ":3: tips: expected a non-empty list"),
        ("- id: a\n  title: T\n  quote: ''\n  section: s\n", ":5: tips[0].quote: must not be empty"),
    ],
)
def test_loader_errors_read_file_line_field_problem(tmp_path, body, expected):
    path = write_tips(tmp_path, body)
    with pytest.raises(KnowledgeError) as info:
        load_tips(tmp_path)
    assert str(info.value).startswith(f"{path}{expected}")


def test_no_tips_file_is_an_error(tmp_path):
    shutil.copy(DEFAULT_KNOWLEDGE_DIR / "article.yaml", tmp_path / "article.yaml")
    with pytest.raises(KnowledgeError, match="no tips"):
        load_tips(tmp_path)


def test_tip_card_escapes_everything_and_stays_small():
    tip = Tip(
        id="x",
        title="Ping <!channel> & <@U1>",
        quote='Say "<https://evil|click>" & <!here>',
        section_heading="Sales <vs> Marketing",
        section_id="s",
        document_title="Doc <b>",
        source_url="https://example.com/a?b=1&c=2",
    )
    message = tip_card(tip)
    everything = message["text"] + str(message["blocks"])
    for raw in ("<!channel>", "<!here>", "<@U1>", "<https://evil|click>", "<vs>", "<b>"):
        assert raw not in everything
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in message["blocks"][0]["text"]["text"]
    assert message["blocks"][1]["text"]["text"].startswith('>Say "&lt;https://evil|click&gt;"')
    assert message["blocks"][2]["elements"][0]["text"] == (
        "From *Doc &lt;b&gt;* · section *Sales &lt;vs&gt; Marketing* · <https://example.com/a?b=1&amp;c=2|example.com>"
    )
    assert len(message["blocks"]) <= 50 and all(len(str(b)) < 3000 for b in message["blocks"])


def test_tip_card_links_like_every_other_card_and_is_fitted():
    """The tip card uses the Slack layer's link and quote builders: a ``|`` in the label cannot
    end the link early, the URL is percent-encoded, and an overlong quote is cut by ``fit``."""
    tip = Tip(
        id="x",
        title="T",
        quote="word " * 2000,
        section_heading="S",
        section_id="s",
        document_title="Sales | Marketing",
        source_url="https://example.com/a b|c",
    )
    message = tip_card(tip)
    source = message["blocks"][2]["elements"][0]["text"]
    assert "<https://example.com/a%20b%7Cc|example.com>" in source
    assert len(message["blocks"][1]["text"]["text"]) <= 3000 and message["blocks"][1]["text"][
        "text"
    ].endswith("…")
    assert len(message["text"]) <= 3000


def test_every_real_tip_card_is_within_slack_limits(catalog):
    for tip in catalog.tips:
        message = tip_card(tip)
        assert message["text"] and len(message["text"]) < 3000
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])


def test_times_and_zones_are_checked():
    assert parse_local_time("9:05") == "09:05"
    assert parse_local_time("23:59") == "23:59"
    for bad in ("24:00", "9", "09:60", "nine", "09:00:00"):
        with pytest.raises(ScheduleError):
            parse_local_time(bad)
    assert parse_tz("Asia/Tokyo") == "Asia/Tokyo"
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"):
        with pytest.raises(ScheduleError):
            parse_tz(bad)
    assert parse_now("2024-05-15T09:00:00") == datetime(2024, 5, 15, 9, tzinfo=UTC)
    assert parse_now("2024-05-15T09:00:00Z") == datetime(2024, 5, 15, 9, tzinfo=UTC)
    assert parse_now("2024-05-15T11:00:00+02:00") == datetime(2024, 5, 15, 9, tzinfo=UTC)


def test_due_dates_follow_local_calendars():
    # 2024-05-17 is a Friday; 22:00 UTC is Saturday 07:00 in Tokyo and Friday 15:00 in Los Angeles.
    friday_night = datetime(2024, 5, 17, 22, 0, tzinfo=UTC)
    assert due_date(local_time="06:00", tz="Asia/Tokyo", days="weekdays", now=friday_night) is None
    assert due_date(local_time="06:00", tz="Asia/Tokyo", days="daily", now=friday_night) == date(2024, 5, 18)
    assert due_date(local_time="09:00", tz="America/Los_Angeles", days="weekdays", now=friday_night) == date(
        2024, 5, 17
    )
    when = next_due(
        local_time="06:00", tz="Asia/Tokyo", days="weekdays", now=friday_night, posted_today=False
    )
    assert when.isoformat() == "2024-05-20T06:00:00+09:00"
    # A time skipped by the spring-forward jump is next due at the jump itself.
    before = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
    when = next_due(local_time="02:30", tz="America/Los_Angeles", days="daily", now=before, posted_today=True)
    assert when.isoformat() == "2024-03-10T03:00:00-07:00"


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("America/Santiago", date(2024, 9, 8)),  # 00:00 -04 jumps to 01:00 -03
        ("America/Havana", date(2024, 3, 10)),
        ("Asia/Beirut", date(2024, 3, 31)),
        ("America/Asuncion", date(2023, 10, 1)),
    ],
)
@pytest.mark.parametrize("clock", ["00:00", "00:30"])
def test_a_time_skipped_at_midnight_is_due_at_the_jump_on_that_day(tz, day, clock):
    zone = ZoneInfo(tz)
    hours, minutes = map(int, clock.split(":"))
    moment = first_local_moment(day, time(hours, minutes), zone)
    assert moment.date() == day and moment.strftime("%H:%M") == "01:00", moment.isoformat()
    # The moment the scheduler posts at agrees: due on that date from the jump on.
    assert due_date(local_time=clock, tz=tz, days="daily", now=moment) == day


def test_santiago_midnight_on_the_spring_forward_day_is_next_due_at_one():
    # Saturday 2024-09-07 20:00 in Santiago (-04); the next 00:00 tip falls in the gap.
    saturday_evening = datetime(2024, 9, 8, 0, 0, tzinfo=UTC)
    when = next_due(
        local_time="00:00", tz="America/Santiago", days="daily", now=saturday_evening, posted_today=True
    )
    assert when.isoformat() == "2024-09-08T01:00:00-03:00"
    assert (
        next_due(
            local_time="00:30", tz="America/Santiago", days="daily", now=saturday_evening, posted_today=True
        ).isoformat()
        == "2024-09-08T01:00:00-03:00"
    )


def test_order_walks_every_tip_then_reshuffles():
    ids = [f"t{i}" for i in range(5)]
    state, seen = None, []
    for _ in range(10):
        tip, state = next_tip(state, ids, team="T1", channel="C1")
        seen.append(tip)
    assert sorted(seen[:5]) == ids and sorted(seen[5:]) == ids
    assert seen[:5] != seen[5:] or seen[4] != seen[5]
    assert seen[5] != seen[4] and state.round == 2


def test_order_takes_in_added_tips_and_passes_over_removed_ones():
    state = TipOrderState(round=1, order=("a", "b", "c", "d"), position=2)
    shown = []
    ids = ["a", "b", "d", "e", "f"]  # c removed, e and f added
    for _ in range(3):
        tip, state = next_tip(state, ids, team="T1", channel="C1")
        shown.append(tip)
    assert shown[0] == "d" and sorted(shown[1:]) == ["e", "f"]
    tip, state = next_tip(state, ids, team="T1", channel="C1")
    assert state.round == 2 and tip in ids
