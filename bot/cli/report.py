"""``advisor report``: what people asked, what the article does not cover, how tips fared."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option(
    "--since",
    "since_days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Days to look back.",
)
@click.option("--team", default=None, help="One workspace (team id); default: all of them.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a self-contained HTML page with charts to FILE.",
)
def report(since_days: float, team: str | None, as_json: bool, html_file: Path | None) -> None:
    """Questions per day and by outcome, the top unanswered ones, votes and tips."""
    from ..config import Settings, load_settings
    from ..knowledge import load_knowledge
    from ..report import build_report, passage_names, to_html, to_text
    from ..storage import open_store

    settings = click.get_current_context().find_object(Settings) or load_settings()
    names = passage_names(load_knowledge(settings.knowledge_dir))  # votes name passages by id
    store = open_store(settings.database_url)
    try:
        built = build_report(store, since_days=since_days, team=team, passages=names)
    finally:
        store.close()
    if html_file is not None:
        try:
            html_file.write_text(to_html(built), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {html_file}: {exc.strerror}") from None
    if as_json:
        click.echo(json.dumps(built.to_json(), ensure_ascii=False, indent=2))
    elif html_file is None:
        click.echo(to_text(built))
    else:
        click.echo(f"wrote {html_file} ({built.questions} question(s))")
