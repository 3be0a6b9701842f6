"""The index on disk: written to a temporary directory, fsynced, digested into
``manifest.json`` (written last) and swapped in by rename; read back and verified.

What is written comes from bot.search.fitting, one value per row of
:data:`bot.search.schema.FILES`. The model's ONNX export (:data:`~bot.search.schema.ONNX_FILES`)
is written beside the files when the model can be exported; it is digested like the rest and
read by bot.search.backend, not here.

A manifest that does not match the knowledge or model marks the index stale; a file whose
digest does not match marks it corrupt. Either way :func:`ensure_index` rebuilds it.

A file's digest is checked when its stat stamp (bot.filememo.stamp: path, inode, size,
modification and change times) is not the one recorded in ``verified.json`` when it last
matched: a start does not read gigabytes of vectors again, and a changed file is hashed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AdvisorError
from ..filememo import stamp
from ..knowledge import Knowledge
from .digest import file_sha256
from .embedder import Embedder, ModelError
from .fitting import fit
from .schema import FILES, FORMAT_VERSION, MANIFEST, ONNX_FILES, VERIFIED, Manifest, SearchIndex
from .vectors import CachingEmbedder, cache_path

logger = logging.getLogger(__name__)

STALE_TMP_SECONDS = 3600  # a temporary build directory older than this was left by a dead build


class IndexUnavailable(AdvisorError):
    """No usable index on disk: missing, stale or corrupt (the message says which)."""


def _sha256(path: Path) -> str:
    return file_sha256(path)  # streamed: the ONNX weights are 90 MB, not worth holding at once


def _files_of(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name not in (MANIFEST, VERIFIED))


# --- build ------------------------------------------------------------------------------------


def build_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    """Build the index for ``knowledge`` and atomically replace ``directory`` with it.

    Texts the last build embedded with this model come from its vector cache
    (bot.search.vectors): adding a playbook embeds that playbook's texts only."""
    started = time.perf_counter()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(directory)
    cached = CachingEmbedder(embedder, cache_path(directory, embedder.model_id))
    fitted = fit(knowledge, cached, progress=progress)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for entry in FILES:
        entry.io[0](tmp / entry.name, fitted.values[entry.field])
    onnx = _export_onnx(embedder, tmp / ONNX_FILES[0][0])
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        knowledge_hash=knowledge.content_hash,
        passage_count=fitted.passage_count,
        sentence_count=fitted.sentence_count,
        key_count=fitted.key_count,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        files={str(p.relative_to(tmp)): _sha256(p) for p in _files_of(tmp)},
        onnx=onnx,
    )
    # The manifest is written last: a directory without one never loads.
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    for path in _files_of(tmp) + [tmp / MANIFEST]:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _swap_in(tmp, directory)
    cached.write()
    logger.info(
        "built index: %d passages in %.1fs at %s (%d texts embedded, the rest from the cache)",
        fitted.passage_count,
        manifest.build_seconds,
        directory,
        cached.embedded,
    )
    return load_index(directory)


def _export_onnx(embedder: Embedder, target: Path) -> dict:
    """The model's ONNX export written to ``target``, or why there is none (the index is still
    complete without it: serving then uses sentence-transformers)."""
    try:
        return embedder.export_onnx(target)
    except ModelError as exc:
        reason = str(exc)
    except Exception as exc:  # torch.onnx raises many kinds; the index does not need the export
        reason = f"the ONNX export of {embedder.model_id} failed: {type(exc).__name__}: {exc}"
    for path in target.parent.glob(target.name + "*"):
        path.unlink()
    logger.warning("%s; this index will be served with sentence-transformers (torch)", reason)
    return {"unavailable": reason}


