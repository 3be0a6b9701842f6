"""Daily tips, the domain: a quoted piece of the article posted to subscribed channels once a
local day. ``catalog`` (the tips file), ``order`` (each channel's shuffled walk), ``schedule``
(when a tip is due; the one subscription validator; times and zones as people type them),
``subscriptions`` (turning tips on: the start rule), ``scheduler`` (exactly-once posting
through a ``poster.Poster`` it is handed), ``records`` (what the store keeps).

Nothing here imports Slack or the store: ``bot.serve`` and the CLI hand them in.
"""
