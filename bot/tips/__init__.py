"""Daily tips: a quoted piece of the article posted to subscribed channels once a local day.

Kept import-light: ``bot.tips.commands`` is loaded by the CLI at start-up.
"""