def _swap_in(tmp: Path, directory: Path) -> None:
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    if directory.exists():
        os.rename(directory, old)
    os.rename(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def clean_stale_builds(directory: Path) -> None:
    """Remove temporary directories that a build killed midway left beside ``directory``."""
    parent = Path(directory).parent
    if not parent.is_dir():
        return
    now = time.time()
    for pattern in (f".{directory.name}.tmp-*", f".{directory.name}.old-*"):
        for path in parent.glob(pattern):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
                    logger.info("removed %s, left by an interrupted index build", path)


# --- load ------------------------------------------------------------------------------------


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IndexUnavailable(f"no index at {directory} (missing {MANIFEST})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexUnavailable(
                f"index at {directory} has format {data.get('format_version')}, expected {FORMAT_VERSION}"
            )
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise IndexUnavailable(f"corrupt index manifest {path}: {exc}") from None


def verify_index(directory: Path) -> Manifest:
    """The manifest, once every file is present and matches its digest (no FAISS, no bm25s:
    cheap enough for ``advisor index info``)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    return manifest


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there with its digest, and every FILES entry is named."""
    export = [name for name in (manifest.onnx_file, (manifest.onnx or {}).get("data")) if name]
    for name in export:
        if name not in manifest.files:
            raise IndexUnavailable(f"corrupt index: missing {directory / name}")
    for entry in FILES:
        if not any(name == entry.name or name.startswith(entry.name + "/") for name in manifest.files):
            raise IndexUnavailable(f"corrupt index: missing {directory / entry.name}")
    verified = _read_verified(directory)
    recorded = dict(verified)
    for name, digest in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise IndexUnavailable(f"corrupt index: missing {path}")
        now = stamp(path)  # None while the file is too fresh to trust a stamp
        entry = [list(now), digest] if now is not None else None
        if entry is not None and verified.get(name) == entry:
            continue
        if _sha256(path) != digest:
            raise IndexUnavailable(f"corrupt index: {path} does not match its manifest digest")
        if entry is not None:
            verified[name] = entry
    if verified != recorded:
        _write_verified(directory, verified)


def _read_verified(directory: Path) -> dict:
    try:
        data = json.loads((directory / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_verified(directory: Path, verified: dict) -> None:
    """Best effort: an index on a read-only disk is verified by its digests at every start."""
    tmp = directory / f".{VERIFIED}.{os.getpid()}"
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(verified), encoding="utf-8")
        os.replace(tmp, directory / VERIFIED)


def load_index(directory: Path) -> SearchIndex:
    """Load and verify an index; raise IndexUnavailable naming the bad path."""
    directory = Path(directory)
    manifest = verify_index(directory)
    values = {}
    for entry in FILES:
        try:
            values[entry.field] = entry.io[1](directory / entry.name)
        except Exception as exc:  # any unreadable file means the index cannot be trusted
            raise IndexUnavailable(
                f"corrupt index: {directory / entry.name}: {type(exc).__name__}: {exc}"
            ) from None
    index = SearchIndex(manifest=manifest, **values)
    if index.shape_problems():
        raise IndexUnavailable(f"corrupt index at {directory}: counts do not match the manifest")
    return index


def staleness(manifest: Manifest, knowledge: Knowledge, model_id: str) -> str | None:
    """Why an index no longer matches the knowledge or model, or None when it is fresh."""
    if manifest.knowledge_hash != knowledge.content_hash:
        return "the knowledge changed"
    if manifest.model_id != model_id:
        return f"the model changed ({manifest.model_id} -> {model_id})"
    return None


@contextlib.contextmanager
def _build_lock(directory: Path):
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    """Load the index, rebuilding it when missing, stale or corrupt (logged)."""
    directory = Path(directory)
    try:
        index = load_index(directory)
        reason = staleness(index.manifest, knowledge, embedder.model_id)
        if reason is None:
            return index
        logger.info("index at %s is stale (%s); rebuilding", directory, reason)
    except IndexUnavailable as exc:
        level = logging.INFO if "missing" in str(exc) and "corrupt" not in str(exc) else logging.WARNING
        logger.log(level, "%s; rebuilding", exc)
    with _build_lock(directory):
        # Another process may have rebuilt it while this one waited for the lock.
        try:
            index = load_index(directory)
            if staleness(index.manifest, knowledge, embedder.model_id) is None:
                return index
        except IndexUnavailable:
            pass
        return build_index(knowledge, embedder, directory, progress=progress)


def rebuild_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    with _build_lock(Path(directory)):
        return build_index(knowledge, embedder, directory, progress=progress)
