"""The CLI's one edge for errors: every command's expected errors become one line and an exit code."""

from __future__ import annotations

import logging

import click

from ..errors import explain

logger = logging.getLogger("bot")


class ExplainedError(click.ClickException):
    """A one-line ``Error: ...`` with the exit code ``bot.errors.explain`` chose."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class AdvisorGroup(click.Group):
    """Runs a command; an expected error (``bot.errors``) is printed as one line, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            explained = explain(exc)
            if explained is None:
                raise
            logger.debug("expected error", exc_info=True)
            raise ExplainedError(*explained) from None
