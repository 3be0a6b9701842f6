"""The ``advisor`` command line: a thin layer over the core, the tips and the Slack bot.

Each command imports what it runs inside itself: start-up cost is the reason (``advisor ask``'s
cold start is measured, and ``advisor tips list`` or ``db upgrade`` never need numpy, faiss or
the model). Expected errors become one line through ``AdvisorGroup`` (``bot.errors``).
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import click

from ..config import Settings, load_settings
from ..knowledge import VERDICTS, load_knowledge
from ..logguard import install_secret_scrubbing, secret_settings
from .experts import answers, experts
from .group import AdvisorGroup
from .knowledge import knowledge as knowledge_command
from .report import report as report_command
from .tips import tips

logger = logging.getLogger("bot")

NO_VERDICT = "The article doesn't give this to one department."


def _settings() -> Settings:
    return click.get_current_context().find_object(Settings)


def _load_advisor(progress: bool = False):
    from ..search.advisor import Advisor

    return Advisor.load(_settings(), progress=progress)


@click.group(cls=AdvisorGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML settings file.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Answers how to split work between Sales and Marketing, quoting the article."""
    settings = load_settings(config_path=config_path)  # a ConfigError is one line (AdvisorGroup)
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), logging.INFO)
    if ctx.invoked_subcommand in ("ask", "eval", "index", "knowledge") and not verbose:
        level = max(level, logging.WARNING)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # No secret in any line (bot.logguard); ``serve`` and ``tips worker`` also limit repeated tracebacks.
    install_secret_scrubbing(secret_settings(settings))
    for noisy in ("faiss.loader", "sentence_transformers", "httpx", "urllib3", "markdown_it"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    ctx.obj = settings


# --- ask -------------------------------------------------------------------------------


def format_answer(answer, advisor) -> str:
    """A readable answer for the terminal."""
    from ..search.answer import not_covered_line

    lines = [f"Q: {answer.question.strip()}"]
    if answer.status == "not_covered":
        pronoun = "They answer" if len(answer.documents) > 1 else "It answers"
        lines.append(f"{not_covered_line(answer.documents)} {pronoun} questions such as:")
        lines += [f"  - {q}" for q in (answer.suggestions or advisor.example_questions()[:4])]
        return "\n".join(lines)
    top = answer.hits[0]
    if answer.status == "low_confidence":
        lines.append(
            "Low confidence: the article does not answer this directly; here is the closest guidance."
        )
    if answer.owner and top.company:
        lines.append(f"Company rule: {VERDICTS[answer.owner]} (per the {top.document_title})")
        if answer.article_view is not None:
            view = answer.article_view
            lines.append(f"The article's view: {VERDICTS[view.owner]} (section “{view.passage.section}”)")
            pad = "    "
            lines += textwrap.wrap(f"“{view.quote}”", width=88, initial_indent=pad, subsequent_indent=pad)
    elif answer.owner:
        lines.append(f"Verdict: {VERDICTS[answer.owner]} (per the article)")
    else:
        lines.append(f"Verdict: none. {NO_VERDICT}")
    lines.append("")
    lines += textwrap.wrap(f"“{top.quote}”", width=88, initial_indent="  > ", subsequent_indent="  > ")
    parent = f" in “{top.section_parent}”" if top.section_parent else ""
    lines.append(f"  — section “{top.passage.section}”{parent}")
    if top.company:
        where = f":{top.line}" if top.line else ""
        lines.append(f"    {top.document_title} ({top.document_file}{where})")
    source = top.source
    if source:
        credit = f", crediting {source.attribution}" if source.attribution else ""
        lines.append(f"    {top.document_title} ({source.publisher}, {source.date}{credit})")
        if source.url:
            lines.append(f"    {source.url}")
    lines.append(f"Confidence: {answer.status.replace('_', ' ')} (score {top.score:.2f})")
    if len(answer.hits) > 1:
        lines.append("")
        lines.append("More passages:")
        for i, hit in enumerate(answer.hits[1:], start=2):
            quote = textwrap.shorten(hit.quote, width=150, placeholder=" …")
            lines.append(f"  {i}. [{hit.passage.section}] {quote}")
    return "\n".join(lines)


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="How many passages.")
def ask(question: str | None, as_json: bool, k: int | None) -> None:
    """Answer QUESTION; with --json and no QUESTION, answer one question per stdin line."""
    if question is None and not as_json:
        raise click.UsageError('give a QUESTION, e.g. advisor ask "Who should set next year\'s sales quota?"')
    advisor = _load_advisor()
    if question is not None:
        answer = advisor.ask(question, k=k)
        click.echo(
            json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else format_answer(answer, advisor)
        )
        return
    # Bytes in, bytes out: a line that is not UTF-8 is read with replacement characters (never
    # a decode error that ends the batch, never a lone surrogate written back), and each answer
    # is one line of UTF-8 JSON whatever the locale.
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    for raw in sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin:
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        answer = advisor.ask(line.rstrip("\r\n"), k=k)
        data = json.dumps(answer.to_dict(), ensure_ascii=False) + "\n"
        if out is not None:
            out.write(data.encode("utf-8", errors="replace"))
            out.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()


# --- index -----------------------------------------------------------------------------


@main.group()
def index() -> None:
    """Build or inspect the search index."""


