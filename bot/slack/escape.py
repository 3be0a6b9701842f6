"""Escaping for text that reaches Slack, so user or article text can never ping or link."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape Slack's control characters: ``<!channel>`` becomes inert ``&lt;!channel&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
