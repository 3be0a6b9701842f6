"""Which backend embeds questions: the index's verified ONNX export, or sentence-transformers.

With ``auto`` (the default) and ``onnx`` the index is loaded first and its freshness checked
without torch (knowledge hash; model id from the weights' digest). A fresh index with an
ONNX export is served by onnxruntime and torch is never imported. Otherwise (no index, stale,
corrupt, or a model that could not be exported) sentence-transformers is loaded, the index
rebuilt with a new export, and ``auto`` serves with torch for the life of the process;
``onnx`` switches to the fresh export, or stops with one line when there is none and cannot be.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from ..config import Settings
from ..knowledge import Knowledge
from .embedder import Embedder, ModelError
from .onnx_embedder import OnnxEmbedder, load_onnx_embedder
from .schema import SearchIndex
from .store import IndexUnavailable, ensure_index, load_index, rebuild_index, staleness
from .torch_embedder import load_embedder, model_id, resolve_model

logger = logging.getLogger(__name__)


def load_model_and_index(
    settings: Settings, knowledge: Knowledge, *, progress: bool = False
) -> tuple[Embedder, SearchIndex]:
    """The embedder the backend setting asks for and a fresh index built with that model."""
    if settings.backend != "torch":
        served, why = _serve_onnx(settings, knowledge)
        if served is not None:
            return served
        if settings.backend == "onnx" and importlib.util.find_spec("sentence_transformers") is None:
            raise ModelError(
                f"ADVISOR_BACKEND=onnx: {why}, and sentence-transformers is not installed to rebuild it"
            )
        logger.warning("not serving with ONNX: %s; loading sentence-transformers (torch)", why)
    embedder = load_embedder(
        settings.model, expected_sha256=settings.model_sha256, threads=settings.model_threads
    )
    index = ensure_index(knowledge, embedder, settings.index_dir, progress=progress)
    if settings.backend != "onnx":
        return embedder, index
    if index.manifest.onnx_file is None:  # fresh, but built without an export: try to make one
        index = rebuild_index(knowledge, embedder, settings.index_dir, progress=progress)
    onnx_file = index.manifest.onnx_file
    if onnx_file is None or embedder.location is None:
        why = (index.manifest.onnx or {}).get("unavailable", "the index has no ONNX export")
        raise ModelError(f"ADVISOR_BACKEND=onnx: {why} (use ADVISOR_BACKEND=auto or torch)")
    onnx_path = settings.index_dir / onnx_file
    threads = settings.model_threads
    return load_onnx_embedder(embedder.model_id, embedder.location, onnx_path, threads=threads), index


def _serve_onnx(
    settings: Settings, knowledge: Knowledge
) -> tuple[tuple[OnnxEmbedder, SearchIndex] | None, str]:
    """(embedder, index) from a fresh index's export, or None and why not."""
    directory = Path(settings.index_dir)
    try:
        index = load_index(directory)
    except IndexUnavailable as exc:
        return None, str(exc)
    identity = model_id(settings.model, expected_sha256=settings.model_sha256)
    reason = staleness(index.manifest, knowledge, identity)
    if reason is not None and index.manifest.model_id != identity:
        return None, f"index at {directory} is stale ({reason})"
    onnx_file = index.manifest.onnx_file
    if onnx_file is None:
        why = (index.manifest.onnx or {}).get("unavailable", "no export recorded")
        return None, f"the index at {directory} has no ONNX export ({why})"
    location = resolve_model(settings.model)
    if not isinstance(location, Path):
        return None, f"model {settings.model} is not a local directory"
    try:
        onnx = load_onnx_embedder(identity, location, directory / onnx_file, threads=settings.model_threads)
    except ModelError as exc:
        return None, str(exc)
    onnx.export_path, onnx.export_record = directory / onnx_file, dict(index.manifest.onnx or {})
    if reason is not None:
        # Only the knowledge changed (a playbook added, changed or removed): the export is of the
        # model, so the index is rebuilt with it, without torch, embedding only what is new.
        logger.info("index at %s is stale (%s); rebuilding with its ONNX export", directory, reason)
        index = ensure_index(knowledge, onnx, directory)
        if index.manifest.onnx_file is None:
            return None, f"the rebuilt index at {directory} has no ONNX export"
        onnx.export_path = directory / index.manifest.onnx_file
    return (onnx, index), ""
