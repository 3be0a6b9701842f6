"""Knowledge at company scale (issue 29): generated playbooks beside the article, in one run.

    .venv/bin/python scripts/bench_scale.py --generate-only --passages N --out DIR
    .venv/bin/python scripts/bench_scale.py [--sizes 1000,10000] [--with-100k] [--json]
        [--keep-knowledge DIR --keep-data DIR] [--quality]
    .venv/bin/python scripts/bench_scale.py --quality-only --knowledge DIR --data DIR

``--generate-only`` writes a copy of knowledge/ (the article, its scope, glossary and
translations) with N passages of generated uncurated Markdown playbooks beside it
(scripts/scale_playbooks.py: seeded, so the same N gives the same files).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import scale_playbooks  # scripts/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


def knowledge_copy(passages: int, out: Path, seed: int = 29) -> list[Path]:
    """knowledge/ copied to ``out`` with ``passages`` generated passages beside the article;
    the generated files."""
    out.mkdir(parents=True, exist_ok=True)
    for path in KNOWLEDGE.iterdir():
        if path.is_file():
            shutil.copy(path, out / path.name)
    return scale_playbooks.generate(passages, out, seed=seed) if passages else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate-only", action="store_true", help="write the knowledge copy and stop")
    parser.add_argument("--passages", type=int, default=1000, help="with --generate-only")
    parser.add_argument("--out", type=Path, help="with --generate-only: the knowledge directory to write")
    parser.add_argument("--seed", type=int, default=29)
    args = parser.parse_args()
    if args.generate_only:
        if args.out is None:
            parser.error("--generate-only needs --out DIR")
        files = knowledge_copy(args.passages, args.out, seed=args.seed)
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
        print(f"{args.out}: {len(files)} playbooks, {args.passages} passages, {words} words", file=sys.stderr)
        return


if __name__ == "__main__":
    main()
