"""The inbox seals submissions streamed: place, open, read, duplicates, scans and files of the old format."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from errors import KeyringError, UnusableInput
from intake.inbox import Inbox, submission_id
from privacy.sealed import SEGMENT_SIZE, Sealer
from tests.conftest import sample_files
from tests.privacy.test_sealed import peak_rss_growth, seal_v1

KEY = b"\x05" * 32


@pytest.fixture
def inbox(tmp_path) -> Inbox:
    return Inbox(tmp_path / "inbox", Sealer(KEY))


@pytest.fixture(scope="module")
def extract(sample_dir):
    path, feed, provider = next(sample_files(sample_dir))
    return path, feed, provider


def test_place_then_read_and_open_give_the_file_back(inbox, extract):
    path, feed, provider = extract
    content = path.read_bytes()
    sub, new = inbox.place(path, feed, provider, "2024")
    assert new and sub.status == "received"
    assert sub.content_sha256 == hashlib.sha256(content).hexdigest()
    assert sub.submission_id == submission_id(feed, provider, "2024", sub.content_sha256)
    assert sub.path.parent == inbox.root / feed / provider / "2024" and sub.path.name.endswith(".sealed")
    assert content[:200] not in sub.path.read_bytes()
    assert inbox.read(sub) == content
    rng = random.Random(3)
    with inbox.open(sub) as source:
        assert source.seekable()
        for _ in range(50):
            start, size = rng.randrange(len(content)), rng.randrange(1, 5000)
            source.seek(start)
            assert source.read(size) == content[start : start + size]
    assert sorted(p.name for p in sub.path.parent.iterdir()) == [sub.path.name]


def test_the_same_content_is_one_submission_however_it_arrives(inbox, extract):
    path, feed, provider = extract
    first, new = inbox.place(path, feed, provider)
    assert new
    again, new_again = inbox.place(path, feed, provider)
    uploaded, new_upload = inbox.place_bytes(path.read_bytes(), feed, provider)
    assert (new_again, new_upload) == (False, False)
    assert again.submission_id == uploaded.submission_id == first.submission_id
    other_period, new_period = inbox.place(path, feed, provider, "2025")
    assert new_period and other_period.submission_id != first.submission_id
    assert len(inbox.ledger()) == 2


def test_an_upload_and_a_scanned_file_are_sealed_and_open(inbox, extract):
    path, feed, provider = extract
    content = path.read_bytes()
    sub, _ = inbox.place_bytes(content[: len(content) // 2], feed, provider, "2023")
    assert inbox.read(sub) == content[: len(content) // 2]
    dropped = inbox.root / feed / provider / "2024" / "extract.csv"
    dropped.parent.mkdir(parents=True)
    dropped.write_bytes(content)
    (scanned,) = inbox.scan()
    assert not dropped.exists() and inbox.read(scanned) == content


def test_a_file_that_changes_while_it_is_placed_leaves_nothing(inbox):
    versions = iter([b"a,b\n1,2\n", b"a,b\n1,3\n"])
    with pytest.raises(UnusableInput, match="changed while it was being placed"):
        inbox._land(lambda: io.BytesIO(next(versions)), "victim-assistance", "ngo-harbour", "all")
    assert inbox.ledger() == [] and not any(p.is_file() for p in (inbox.root / "victim-assistance").rglob("*"))


def test_a_submission_sealed_in_the_single_blob_format_still_opens(inbox, extract):
    path, feed, provider = extract
    content = path.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    target = inbox.root / feed / provider / "all" / f"{sha[:16]}.sealed"
    target.parent.mkdir(parents=True)
    target.write_bytes(seal_v1(content, KEY, submission_id(feed, provider, "all", sha).encode()))
    sub = inbox.register(target, feed, provider, "all", sha)
    assert inbox.read(sub) == content
    with inbox.open(sub) as source:
        source.seek(-100, io.SEEK_END)
        assert source.read() == content[-100:]
    assert inbox.place(path, feed, provider) == (sub, False)


def test_a_sealed_submission_does_not_open_elsewhere_or_tampered(inbox, extract):
    path, feed, provider = extract
    first, _ = inbox.place(path, feed, provider, "2023")
    second, _ = inbox.place(path, feed, provider, "2024")
    first.path.replace(second.path)  # one submission's file in another's place
    with pytest.raises(KeyringError, match="wrong key or tampered"):
        inbox.read(second)
    with pytest.raises(KeyringError, match="wrong key or tampered"):
        Inbox(inbox.root, Sealer(b"\x06" * 32)).read(inbox.place(path, feed, provider, "2025")[0])
    with pytest.raises(RuntimeError, match="without a cipher"):
        Inbox(inbox.root).open(first)


PLACE_200MB = """
import os
from pathlib import Path
from privacy.sealed import Sealer
from intake.inbox import Inbox

def work(folder):
    block, source = os.urandom(1 << 20), Path(folder) / "extract.csv"
    with source.open("wb") as f:
        for i in range(200):
            f.write(i.to_bytes(4, "big") + block[4:])
    inbox = Inbox(Path(folder) / "inbox", Sealer(b"\\x05" * 32))
    sub, new = inbox.place(source, "victim-assistance", "ngo-harbour")
    assert new
    with inbox.open(sub) as sealed:
        for i in range(200):
            assert sealed.read(1 << 20)[:4] == i.to_bytes(4, "big")
"""


def test_placing_and_opening_a_200_mb_file_holds_a_few_segments_in_memory(tmp_path):
    growth = peak_rss_growth(PLACE_200MB, str(tmp_path))
    (sealed,) = (tmp_path / "inbox").rglob("*.sealed")
    assert sealed.stat().st_size > 200 * SEGMENT_SIZE
    assert growth < 40 << 20, f"peak RSS grew by {growth >> 20} MiB placing a 200 MiB file"


def test_place_refuses_what_is_not_a_file_of_a_known_kind(inbox, tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    for name in ("missing.csv", "notes.pdf"):
        with pytest.raises(UnusableInput):
            inbox.place(tmp_path / name, "victim-assistance", "ngo-harbour")
    assert inbox.ledger() == []
