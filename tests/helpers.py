"""The tests' one way to scrub the environment and to run the CLI in-process."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main

DATA = Path(__file__).resolve().parent / "data"
# The article's question sets for the backend comparisons (tests/test_core_onnx.py,
# scripts/measure_int8.py): the newest sets are scored once, at the end of their round, and
# the playbook set needs the playbook beside the article. One list; add each new set here.
NOT_COMPARED = (
    "blind_final_7.yaml",
    "blind_final_8.yaml",
    "blind_final_9.yaml",
    "blind_final_10.yaml",
    "blind_final_11.yaml",
    "blind_final_12.yaml",
    "playbook_questions.yaml",
)


def compared_sets() -> list[Path]:
    return sorted(p for p in DATA.glob("*.yaml") if p.name not in NOT_COMPARED)


PREFIXES = ("SLACK_", "ADVISOR_", "DATABASE_URL")
PLATFORM = ("PORT", "DYNO")


def ours(key: str) -> bool:
    """A variable the bot reads: its settings, and the hosting-platform hints."""
    return key.startswith(PREFIXES) or key in PLATFORM


# Under pytest-xdist the workers share the cores: a model started by a test runs on one thread,
# or every process's threads contend for both cores (a tenth of the run's time, measured).
# The bots and CLI runs the tests start answer English only unless a test turns the multilingual
# model on (ADVISOR_MULTILINGUAL=on, tests/test_core_multilingual.py): loading it and embedding
# the knowledge for it in each fresh data directory costs seconds the other tests do not need.
WORKER_SETTINGS = {"ADVISOR_MULTILINGUAL": "off"}
if os.environ.get("PYTEST_XDIST_WORKER"):
    WORKER_SETTINGS["ADVISOR_MODEL_THREADS"] = "1"


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any of the bot's settings, plus ``settings``
    (for a subprocess), and WORKER_SETTINGS unless ``settings`` say otherwise."""
    env = {k: v for k, v in os.environ.items() if not ours(k)}
    env.update(WORKER_SETTINGS)
    env.update(settings)
    return env


def invoke(*args: str, env: dict[str, str], stdin: str | None = None) -> Result:
    """``advisor ARGS`` in this process with exactly the bot settings found in ``env`` (and, under
    pytest-xdist, WORKER_SETTINGS where ``env`` does not set them)."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if ours(k)}
    overrides.update(WORKER_SETTINGS)
    overrides.update({k: v for k, v in env.items() if ours(k)})
    return CliRunner().invoke(main, list(args), env=overrides, input=stdin, prog_name="advisor")


def render_cards_script():
    """``scripts/render_cards.py`` as a module (its Chromium measurement, its card checks)."""
    import importlib.util
    import sys
    from pathlib import Path

    scripts = Path(__file__).resolve().parent.parent / "scripts"
    if str(scripts) not in sys.path:
        sys.path.insert(0, str(scripts))  # it imports its neighbour render_report
    spec = importlib.util.spec_from_file_location("render_cards", scripts / "render_cards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
