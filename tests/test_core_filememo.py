"""A result computed from a file is kept while the file is unchanged, and only then."""

from __future__ import annotations

import os
import time

import pytest

from bot import filememo
from bot.filememo import FileMemo
from bot.search.digest import file_sha256


def rewrite(path, data: bytes) -> None:
    """Write ``data`` and stamp the file a second later than it was: a later write, on any
    clock (an older kernel's coarse one could give two quick writes the same stamp, which the
    memo's two-second rule is there for; the tests turn that rule off)."""
    before = os.stat(path).st_mtime_ns
    path.write_bytes(data)
    later = max(before + 1_000_000_000, time.time_ns())
    os.utime(path, ns=(later, later))


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
    rewrite(path, b"abce")  # same size: the stamp's times tell the change
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
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    rewrite(path, bytes(data))  # one byte flipped: same size, same inode
    assert file_sha256(path) != before
