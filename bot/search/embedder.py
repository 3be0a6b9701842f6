"""What every embedder is (:class:`Embedder`), and what both backends share.

The two backends (:mod:`bot.search.torch_embedder`, :mod:`bot.search.onnx_embedder`) import
this module and never each other's class, so neither knows the other's type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import AdvisorError


class ModelError(AdvisorError):
    """The model cannot be found, or its weights are not the expected ones."""


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), float32."""
    norms = np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def default_threads() -> int:
    """Threads for the model when the setting leaves it open: two, or one on a one-core machine."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class Tokens:
    """One text's word-piece vectors out of the model (before pooling), special tokens left
    out, each scaled to unit length, with the word pieces' vocabulary ids."""

    vectors: np.ndarray  # (pieces x dimension) float32
    ids: np.ndarray  # (pieces,) int64

    @classmethod
    def inner(cls, hidden: np.ndarray, ids: np.ndarray) -> Tokens:
        """From a text's attended positions: the first and the last ([CLS] and [SEP], which
        the model adds to every text, truncated or not) left out, the same on both backends."""
        return cls(normalised(hidden[1:-1]), np.asarray(ids[1:-1], dtype=np.int64))


class Embedder(Protocol):
    """A sentence model: L2-normalised float32 vectors and word pieces of texts."""

    model_id: str  # the model's name and its weights' digest: an index built with others is stale
    backend: str  # "torch" or "onnx"

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray: ...

    def encode_one(self, text: str) -> np.ndarray: ...

    def encode_tokens(self, texts: list[str], *, batch_size: int = 32) -> tuple[np.ndarray, list[Tokens]]:
        """Sentence vectors (as :meth:`encode`) and each text's word-piece vectors, in one pass."""
        ...

    def known_words(self) -> set[str]:
        """Whole words in the model's word-piece vocabulary (words it reads as they are)."""
        ...

    def export_onnx(self, target: Path) -> dict:
        """Write the model's ONNX export to ``target`` and return what the index manifest
        records of it ({"unavailable": why} when this backend makes none); raises ModelError
        when an export was tried and failed."""
        ...
