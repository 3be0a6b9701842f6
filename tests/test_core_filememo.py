"""A result computed from a file is kept while the file is unchanged, and only then."""

from __future__ import annotations

import os

import pytest

from bot import filememo
from bot.embedding import file_sha256
from bot.filememo import FileMemo


@pytest.fixture
def counting():
    calls = []

    def compute(path):
        calls.append(path)
        return path.read_bytes()

    return calls, compute


def test_an_unchanged_file_is_read_once_and_a_rewritten_one_again(tmp_path, counting, monkeypatch):
    monkeypatch.setattr(filememo, "RACY_SECONDS", 0.0)
    calls, compute = counting
    memo = FileMemo(compute, size=8)
    path = tmp_path / "a.bin"
    path.write_bytes(b"abcd")
    assert memo(path) == b"abcd" and memo(path) == b"abcd"
    assert len(calls) == 1
    path.write_bytes(b"abce")  # same size: the stamp's times tell the change
    assert memo(path) == b"abce"
    assert len(calls) == 2
    replacement = tmp_path / "b.bin"
    replacement.write_bytes(b"wxyz")
    os.replace(replacement, path)  # another inode at the same path
    assert memo(path) == b"wxyz"
    assert len(calls) == 3


def test_a_file_changed_within_the_racy_window_is_not_remembered(tmp_path, counting):
    calls, compute = counting
    memo = FileMemo(compute, size=8)
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"new")
    memo(path)
    memo(path)
    assert len(calls) == 2, "a file written just now could change again with the same stamp"


def test_the_memo_keeps_only_its_most_recently_used_files(tmp_path, counting, monkeypatch):
    monkeypatch.setattr(filememo, "RACY_SECONDS", 0.0)
    calls, compute = counting
    memo = FileMemo(compute, size=2)
    paths = [tmp_path / f"{i}.bin" for i in range(3)]
    for path in paths:
        path.write_bytes(path.name.encode())
    memo(paths[0]), memo(paths[1]), memo(paths[0]), memo(paths[2])  # 1 is the least recent
    assert len(calls) == 3
    memo(paths[0])
    assert len(calls) == 3
    memo(paths[1])
    assert len(calls) == 4


def test_a_file_corrupted_after_it_was_verified_fails_its_digest(tmp_path, monkeypatch):
    monkeypatch.setattr(filememo, "RACY_SECONDS", 0.0)
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)) * 64)
    before = file_sha256(path)
    assert file_sha256(path) == before
    with open(path, "r+b") as handle:  # one byte flipped in place: same size, same inode
        handle.seek(100)
        handle.write(b"\xff")
    assert file_sha256(path) != before
