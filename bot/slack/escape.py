"""Escaping for text that reaches Slack, so user or article text can never ping or link."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape Slack's control characters: ``<!channel>`` becomes inert ``&lt;!channel&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's own escaping of message text (``&lt;`` → ``<``) before escaping it again."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