@index.command("build")
def index_build() -> None:
    """Rebuild the index now (with a progress bar)."""
    from ..search.store import rebuild_index
    from ..search.torch_embedder import load_embedder

    settings = _settings()
    knowledge = load_knowledge(settings.knowledge_dir)
    embedder = load_embedder(
        settings.model, expected_sha256=settings.model_sha256, threads=settings.model_threads
    )
    built = rebuild_index(knowledge, embedder, settings.index_dir, progress=sys.stderr.isatty())
    m = built.manifest
    click.echo(
        f"built {m.passage_count} passages ({m.sentence_count} sentences, {m.key_count} keys)"
        f" in {m.build_seconds:.1f}s at {settings.index_dir}"
    )
    click.echo(_onnx_summary(m))


def _onnx_summary(manifest) -> str:
    onnx = manifest.onnx or {}
    if manifest.onnx_file:
        diff = onnx.get("parity_max_abs_diff", float("nan"))
        return (
            f"ONNX export: {manifest.onnx_file} ({onnx.get('exporter')}; parity max abs diff"
            f" {diff:.1e} on {onnx.get('parity_sentences')} sentences)"
        )
    return f"no ONNX export ({onnx.get('unavailable', 'none recorded')}): serving uses torch"


@index.command("info")
def index_info() -> None:
    """Show the index manifest and whether it is fresh (loads neither the model nor FAISS)."""
    from ..search.store import IndexUnavailable, staleness, verify_index
    from ..search.torch_embedder import model_id

    settings = _settings()
    knowledge = load_knowledge(settings.knowledge_dir)
    try:
        manifest = verify_index(settings.index_dir)
    except IndexUnavailable as exc:
        raise click.ClickException(f"{exc}; run: advisor index build") from None
    current_model = model_id(settings.model, expected_sha256=settings.model_sha256, verify=False)
    reason = staleness(manifest, knowledge, current_model)
    data = asdict(manifest)
    data.pop("files")
    data["onnx"] = _onnx_summary(manifest)
    data["directory"] = str(settings.index_dir)
    data["state"] = f"stale: {reason}" if reason else "fresh"
    width = max(map(len, data))
    for key, value in data.items():
        click.echo(f"{key:<{width}}  {value}")


# --- eval ------------------------------------------------------------------------------


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    type=click.Choice(["bm25", "dense", "all"]),
    default=None,
    help="Score a paragraph baseline instead (all: the advisor and both baselines).",
)
@click.option("--misses", is_flag=True, help="List the questions that missed.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def eval_command(file: Path, baseline: str | None, misses: bool, as_json: bool) -> None:
    """Score retrieval on a YAML question set (hit@1, hit@3, MRR, answer and refusal rates)."""
    from ..search.evaluation import (
        advisor_ranker,
        bm25_baseline,
        dense_baseline,
        evaluate,
        format_confusion,
        format_report,
        load_eval_set,
    )

    advisor = _load_advisor()
    eval_set = load_eval_set(file, advisor.knowledge)
    rankers = {
        "advisor": lambda: advisor_ranker(advisor),
        "bm25": lambda: bm25_baseline(advisor.knowledge),
        "dense": lambda: dense_baseline(advisor.knowledge, advisor),
    }
    names = ["advisor", "bm25", "dense"] if baseline == "all" else [baseline or "advisor"]
    # The whole set, then each language apart when it mixes languages (bot/search/language.py).
    parts = eval_set.by_language()
    reports = [
        evaluate(name, ranker, part)
        for name in names
        for ranker in [rankers[name]()]
        for part in ([eval_set] if len(parts) == 1 else [eval_set, *parts.values()])
    ]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    for report in reports:
        click.echo(format_report(report))
        if report.stance_confusion:
            click.echo(format_confusion(report))
        if misses:
            for miss in report.misses:
                click.echo(f"    miss: {json.dumps(miss, ensure_ascii=False)}")


# --- Slack and storage ---------------------------------------------------------------------


@main.command()
@click.option("--socket", "mode", flag_value="socket", help="Socket Mode (needs SLACK_APP_TOKEN).")
@click.option("--http", "mode", flag_value="http", help="Serve Slack's requests over HTTP.")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True)
@click.option(
    "--http-worker",
    type=click.Choice(["asgi", "gthread"]),
    default="asgi",
    show_default=True,
    help="gunicorn worker class (asgi buffers requests on an event loop; gthread is for comparison).",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Socket Mode: GET /health (the socket's state) on this port. HTTP: GET /healthz on this port "
    "too, for a platform's checks, out of the main port's queue (0: any free port).",
)
def serve(mode: str | None, host: str, port: int, http_worker: str, health_port: int | None) -> None:
    """Run the Slack bot (Socket Mode or HTTP at /slack/events)."""
    if mode is None:
        raise click.UsageError("choose --socket or --http")
    from ..serve import serve as run

    run(
        _settings(),
        socket=mode == "socket",
        host=host,
        port=port,
        http_worker=http_worker,
        health_port=health_port,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema (DATABASE_URL, default SQLite in the data dir)."""
    from ..storage import open_store

    open_store(_settings().database_url).close()
    click.echo("database schema is up to date")


main.add_command(tips)
main.add_command(knowledge_command)
main.add_command(report_command)
main.add_command(experts)
main.add_command(answers)
