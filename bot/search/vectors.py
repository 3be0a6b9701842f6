"""The vectors an index build got from the model, kept by text: a later build embeds only the
texts it has not seen (a playbook added, changed or removed costs its own passages, not the
article's).

The cache lives beside the index (``<index>-vectors/``), one file per model, and holds exactly
the texts of the last build: each text's vector, and for a sentence its word pieces. It is only
a cache: a file that does not read back is ignored (and the texts embedded again), never
trusted over the model.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from .embedder import Embedder, Tokens

logger = logging.getLogger(__name__)


def _key(text: str) -> str:
    return hashlib.sha256(str(text).strip().encode("utf-8")).hexdigest()[:32]


def cache_path(index_dir: Path, model_id: str) -> Path:
    model = hashlib.sha256(model_id.encode()).hexdigest()[:16]
    return Path(index_dir).parent / f"{Path(index_dir).name}-vectors" / f"{model}.npz"


class CachingEmbedder:
    """An :class:`~bot.search.embedder.Embedder` that answers from the cache where it can and
    asks ``inner`` for the rest; ``embedded`` counts the texts ``inner`` was given."""

    def __init__(self, inner: Embedder, path: Path | None = None):
        self.inner = inner
        self.model_id = inner.model_id
        self.backend = inner.backend
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.tokens: dict[str, Tokens] = {}
        self.used: set[str] = set()
        self.embedded = 0
        self.fits: dict[str, np.ndarray] = {}  # values fitted on cached vectors, by their digest
        self.fits_used: set[str] = set()
        if path is not None:
            self._read(path)

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __getattr__(self, name):  # location, known_words, export_onnx, ...: the model's own
        return getattr(self.inner, name)

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        keys = [_key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.vectors))
        if missing:
            self.embedded += len(missing)
            fresh = self.inner.encode(missing, progress=progress)
            self.vectors.update(zip((_key(t) for t in missing), fresh, strict=True))
        self.used.update(keys)
        out = [self.vectors[k] for k in keys]
        return np.ascontiguousarray(np.stack(out) if out else np.zeros((0, self.dimension)), dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def derived(self, key: str, compute) -> np.ndarray:
        """A value fitted on vectors (named by their digest): kept, or computed and kept."""
        if key not in self.fits:
            self.fits[key] = np.asarray(compute())
        self.fits_used.add(key)
        return self.fits[key]

    def encode_tokens(self, texts: list[str], *, batch_size: int = 32) -> tuple[np.ndarray, list[Tokens]]:
        keys = [_key(t) for t in texts]
        missing = list(
            dict.fromkeys(
                t for t, k in zip(texts, keys, strict=True) if k not in self.tokens or k not in self.vectors
            )
        )
        if missing:
            self.embedded += len(missing)
            fresh, pieces = self.inner.encode_tokens(missing)
            for text, vector, token in zip(missing, fresh, pieces, strict=True):
                self.vectors[_key(text)] = vector
                self.tokens[_key(text)] = token
        self.used.update(keys)
        vectors = [self.vectors[k] for k in keys]
        stacked = np.stack(vectors) if vectors else np.zeros((0, self.dimension))
        return np.ascontiguousarray(stacked, dtype=np.float32), [self.tokens[k] for k in keys]

    # --- on disk ---------------------------------------------------------------------------
    def _read(self, path: Path) -> None:
        if not path.is_file():
            return
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
                if vectors.ndim != 2 or vectors.shape[1] != self.dimension or len(keys) != len(vectors):
                    raise ValueError("shapes do not match the model")
                token_keys, starts = data["token_keys"], data["token_starts"]
                ids, pieces = data["token_ids"], data["token_vectors"]
                fits = {k.removeprefix("fit_"): data[k] for k in data.files if k.startswith("fit_")}
                vectors_of = dict(zip(keys.tolist(), vectors, strict=True))
                tokens_of = {
                    k: Tokens(pieces[a:b], ids[a:b])
                    for k, a, b in zip(token_keys.tolist(), starts[:-1], starts[1:], strict=True)
                }
        except Exception as exc:  # a cache that does not read back is embedded again
            logger.warning("ignoring the vector cache %s: %s: %s", path, type(exc).__name__, exc)
            return
        self.vectors.update(vectors_of)
        self.tokens.update(tokens_of)
        self.fits.update(fits)

    def write(self, path: Path | None = None) -> None:
        """Keep the vectors this build used (only those: the cache never outgrows the index)."""
        path = path or self.path
        if path is None:
            return
        keys = sorted(k for k in self.used if k in self.vectors)
        token_keys = sorted(k for k in self.used if k in self.tokens)
        lengths = [len(self.tokens[k].ids) for k in token_keys]
        d = self.dimension
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys, dtype="U32"),
            vectors=np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, d), np.float32),
            token_keys=np.array(token_keys, dtype="U32"),
            token_starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            token_ids=np.concatenate([self.tokens[k].ids for k in token_keys] + [np.zeros(0, np.int64)]),
            token_vectors=np.concatenate(
                [self.tokens[k].vectors for k in token_keys] + [np.zeros((0, d), np.float32)]
            ),
            **{f"fit_{k}": self.fits[k] for k in sorted(self.fits_used)},
        )
        os.replace(tmp, path)
