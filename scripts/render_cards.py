"""Render every message and view the bot sends: Block Kit JSON, an HTML approximation, and
(``--screenshots``) PNGs of the main ones at desktop and mobile width, taken with headless
Chromium (Debian's ``chromium`` package).

    python scripts/render_cards.py                      # docs/cards/*.json + *.html + index.html
    python scripts/render_cards.py --screenshots        # and docs/screenshots/*.png

Everything is built by the bot's own code (``bot.slack.cards.Cards`` over the real bundled
model and index, the builders in ``bot.slack.blocks``, the tips command and poster), so what
is rendered is what Slack would get. Paste a JSON file into Slack's Block Kit Builder to see
the real rendering; the HTML is close enough to review layout at a glance (Slack's own styles
differ in detail: fonts, spacing, the feedback buttons' icons).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.slack import blocks  # noqa: E402

# (name, width) of each screenshot: the answer card, a refusal, Home and a tip.
SCREENSHOTS = ("answer_card", "refusal", "home", "tip")
# Ask an expert and saved answers (issue 26): built by expert_messages below.
EXPERT_SCREENSHOTS = (
    "refusal_ask_expert",
    "expert_escalation",
    "expert_escalated_notice",
    "expert_answer",
    "expert_resolved",
    "saved_answer_card",
    "saved_answer_refusal",
)
SCREENSHOTS += EXPERT_SCREENSHOTS
WIDTHS = {"desktop": 1000, "mobile": 390}
EMOJI = {
    "bulb": "💡",
    "thinking_face": "🤔",
    "white_check_mark": "✅",
    "memo": "📝",
    "ballot_box_with_ballot": "🗳️",
    "wave": "👋",
    "warning": "⚠️",
    "+1": "👍",
    "-1": "👎",
    "raising_hand": "🙋",
    "speech_balloon": "💬",
    "floppy_disk": "💾",
    "eyes": "👀",
}


# --- the messages -------------------------------------------------------------------------------


def build_all() -> dict[str, dict]:
    """Every message and view, by name (built by the bot's code over the bundled knowledge)."""
    from bot.config import Settings
    from bot.search.advisor import Advisor
    from bot.slack.cards import Cards
    from bot.slack.listeners.commands.tips import USAGE, _describe, _schedule_words
    from bot.slack.tips import ONE_TIP_FOOTER, tip_card
    from bot.tips.catalog import load_tips
    from bot.tips.records import SubscriptionRecord

    settings = Settings()
    cards = Cards(Advisor.load(settings))
    quota = "who should set next year's sales quota?"
    refused = "what will the weather be like in Paris tomorrow?"
    vague = "who should cook for the office party?"
    answer = cards.answer(quota)
    private = cards.answer(quota, kind=blocks.PRIVATE)
    tips = load_tips(settings.knowledge_dir).tips
    now = datetime(2026, 12, 1, 19, 37, tzinfo=UTC)
    subscription = SubscriptionRecord(
        team="T1",
        channel="C0SALES",
        local_time="08:30",
        tz="Europe/Paris",
        days="weekdays",
        active=True,
        paused_reason=None,
        created_by="U0ANNA",
        failures=0,
        last_error=None,
        created_at=now,
        updated_at=now,
    )

    class NoPosts:
        def post_for(self, *args):
            return None

    subscriptions = [
        subscription,
        replace(
            subscription,
            channel="C0MARKETING",
            local_time="09:00",
            days="daily",
            paused_reason="not_in_channel",
        ),
    ]
    messages = {
        "answer_card": answer,
        "answer_card_low_confidence": cards.answer(vague),
        "answer_card_private": private,
        "answer_card_shared": blocks.shared_by(cards.answer(quota, kind=blocks.SHARED), "U0ANNA"),
        "answer_card_voted_channel": blocks.with_votes(answer, blocks.Votes(helpful=2, not_helpful=1)),
        "answer_card_voted_private": blocks.with_votes(private, blocks.Votes(mine=True)),
        "refusal": cards.answer(refused),
        "refusal_private": cards.answer(refused, kind=blocks.PRIVATE),
        "more_passages": cards.more(quota, 1, thread_ts="1700000000.000100"),
        "more_passages_shared": blocks.shared_by(blocks.without_actions(cards.more(quota, 1)), "U0ANNA"),
        "help": cards.help(),
        "welcome": blocks.welcome_message(cards.examples()),
        "tip": tip_card(tips[0]),
        "tip_now": tip_card(tips[1], heading="Tip", footer=ONE_TIP_FOOTER),
        "tips_notice": blocks.notice(
            f":bulb: <@U0ANNA> turned on daily tips here: {_schedule_words(subscription)}, the first one "
            "tomorrow at 08:30 Europe/Paris. Anyone can stop them with `/advisor tips off`."
        ),
        "tips_status": blocks.notice(_describe(subscription, NoPosts(), now)),
        "tips_usage": blocks.notice(USAGE),
        "error": blocks.error_message(),
        "ask_form_unavailable": blocks.ask_form_unavailable(),
    }
    views = {
        "home": cards.home(subscriptions),
        "ask_modal": blocks.ask_modal(),
    }
    messages.update(expert_messages(cards, refused, quota))
    prompts = blocks.suggested_prompts(cards.examples())
    other = {"suggested_prompts": {"title": "Try asking", "prompts": prompts}}
    return {**messages, **views, **other}


def expert_messages(cards, refused: str, quota: str) -> dict[str, dict]:
    """Ask an expert and saved answers: the cards of issue 26, built by the bot's builders.
    The experts' post is of an answered question voted not helpful (so it shows the quote)."""
    from bot.slack.blocks import experts
    from bot.slack.blocks.answers import with_button

    deck = "where's the latest pitch deck? the one in Google Drive still has the old logo"
    reply = (
        "Always pull it from Highspot: the 'Corporate Pitch Deck FY25' spot is the only approved "
        "version and Product Marketing updates it monthly. The Drive copies are archived."
    )
    answered = datetime(2026, 12, 3, 15, 12, tzinfo=UTC)
    saved = experts.SavedCard(id=3, question=deck, answer=reply, expert="U0DANA", answered_at=answered)
    quota_saved = experts.SavedCard(
        id=4,
        question="who sets the sales quota for next year?",
        answer="Finance sets the company number in the annual plan; the CRO splits it by region and "
        "RevOps loads the targets into Salesforce by 15 January.",
        expert="U0DANA",
        answered_at=answered,
    )
    said = cards.advisor.ask(quota, k=1)
    post = experts.escalation_post(
        question=quota,
        asker="U0ANNA",
        status=said.status,
        quote=cards.quotes(said.hits[:1])[0],
        owner=said.owner,
        permalink="https://example.slack.com/archives/C0SALES/p1700000000000100",
        escalation_id=3,
    )
    return {
        "refusal_ask_expert": with_button(cards.answer(refused), experts.ask_expert_button(refused)),
        "expert_escalation": post,
        "expert_taken": experts.taken(post, "U0DANA", 3),
        "expert_escalated_notice": experts.escalated_notice("C0EXPERTS"),
        "expert_answer": experts.expert_answer("U0DANA", reply),
        "expert_resolved": experts.resolved(post, "U0DANA", 3),
        "expert_saved": experts.resolved(post, "U0DANA", 3, saved_by="U0DANA"),
        "saved_answer_card": experts.with_saved_answer(cards.answer(quota), quota_saved, covered=True),
        "saved_answer_refusal": experts.with_saved_answer(cards.answer(deck), saved, covered=False),
        "saved_answers_list": experts.saved_answers_list([saved, quota_saved]),
        "experts_setting": experts.experts_setting("C0EXPERTS", changed="set"),
    }


# --- HTML approximation -------------------------------------------------------------------------


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already escaped for Slack, so safe as HTML) to HTML."""
    lines, quote, out = text.split("\n"), [], []

    def flush():
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote.clear()

    for line in lines:
        if line.startswith(">"):
            quote.append(inline(line[1:]))
        else:
            flush()
            out.append(inline(line) + "<br>")
    flush()
    return "".join(out).removesuffix("<br>")


def inline(text: str) -> str:
    def special(match: re.Match) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("#"):
            name = label or target[1:].lower().removeprefix("c0")  # the demo ids: C0SALES -> #sales
            return f'<span class="mention">#{html.escape(name)}</span>'
        if target.startswith("@"):
            return f'<span class="mention">@{html.escape(label or "anna")}</span>'
        return f'<a href="{target}">{label or target}</a>'

    text = re.sub(r"<([^<>]+)>", special, text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", text)
    return re.sub(r":([a-z0-9_+\-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def plain(obj: dict | None) -> str:
    return html.escape((obj or {}).get("text", ""))


def element_html(element: dict) -> str:
    kind = element.get("type")
    if kind == "button":
        style = f" {element['style']}" if element.get("style") else ""
        return f'<span class="button{style}">{plain(element["text"])}</span>'
    if kind == "feedback_buttons":
        up, down = element["positive_button"], element["negative_button"]
        return (
            f'<span class="icon" title="{plain(up["text"])}">👍</span>'
            f'<span class="icon" title="{plain(down["text"])}">👎</span>'
        )
    if kind == "mrkdwn":
        return mrkdwn(element["text"])
    if kind == "plain_text_input":
        placeholder = plain(element.get("placeholder"))
        return f'<div class="input">{placeholder}</div>'
    return html.escape(json.dumps(element))


def block_html(block: dict) -> str:
    kind = block["type"]
    if kind == "section":
        return f'<div class="section">{mrkdwn(block["text"]["text"])}</div>'
    if kind == "context":
        return '<div class="context">' + " ".join(element_html(e) for e in block["elements"]) + "</div>"
    if kind in ("actions", "context_actions"):
        return f'<div class="{kind}">' + "".join(element_html(e) for e in block["elements"]) + "</div>"
    if kind == "divider":
        return "<hr>"
    if kind == "header":
        return f'<div class="header">{plain(block["text"])}</div>'
    if kind == "input":
        return f'<div class="label">{plain(block["label"])}</div>{element_html(block["element"])}'
    return f"<pre>{html.escape(json.dumps(block, indent=1))}</pre>"


STYLESHEET = "cards.css"
STYLE = """
body {
  margin: 0;
  background: #fff;
  font: 15px/1.46668 -apple-system, "Segoe UI", Lato, "Noto Sans", Helvetica, Arial, sans-serif;
  color: #1d1c1d;
}
.frame { padding: 16px 20px; max-width: 900px; }
.msg { display: flex; gap: 8px; }
.avatar {
  width: 36px;
  height: 36px;
  border-radius: 6px;
  background: #1d3b5a;
  color: #fff;
  flex: none;
  display: flex;
  align-items: center;
  justify-content: center;
  font-weight: 700;
}
.body { min-width: 0; flex: 1; }
.who { font-weight: 900; }
.app {
  font-size: 10px;
  background: #ddd;
  color: #555;
  border-radius: 3px;
  padding: 0 3px;
  margin-left: 4px;
  vertical-align: 2px;
}
.time { color: #616061; font-size: 12px; margin-left: 6px; }
.section { margin: 4px 0; overflow-wrap: anywhere; }
blockquote { margin: 4px 0; padding-left: 12px; border-left: 4px solid #ddd; }
.context { color: #616061; font-size: 13px; margin: 4px 0; overflow-wrap: anywhere; }
.actions { margin: 8px 0; display: flex; flex-wrap: wrap; gap: 8px; }
.context_actions { margin: 2px 0; display: flex; gap: 2px; }
.button {
  border: 1px solid #bbb;
  border-radius: 4px;
  padding: 3px 12px;
  font-weight: 700;
  font-size: 14px;
  background: #fff;
  white-space: nowrap;
  max-width: 100%;
  overflow: hidden;
  text-overflow: ellipsis;
}
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.icon {
  border: 1px solid transparent;
  border-radius: 4px;
  padding: 0 6px;
  font-size: 14px;
  filter: grayscale(1);
}
a { color: #1264a3; text-decoration: none; }
code {
  color: #c01343;
  background: #f6f6f6;
  border: 1px solid #ddd;
  border-radius: 3px;
  padding: 0 2px;
  font-size: 12px;
}
.mention { color: #1264a3; background: #e8f5fa; }
hr { border: 0; border-top: 1px solid #ddd; margin: 12px 0; }
.header { font-size: 20px; font-weight: 900; margin: 8px 0; }
.view { max-width: 760px; }
.modal { border: 1px solid #ddd; border-radius: 8px; padding: 16px; max-width: 520px; }
.modal .title { font-weight: 900; font-size: 18px; margin-bottom: 12px; }
.label { font-weight: 700; margin: 8px 0 4px; }
.input { border: 1px solid #bbb; border-radius: 4px; padding: 8px; color: #888; min-height: 60px; }
.submit { margin-top: 12px; text-align: right; }
.note { color: #616061; font-size: 12px; margin: 0 0 12px; }
.fallback { color: #616061; font-size: 12px; margin-top: 16px; }
"""


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def page(name: str, payload: dict) -> str:
    if payload.get("type") == "home":
        inner = '<div class="view">' + "".join(block_html(b) for b in payload["blocks"]) + "</div>"
    elif payload.get("type") == "modal":
        inner = (
            f'<div class="modal"><div class="title">{plain(payload["title"])}</div>'
            + "".join(block_html(b) for b in payload["blocks"])
            + f'<div class="submit"><span class="button">{plain(payload["close"])}</span> '
            f'<span class="button primary">{plain(payload["submit"])}</span></div></div>'
        )
    elif "blocks" in payload:
        inner = (
            '<div class="msg"><div class="avatar">A</div><div class="body">'
            '<div><span class="who">advisor</span><span class="app">APP</span>'
            '<span class="time">9:41 AM</span></div>'
            + "".join(block_html(b) for b in payload["blocks"])
            + "</div></div>"
            + f'<div class="fallback">Notification text: {html.escape(_short(payload.get("text", "")))}</div>'
        )
    else:
        inner = f"<pre>{html.escape(json.dumps(payload, indent=2, ensure_ascii=False))}</pre>"
    return (
        f'<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f'<title>{html.escape(name)}</title><link rel="stylesheet" href="{STYLESHEET}">'
        f'<div class="frame"><p class="note">{html.escape(name)}: an approximation of Slack\'s rendering '
        f"(the JSON beside this file is what the bot sends)</p>{inner}</div>"
    )


# --- screenshots ---------------------------------------------------------------------------------


def screenshot(chromium: str, source: Path, target: Path, width: int) -> None:
    """A PNG of ``source`` at ``width`` CSS pixels, cropped to its content."""
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},4000",
                f"--screenshot={target}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    image = Image.open(target).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, (255, 255, 255))).getbbox()
    if box:
        image.crop((0, 0, image.width, min(image.height, box[3] + 16))).save(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "cards", help="JSON and HTML go here")
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/*.png")
    parser.add_argument("--shots-out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()

    rendered = build_all()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / STYLESHEET).write_text(STYLE)  # one stylesheet for every page
    links = []
    for name, payload in rendered.items():
        (args.out / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        (args.out / f"{name}.html").write_text(page(name, payload))
        links.append(f'<li><a href="{name}.html">{name}</a> (<a href="{name}.json">JSON</a>)</li>')
    (args.out / "index.html").write_text(
        f'<!doctype html><meta charset="utf-8"><title>advisor cards</title><ul>{"".join(links)}</ul>'
    )
    print(f"wrote {len(rendered)} messages and views to {args.out}")
    if not args.screenshots:
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    args.shots_out.mkdir(parents=True, exist_ok=True)
    for name in SCREENSHOTS:
        for label, width in WIDTHS.items():
            target = args.shots_out / f"{name}-{label}.png"
            screenshot(chromium, args.out / f"{name}.html", target, width)
            print(f"wrote {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
