"""The Slack layer: Bolt app, listeners, Block Kit builders. Imports the core, never the reverse."""
