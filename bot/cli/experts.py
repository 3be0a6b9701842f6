"""``advisor experts`` (a workspace's experts channel) and ``advisor answers`` (its saved answers)."""

from __future__ import annotations

import click

from ..config import Settings, load_settings
from .group import AdvisorGroup


def _store():
    from ..storage import open_store

    obj = click.get_current_context().find_object(Settings)
    return open_store((obj or load_settings()).database_url)


def _channel(text: str) -> str:
    from ..slack.experts import parse_channel

    channel = parse_channel(text)
    if channel is None:
        raise click.BadParameter(
            f"{text!r} is not a channel id (C0123...) or <#C0123|name>", param_hint="CHANNEL"
        )
    return channel


@click.group(cls=AdvisorGroup)
def experts() -> None:
    """Where a workspace's "Ask an expert" questions go."""


@experts.command("set")
@click.argument("team")
@click.argument("channel")
def experts_set(team: str, channel: str) -> None:
    """Send TEAM's questions for the experts to CHANNEL (an id, or <#C0123|name>)."""
    channel_id = _channel(channel)
    store = _store()
    try:
        store.set_experts_channel(team, channel_id, set_by="cli")
    finally:
        store.close()
    click.echo(f"{team}: questions for the experts go to {channel_id}")


@experts.command("show")
@click.argument("team")
def experts_show(team: str) -> None:
    """The experts channel of TEAM."""
    store = _store()
    try:
        channel = store.experts_channel(team)
    finally:
        store.close()
    click.echo(f"{team}: {channel or 'no experts channel (Ask an expert is off)'}")


@experts.command("off")
@click.argument("team")
def experts_off(team: str) -> None:
    """Turn Ask an expert off in TEAM."""
    store = _store()
    try:
        changed = store.clear_experts_channel(team)
    finally:
        store.close()
    click.echo(f"{team}: Ask an expert is off" + ("" if changed else " (it was not on)"))


@click.group(cls=AdvisorGroup)
def answers() -> None:
    """The answers experts saved, per workspace."""


@answers.command("list")
@click.argument("team")
def answers_list(team: str) -> None:
    """TEAM's saved answers: id, question, who answered and when, how often shown."""
    store = _store()
    try:
        saved = store.saved_answers(team)
        uses = {u.saved_id: u.uses for u in store.saved_usage(team=team)}
    finally:
        store.close()
    if not saved:
        click.echo(f"{team}: no saved answers")
    for item in saved:
        click.echo(f"#{item.id}  {item.question}")
        click.echo(f"     {item.answer}")
        click.echo(
            f"     by {item.expert}, {item.answered_at:%Y-%m-%d}; shown {uses.get(item.id, 0)} time(s)"
        )


@answers.command("delete")
@click.argument("team")
@click.argument("saved_id", type=int)
def answers_delete(team: str, saved_id: int) -> None:
    """Delete saved answer SAVED_ID of TEAM: it is not shown again."""
    store = _store()
    try:
        gone = store.delete_saved_answer(team, saved_id)
    finally:
        store.close()
    if not gone:
        raise click.ClickException(f"{team} has no saved answer #{saved_id}")
    click.echo(f"deleted #{saved_id}")


@answers.command("edit")
@click.argument("team")
@click.argument("saved_id", type=int)
@click.option("--question", default=None, help="The question's new wording (what is matched).")
@click.option("--answer", default=None, help="The answer's new text.")
def answers_edit(team: str, saved_id: int, question: str | None, answer: str | None) -> None:
    """Change the question or the answer of saved answer SAVED_ID of TEAM."""
    if not (question or answer):
        raise click.UsageError("give --question, --answer or both")
    store = _store()
    try:
        changed = store.edit_saved_answer(team, saved_id, question=question, answer=answer)
    finally:
        store.close()
    if not changed:
        raise click.ClickException(f"{team} has no saved answer #{saved_id}")
    click.echo(f"edited #{saved_id}")
