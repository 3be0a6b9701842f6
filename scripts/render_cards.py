"""Render every message and view the bot sends: Block Kit JSON, an HTML approximation, and
(``--screenshots``) PNGs of the main ones at desktop and mobile width, taken with headless
Chromium (Debian's ``chromium`` package).

    python scripts/render_cards.py                      # docs/cards/*.json + *.html + index.html
    python scripts/render_cards.py --screenshots        # and docs/screenshots/*.png, checked

With ``--screenshots`` every message and view is shot at desktop (1000 px) and phone (390 px)
width, and laid out once more at 390 px to check it (``measure``): the run fails if a button's
label is cut, a page overflows sideways, or the quota answer's cards are taller than one phone
screen (``PHONE_SCREEN``). Heights land in docs/screenshots/heights.json.

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

WIDTHS = {"desktop": 1000, "mobile": 390}
# One phone screen for a message: a 390 x 844 CSS px phone (iPhone 12 to 15) less Slack's own
# header, composer and the system bars (about 240 px), so a card this tall or less is read
# without scrolling.
PHONE_SCREEN = 600
# Cards that must fit one phone screen (the README's quota question, in its main forms).
ONE_SCREEN = ("answer_channel", "answer_dm", "answer_private")
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
    "speech_balloon": "💬",
    "zzz": "💤",
    "incoming_envelope": "📨",
    "left_right_arrow": "↔️",
    "raising_hand": "🙋",
    "floppy_disk": "💾",
    "eyes": "👀",
}


# --- the messages -------------------------------------------------------------------------------


def build_all(cards=None) -> dict[str, dict]:
    """Every message and view, by name (built by the bot's code over the bundled knowledge)."""
    import tempfile as _tempfile

    from render_report import TEAM_NAMES, demo

    from bot.config import Settings
    from bot.report import build_report
    from bot.search.advisor import Advisor
    from bot.slack.admin_home import admin_blocks
    from bot.slack.cards import Cards
    from bot.slack.listeners.commands.tips import USAGE, _describe, _schedule_words
    from bot.slack.tips import ONE_TIP_FOOTER, tip_card
    from bot.storage import open_store
    from bot.tips.catalog import load_tips
    from bot.tips.records import SubscriptionRecord

    settings = Settings()
    cards = cards or Cards(Advisor.load(settings))
    quota = "who should set next year's sales quota?"
    refused = "what will the weather be like in Paris tomorrow?"
    vague = "who should cook for the office party?"
    plan = "we're moving trade shows under the sales VP next year, sensible?"
    plan_who = "we want each regional sales office to write its own five-year plan, any objection?"
    answer, core = cards.answered(quota)
    private = cards.answer(quota, kind=blocks.PRIVATE)
    low_private = cards.answer(vague, kind=blocks.PRIVATE)
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
    with _tempfile.TemporaryDirectory() as tmp:  # the admin's week, through the real code path
        store = open_store(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
        demo(store, cards.advisor, now)
        report = build_report(store, since_days=7, team="T1", now=now, team_names=TEAM_NAMES)
        store.close()
    # Plans (issue 23), answered by the core: a stance alone where there is no verdict, and a
    # who-question put as a plan (the verdict, then the stance).
    stance = {
        "plan_warns": cards.answer(plan),
        "plan_with_verdict": cards.answer(plan_who),
    }
    messages = {
        "answer_channel": answer,
        "answer_dm": answer,  # a DM's answer is the thread card, in the DM's thread
        "answer_private": private,
        "answer_private_low_confidence": low_private,
        "answer_shared": blocks.shared_by(cards.answer(quota, kind=blocks.SHARED), "U0ANNA"),
        "answer_asked": cards.answer(quota, kind=blocks.ASKED),
        "answer_low_confidence": cards.answer(vague),
        "answer_zh": cards.answer(quota, locale="zh-CN"),
        "answer_es": cards.answer(quota, locale="es-ES"),
        **stance,
        "vote_private_helpful": blocks.with_votes(private, blocks.Votes(helpful=1, mine=True)),
        "vote_private_not_helpful": blocks.with_votes(private, blocks.Votes(not_helpful=1, mine=False)),
        "vote_channel_note": blocks.vote_reply(
            quota, blocks.Votes(helpful=2, not_helpful=1, mine=True), kind=blocks.THREAD
        ),
        "vote_channel_not_helpful": blocks.vote_reply(
            quota, blocks.Votes(helpful=2, not_helpful=2, mine=False), kind=blocks.THREAD
        ),
        "refusal": cards.answer(refused),
        "refusal_private": cards.answer(refused, kind=blocks.PRIVATE),
        "refusal_zh": cards.answer("明天巴黎的天气怎么样？"),
        "more_passages_thread": cards.more(quota, 1, thread_ts="1700000000.000100"),
        "more_passages_private": cards.more(quota, 1, share="channel", kind=blocks.PRIVATE),
        "more_passages_dm": cards.more(quota, 1, share=None),
        "more_passages_shared": blocks.shared_by(
            blocks.without_actions(cards.more(quota, 1)), "U0ANNA", origin="thread"
        ),
        "help": cards.help(),
        "welcome": cards.welcome(),
        "welcome_zh": cards.welcome("zh"),
        "tip": tip_card(tips[0]),
        "tip_now": tip_card(tips[1], heading="Tip", footer=ONE_TIP_FOOTER),
        "tips_on_notice": blocks.notice(
            f":bulb: Daily tips are on here: {_schedule_words(subscription)}, the first one tomorrow. "
            "Stop: `/advisor tips off`."
        ),
        "tips_off_notice": blocks.notice(":zzz: Daily tips are off here. Back on: `/advisor tips on`."),
        "tips_status": blocks.notice(_describe(subscription, NoPosts(), now)),
        "tips_usage": blocks.notice(USAGE),
        "error": blocks.error_message(),
        "ask_form_unavailable": blocks.ask_form_unavailable(),
    }
    views = {
        "home": cards.home(subscriptions),
        "home_admin": cards.home(subscriptions, admin_blocks=admin_blocks(report)),
        "ask_modal": blocks.ask_modal(),
        "ask_modal_rephrase": blocks.ask_modal(vague),
        "ask_sent": blocks.ask_sent(),
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
    if kind == "section" and "fields" in block:
        return (
            '<div class="fields">'
            + "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"])
            + "</div>"
        )
    if kind == "section" and block.get("accessory"):
        return (
            f'<div class="section row"><div class="text">{mrkdwn(block["text"]["text"])}</div>'
            f"{element_html(block['accessory'])}</div>"
        )
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
.frame { padding: 16px 12px; max-width: 900px; }
.row { display: flex; gap: 8px; align-items: flex-start; }
.row .text { flex: 1; min-width: 0; }
.row .button { flex: none; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 12px; margin: 4px 0; }
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
            + (
                f'<span class="button primary">{plain(payload["submit"])}</span>'
                if "submit" in payload
                else ""
            )
            + "</div></div>"
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


# Run in the page after layout: labels cut (a button's text wider than the button), the
# message's or view's height, and any horizontal overflow of the page; sent to the frame
# around it (``measure``).
MEASURE = """<script>
addEventListener("load", () => {
  const cut = [...document.querySelectorAll(".button")]
    .filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.textContent);
  const shown = [".msg", ".view", ".modal", "body"].map((q) => document.querySelector(q)).find(Boolean);
  const root = document.documentElement;
  parent.postMessage(JSON.stringify({cut, height: Math.ceil(shown.getBoundingClientRect().height),
    overflow: root.scrollWidth - root.clientWidth, width: root.clientWidth}), "*");
});
</script>"""
# Headless Chromium will not make a window narrower than 500 px, so the page is laid out in a
# frame of the phone's size, where its own media queries see 390 px.
FRAME = """<!doctype html><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>addEventListener("message", (e) => {{
  const pre = document.createElement("pre"); pre.id = "metrics"; pre.textContent = e.data;
  document.body.appendChild(pre);
}});</script>"""


def measure(chromium: str, source: Path, width: int, height: int = 844) -> dict:
    """Lay ``source`` out in headless Chromium in a ``width`` x ``height`` CSS px frame and
    return ``{"cut": [button labels cut], "height": px of the message or view, "overflow": px,
    "width": px of the page's viewport}``."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / source.name
        page.write_text(source.read_text(encoding="utf-8") + MEASURE, encoding="utf-8")
        for extra in source.parent.glob("*.css"):  # the stylesheet the page links to
            (Path(tmp) / extra.name).write_text(extra.read_text(encoding="utf-8"), encoding="utf-8")
        frame = Path(tmp) / "frame.html"
        frame.write_text(FRAME.format(src=page.name, width=width, height=height), encoding="utf-8")
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--allow-file-access-from-files",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--window-size={max(width, 800)},{height + 100}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                frame.as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    found = re.search(r'<pre id="metrics">(.*?)</pre>', done.stdout, re.S)
    if not found:
        raise RuntimeError(f"no measurement from Chromium for {source.name}")
    metrics = json.loads(html.unescape(found.group(1)))
    if metrics["width"] != width:
        raise RuntimeError(f"{source.name} was laid out {metrics['width']} px wide, not {width}")
    return metrics


def problems(name: str, metrics: dict) -> list[str]:
    """What is wrong with a page at phone width: a cut label, or a one-screen card too tall."""
    found = [f"{name}: button label cut at 390 px: {label!r}" for label in metrics["cut"]]
    if name in ONE_SCREEN and metrics["height"] > PHONE_SCREEN:
        found.append(
            f"{name}: {metrics['height']} px tall at 390 px, over one phone screen ({PHONE_SCREEN} px)"
        )
    if metrics["overflow"] > 0:
        found.append(f"{name}: {metrics['overflow']} px of horizontal overflow at 390 px")
    return found


def write_pages(rendered: dict[str, dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / STYLESHEET).write_text(STYLE)  # one stylesheet for every page
    links = []
    for name, payload in rendered.items():
        (out / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        (out / f"{name}.html").write_text(page(name, payload))
        links.append(f'<li><a href="{name}.html">{name}</a> (<a href="{name}.json">JSON</a>)</li>')
    (out / "index.html").write_text(
        f'<!doctype html><meta charset="utf-8"><title>advisor cards</title><ul>{"".join(links)}</ul>'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "cards", help="JSON and HTML go here")
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/*.png")
    parser.add_argument("--shots-out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()

    rendered = build_all()
    write_pages(rendered, args.out)
    print(f"wrote {len(rendered)} messages and views to {args.out}")
    if not args.screenshots:
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    args.shots_out.mkdir(parents=True, exist_ok=True)
    found, heights = [], {}
    for name, payload in rendered.items():
        if "blocks" not in payload:
            continue  # the suggested prompts: JSON only
        for label, width in WIDTHS.items():
            target = args.shots_out / f"{name}-{label}.png"
            screenshot(chromium, args.out / f"{name}.html", target, width)
        metrics = measure(chromium, args.out / f"{name}.html", WIDTHS["mobile"])
        heights[name] = metrics["height"]
        found += problems(name, metrics)
    (args.shots_out / "heights.json").write_text(json.dumps(heights, indent=1) + "\n")
    print("height at 390 px: " + ", ".join(f"{n} {h}" for n, h in heights.items()))
    if found:
        sys.exit("\n".join(found))
    print(f"no button label cut at 390 px; {', '.join(ONE_SCREEN)} fit one phone screen ({PHONE_SCREEN} px)")


if __name__ == "__main__":
    main()
