"""The inbox never follows a symbolic link: never reads, moves or deletes anything outside itself."""

from __future__ import annotations

import pytest

from application.run import scan_settled
from errors import UnusableInput
from intake.inbox import Inbox
from privacy.sealed import Sealer

KEY = b"\x06" * 32
FEED = "victim-assistance"


@pytest.fixture
def inbox(tmp_path) -> Inbox:
    return Inbox(tmp_path / "inbox", Sealer(KEY))


@pytest.fixture
def outside(tmp_path, sample_dir):
    """A folder outside the inbox holding an extract."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "extract.csv").write_bytes((sample_dir / f"{FEED}__ngo-harbour.csv").read_bytes())
    return folder


def _refused(inbox: Inbox) -> list[dict]:
    return [r for r in inbox.ledger() if r["status"] == "rejected" and "symbolic link" in (r["message"] or "")]


def _untouched(outside, sample_dir):
    assert (outside / "extract.csv").read_bytes() == (sample_dir / f"{FEED}__ngo-harbour.csv").read_bytes()


def test_a_linked_provider_folder_is_refused_and_its_target_kept(inbox, outside, sample_dir):
    period = outside / "all"
    period.mkdir()
    (outside / "extract.csv").rename(period / "extract.csv")
    (inbox.root / FEED).mkdir(parents=True)
    (inbox.root / FEED / "ngo-harbour").symlink_to(outside, target_is_directory=True)
    assert scan_settled(inbox) == [] and inbox.scan() == []
    assert (period / "extract.csv").exists()  # the original outside the inbox is never deleted
    (row,) = _refused(inbox)
    assert row["provider"] == "ngo-harbour" and "never follows" in row["message"]
    assert not (inbox.root / FEED / "ngo-harbour").exists()  # the link moved to rejected/, the target stays
    assert [r for r in inbox.ledger() if r["status"] != "rejected"] == []


def test_a_linked_file_is_never_read(inbox, outside, sample_dir):
    folder = inbox.root / FEED / "ngo-harbour" / "all"
    folder.mkdir(parents=True)
    (folder / "extract.csv").symlink_to(outside / "extract.csv")
    assert inbox.scan() == []
    _untouched(outside, sample_dir)
    (row,) = _refused(inbox)
    assert row["period"] == "all" and not list(inbox.root.rglob("*.sealed"))
    assert "file in victim-assistance/ngo-harbour/all" in row["message"] and "extract" not in row["message"]
    assert not list(folder.iterdir())


@pytest.mark.parametrize("level", ["feed", "period"])
def test_linked_feed_and_period_folders_are_refused(inbox, outside, sample_dir, level):
    if level == "feed":
        (outside / "ngo-harbour" / "all").mkdir(parents=True)
        (inbox.root / FEED).symlink_to(outside, target_is_directory=True)
    else:
        (inbox.root / FEED / "ngo-harbour").mkdir(parents=True)
        (inbox.root / FEED / "ngo-harbour" / "all").symlink_to(outside, target_is_directory=True)
    assert inbox.scan() == [] and len(_refused(inbox)) == 1
    _untouched(outside, sample_dir)


def test_placing_a_file_never_writes_through_a_link(inbox, outside, sample_dir):
    (inbox.root / FEED).mkdir(parents=True)
    (inbox.root / FEED / "ngo-harbour").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnusableInput, match="symbolic link"):
        inbox.place(sample_dir / f"{FEED}__ngo-harbour.csv", FEED, "ngo-harbour")
    assert sorted(p.name for p in outside.iterdir()) == ["extract.csv"]
