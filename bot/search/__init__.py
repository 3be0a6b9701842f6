"""The search core: embedders, the index on disk, ranking signals, quote, verdict and the
reply boundary, composed by :class:`bot.search.advisor.Advisor` (docs/architecture.md)."""
