"""The SQLite store: owner scoping, transactions, states over time, and opening files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from errorbook._demo._situations import Refused
from errorbook._demo._store import Store, StoreError

from ._service import FakeClock

A, B = "owner-a", "owner-b"


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="store")
def _store(clock: FakeClock) -> Iterator[Store]:
    store = Store(":memory:", clock=clock)
    yield store
    store.close()


def refused(situation: str) -> pytest.RaisesExc[Refused]:
    return pytest.raises(Refused, match=f"^{situation}$")


def rows(store: Store, table: str) -> int:
    count: int = store._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


class TestOwners:
    def test_another_owners_transfer_is_not_found(self, store: Store) -> None:
        """A transfer read, written or finalised by another owner is `not_found`."""
        transfer = store.create_transfer(A, "t", [("a", 3)], 60)
        file = transfer.files[0].id
        with refused("not_found"):
            store.get_transfer(B, transfer.id)
        with refused("not_found"):
            store.put_part(B, transfer.id, file, 1, b"abc")
        with refused("not_found"):
            store.complete_file(B, transfer.id, file)
        with refused("not_found"):
            store.finalize(B, transfer.id, 1)
        assert rows(store, "parts") == 0
        assert store.get_transfer(A, transfer.id).state == "uploading"

    def test_a_file_of_another_transfer_is_not_found(self, store: Store) -> None:
        """A file id is only reachable under its own transfer."""
        first = store.create_transfer(A, "one", [("a", 1)], 60)
        second = store.create_transfer(A, "two", [("b", 1)], 60)
        with refused("not_found"):
            store.put_part(A, second.id, first.files[0].id, 1, b"x")

    def test_tracker_names_are_unique_per_owner(self, store: Store) -> None:
        """The same name is taken for one owner and free for another."""
        tracker = store.create_tracker(A, "Pricing")
        with pytest.raises(Refused) as caught:
            store.create_tracker(A, "Pricing")
        assert caught.value.situation == "name_taken"
        assert caught.value.facts == {"name": "Pricing"}
        other = store.create_tracker(B, "Pricing")
        assert other.id != tracker.id
        assert store.get_tracker(A, tracker.id).name == "Pricing"
        with pytest.raises(Refused) as hidden:
            store.get_tracker(B, tracker.id)
        assert hidden.value.situation == "tracker_not_found"
        assert hidden.value.facts == {"tracker_id": tracker.id}

    def test_another_owners_job_is_not_found(self, store: Store) -> None:
        """Jobs are scoped like everything else."""
        job = store.create_job(A, 2)
        with refused("not_found"):
            store.get_job(B, job.id)

    def test_values_are_bound_not_formatted(self, store: Store) -> None:
        """SQL in a value is stored as text and matches nothing but itself."""
        name = "x'); DROP TABLE trackers; --"
        tracker = store.create_tracker(A, name)
        assert store.get_tracker(A, tracker.id).name == name
        with refused("tracker_not_found"):
            store.get_tracker(A, "' OR '1'='1")
        assert rows(store, "trackers") == 1


class TestTransactions:
    def test_a_failed_create_leaves_nothing(self, store: Store) -> None:
        """A transfer whose second file cannot be written is not created at all."""
        with pytest.raises(sqlite3.IntegrityError):
            store.create_transfer(A, "t", [("a", 1), (None, 1)], 60)  # type: ignore[list-item]
        assert rows(store, "transfers") == 0
        assert rows(store, "files") == 0

    def test_a_refused_write_changes_nothing(self, store: Store) -> None:
        """A part for a complete file is refused and not stored."""
        transfer = store.create_transfer(A, "t", [("a", 2)], 60)
        file = transfer.files[0].id
        store.put_part(A, transfer.id, file, 1, b"ab")
        store.complete_file(A, transfer.id, file)
        with pytest.raises(Refused) as caught:
            store.put_part(A, transfer.id, file, 2, b"cd")
        assert caught.value.situation == "state_conflict"
        assert rows(store, "parts") == 1
        # The connection is usable afterwards: the transaction was closed.
        assert store.get_transfer(A, transfer.id).files[0].received == 2


class TestTransfers:
    def test_parts_add_up_and_replace(self, store: Store) -> None:
        """`received` sums the parts; sending a part number again replaces that part."""
        transfer = store.create_transfer(A, "t", [("a", 5)], 60)
        file = transfer.files[0].id
        assert store.put_part(A, transfer.id, file, 1, b"abc") == 3
        assert store.put_part(A, transfer.id, file, 2, b"de") == 5
        assert store.put_part(A, transfer.id, file, 1, b"a") == 3

    def test_completing_checks_the_size(self, store: Store) -> None:
        """A mismatch names the bytes received and the size declared."""
        transfer = store.create_transfer(A, "t", [("a", 5)], 60)
        file = transfer.files[0].id
        store.put_part(A, transfer.id, file, 1, b"abc")
        with pytest.raises(Refused) as caught:
            store.complete_file(A, transfer.id, file)
        assert caught.value.situation == "size_mismatch"
        assert caught.value.facts == {"received": 3, "declared": 5}
        store.put_part(A, transfer.id, file, 2, b"de")
        done = store.complete_file(A, transfer.id, file)
        assert done.complete
        assert done.received == 5

    def test_finalising_locks_then_reads_ready(self, store: Store, clock: FakeClock) -> None:
        """Finalising locks writes with the seconds left; afterwards the transfer is ready."""
        transfer = store.create_transfer(A, "t", [("a", 0)], 60)
        file = transfer.files[0].id
        with refused("state_conflict"):
            store.finalize(A, transfer.id, 3)  # the file is not complete
        store.complete_file(A, transfer.id, file)
        assert store.finalize(A, transfer.id, 3).state == "finalizing"
        clock.advance(1)
        with pytest.raises(Refused) as caught:
            store.put_part(A, transfer.id, file, 1, b"")
        assert caught.value.situation == "locked"
        assert caught.value.retry_after == pytest.approx(2)
        assert store.get_transfer(A, transfer.id).state == "finalizing"
        clock.advance(2)
        assert store.get_transfer(A, transfer.id).state == "ready"
        with refused("state_conflict"):
            store.finalize(A, transfer.id, 3)

    def test_expired_transfers_are_gone(self, store: Store, clock: FakeClock) -> None:
        """Once `expires_in` has passed, reads and writes are `gone`."""
        transfer = store.create_transfer(A, "t", [("a", 1)], 10)
        clock.advance(10)
        with refused("gone"):
            store.get_transfer(A, transfer.id)
        with refused("gone"):
            store.put_part(A, transfer.id, transfer.files[0].id, 1, b"x")
        # Gone is only for the owner: for anyone else it never existed.
        with refused("not_found"):
            store.get_transfer(B, transfer.id)


class TestJobs:
    def test_jobs_run_by_the_clock(self, store: Store, clock: FakeClock) -> None:
        """A job is running until its seconds have passed since creation."""
        job = store.create_job(A, 2)
        assert not store.get_job(A, job.id).done
        clock.advance(1.5)
        assert store.get_job(A, job.id).remaining == pytest.approx(0.5)
        clock.advance(0.5)
        assert store.get_job(A, job.id).done


class TestOpening:
    def test_a_file_database_keeps_its_rows(self, tmp_path: Path) -> None:
        """The schema is created once; a second open sees the first one's rows."""
        path = str(tmp_path / "demo.sqlite3")
        first = Store(path)
        tracker = first.create_tracker(A, "kept")
        first.close()
        second = Store(path)
        assert second.get_tracker(A, tracker.id).name == "kept"
        second.close()

    def test_a_missing_directory_is_a_store_error(self, tmp_path: Path) -> None:
        """A path whose directory does not exist cannot be opened."""
        with pytest.raises(StoreError, match="cannot"):
            Store(str(tmp_path / "missing" / "demo.sqlite3"))

    def test_a_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        """Any other file is refused rather than overwritten."""
        path = tmp_path / "notes.txt"
        path.write_text("not a database, just some notes\n" * 100)
        with pytest.raises(StoreError, match="cannot use"):
            Store(str(path))
        assert path.read_text().startswith("not a database")

    def test_another_schema_version_is_refused(self, tmp_path: Path) -> None:
        """A database stamped with another version is left alone."""
        path = tmp_path / "old.sqlite3"
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 7")
        db.close()
        with pytest.raises(StoreError, match="schema version 7"):
            Store(str(path))
