"""The vector cache beside the index: a rebuild asks the model only for texts it has not seen,
and a cache that does not read back is embedded again, never trusted."""

from __future__ import annotations

import numpy as np

from bot.search.embedder import Tokens
from bot.search.vectors import CachingEmbedder, cache_path


class CountingModel:
    """A stand-in model: a text's vector from its length, counting the texts it is given."""

    model_id = "counting@1"
    backend = "test"
    dimension = 4

    def __init__(self):
        self.given: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        return np.array([len(text), 1, 0, 0], dtype=np.float32) / np.float32(np.hypot(len(text), 1))

    def encode(self, texts, *, progress=False):
        self.given += texts
        return np.stack([self._vector(t) for t in texts])

    def encode_tokens(self, texts):
        self.given += texts
        tokens = [Tokens(np.ones((len(t.split()), 4), np.float32), np.arange(len(t.split()))) for t in texts]
        return np.stack([self._vector(t) for t in texts]), tokens


def test_a_second_build_embeds_only_new_texts(tmp_path):
    path = cache_path(tmp_path / "index", CountingModel.model_id)
    model = CountingModel()
    first = CachingEmbedder(model, path)
    vectors, tokens = first.encode_tokens(["the article says one thing", "and another"])
    first.encode(["a key", "a key"])
    assert first.derived("fit_a", lambda: np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    first.write()
    assert model.given == ["the article says one thing", "and another", "a key"]

    model.given.clear()
    second = CachingEmbedder(model, path)
    again, again_tokens = second.encode_tokens(["the article says one thing", "a playbook row"])
    assert model.given == ["a playbook row"] and second.embedded == 1
    assert np.array_equal(again[0], vectors[0])
    assert np.array_equal(again_tokens[0].ids, tokens[0].ids)
    assert second.derived("fit_a", lambda: 1 / 0).tolist() == [0.0, 1.0, 2.0]  # kept, not refitted
    second.write()
    # The cache holds what the last build used, and no more.
    third = CachingEmbedder(CountingModel(), path)
    assert "fit_a" in third.fits and len(third.vectors) == 2


def test_a_cache_that_does_not_read_back_is_embedded_again(tmp_path):
    path = cache_path(tmp_path / "index", CountingModel.model_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    model = CountingModel()
    cached = CachingEmbedder(model, path)
    cached.encode(["a text"])
    assert model.given == ["a text"]
