"""The reference service's data, kept in SQLite with the standard library's ``sqlite3``.

Rules every method follows:

- Every query names the owner (the caller's principal), so one key can never read or change
  another key's rows; a row that exists for someone else is reported exactly like a missing
  one (``not_found``), so ids cannot be probed. (The one exception is the INSERT of a part,
  which has no WHERE clause; it runs only after the file was found for that owner, in the
  same transaction.)
- Every write runs in one ``BEGIN IMMEDIATE`` transaction: the checks and the change see the
  same data, and a failure leaves nothing half-written.
- Values are bound parameters, never formatted into SQL.

Threads: the store holds one connection behind a lock, and the app calls it through
``asyncio.to_thread``. One connection is what makes ``:memory:`` work at all (each
connection to it is a separate database), SQLite admits one writer at a time anyway, and
every call here takes well under a millisecond, so the lock costs nothing measurable; the
thread keeps a slow disk (a commit's fsync) off the event loop.

Time comes from an injected clock, so tests move it forward instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from ._situations import Refused

__all__ = ["File", "Job", "JobsBusy", "Store", "StoreError", "Tracker", "Transfer"]

Clock = Callable[[], float]
Row = sqlite3.Row

#: Bumped when the schema changes; a database from another version is refused, not altered.
SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    finalize_until REAL
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    transfer_id TEXT NOT NULL REFERENCES transfers (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_by_transfer ON files (transfer_id, position);
CREATE TABLE IF NOT EXISTS parts (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (file_id, number)
);
CREATE TABLE IF NOT EXISTS trackers (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (owner, name)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    seconds REAL NOT NULL
);
"""


class StoreError(Exception):
    """The database cannot be opened or is not one this version of the demo made."""


@dataclass(frozen=True, slots=True)
class File:
    """One file of a transfer, with the bytes received so far."""

    id: str
    name: str
    size: int
    received: int
    complete: bool


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer as its owner sees it at one moment."""

    id: str
    name: str
    state: str  # uploading | finalizing | ready
    expires_at: float
    files: tuple[File, ...]
    #: Seconds left in ``finalizing``; 0 in the other states.
    finalizing_for: float


@dataclass(frozen=True, slots=True)
class Tracker:
    """A named tracker; names are unique per owner."""

    id: str
    name: str


class JobsBusy(Exception):
    """The owner already runs as many jobs as it may; one ends in ``retry_after`` seconds."""

    def __init__(self, running: int, retry_after: float) -> None:
        super().__init__(f"{running} jobs running")
        self.running = running
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Job:
    """An asynchronous job, timed by the wall clock from its creation."""

    id: str
    seconds: float
    #: Seconds until it is done; 0 once done.
    remaining: float

    @property
    def done(self) -> bool:
        """Whether the job has finished."""
        return self.remaining <= 0


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class Store:
    """The service's tables, scoped by owner. Blocking: call it from a worker thread.

    Args:
        path: The SQLite file (created with its schema when missing), or ``:memory:``.
        clock: Seconds since the epoch, ``time.time`` by default.

    Raises:
        StoreError: the file cannot be opened or written, is not a database, or was made by
            another schema version.
    """

    def __init__(self, path: str = ":memory:", *, clock: Clock = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        try:
            # isolation_level=None: no implicit transactions; `_transaction` opens each one.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA busy_timeout = 5000")
            with self._transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise StoreError(
                        f"{path} holds schema version {version}; this demo uses "
                        f"{SCHEMA_VERSION}: pass another --db"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                # PRAGMA takes no bound parameters; the value is our own integer constant.
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot use {path} as the demo's database: {exc}") from exc
        except StoreError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: committed on success, rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- transfers -------------------------------------------------------------------------

    def create_transfer(
        self, owner: str, name: str, files: Sequence[tuple[str, int]], expires_in: float
    ) -> Transfer:
        """A new transfer in ``uploading``, its files declared with their sizes."""
        now = self._clock()
        transfer_id = _new_id("tr")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO transfers (id, owner, name, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (transfer_id, owner, name, now, now + expires_in),
            )
            db.executemany(
                "INSERT INTO files (id, transfer_id, position, name, size) VALUES (?, ?, ?, ?, ?)",
                [
                    (_new_id("fi"), transfer_id, position, file_name, size)
                    for position, (file_name, size) in enumerate(files)
                ],
            )
            return self._transfer(db, owner, transfer_id, now)

    def get_transfer(self, owner: str, transfer_id: str) -> Transfer:
        """The owner's transfer.

        Raises:
            Refused: ``not_found`` (unknown, or another owner's), ``gone`` (expired).
        """
        now = self._clock()
        with self._transaction(write=False) as db:
            self._live_row(db, owner, transfer_id, now)
            return self._transfer(db, owner, transfer_id, now)

    def put_part(self, owner: str, transfer_id: str, file_id: str, number: int, data: bytes) -> int:
        """Store part ``number`` of a file (replacing an earlier one); the file's bytes so far.

        The demo keeps each part's size and SHA-256, not its bytes.

        Raises:
            Refused: ``not_found``, ``gone``, ``locked`` (finalising), ``state_conflict``
                (finalised, or the file is already complete).
        """
        digest = hashlib.sha256(data).hexdigest()
        now = self._clock()
        with self._transaction() as db:
            self._writable(db, owner, transfer_id, now)
            file = self._file_row(db, owner, transfer_id, file_id)
            if file["complete"]:
                raise Refused(
                    "state_conflict",
                    reason=f"File {file_id} is complete; it takes no more parts.",
                )
            db.execute(
                "INSERT INTO parts (file_id, number, size, sha256) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (file_id, number) DO UPDATE"
                " SET size = excluded.size, sha256 = excluded.sha256",
                (file_id, number, len(data), digest),
            )
            return self._received(db, owner, file_id)

    def complete_file(self, owner: str, transfer_id: str, file_id: str) -> File:
        """Mark a file complete once the bytes received equal its declared size.

        Completing a complete file again is allowed and changes nothing.

        Raises:
            Refused: ``not_found``, ``gone``, ``locked``, ``state_conflict`` (finalised),
                ``size_mismatch`` with ``received`` and ``declared``.
        """
        now = self._clock()
        with self._transaction() as db:
            self._writable(db, owner, transfer_id, now)
            row = self._file_row(db, owner, transfer_id, file_id)
            received = self._received(db, owner, file_id)
            if received != row["size"]:
                raise Refused("size_mismatch", received=received, declared=row["size"])
            db.execute(
                "UPDATE files SET complete = 1 WHERE id = ?"
                " AND transfer_id IN (SELECT id FROM transfers WHERE owner = ?)",
                (file_id, owner),
            )
            return File(row["id"], row["name"], row["size"], received, complete=True)

    def finalize(self, owner: str, transfer_id: str, seconds: float) -> Transfer:
        """Start finalising: the transfer is locked for ``seconds``, then ready.

        Raises:
            Refused: ``not_found``, ``gone``, ``locked`` (already finalising),
                ``state_conflict`` (already ready, or a file is not complete).
        """
        now = self._clock()
        with self._transaction() as db:
            self._writable(db, owner, transfer_id, now)
            pending = db.execute(
                "SELECT f.id FROM files f JOIN transfers t ON t.id = f.transfer_id"
                " WHERE f.transfer_id = ? AND t.owner = ? AND f.complete = 0"
                " ORDER BY f.position LIMIT 1",
                (transfer_id, owner),
            ).fetchone()
            if pending is not None:
                raise Refused(
                    "state_conflict",
                    reason=f"File {pending['id']} is not complete; complete every file first.",
                )
            db.execute(
                "UPDATE transfers SET finalize_until = ? WHERE id = ? AND owner = ?",
                (now + seconds, transfer_id, owner),
            )
            return self._transfer(db, owner, transfer_id, now)

    def _live_row(self, db: sqlite3.Connection, owner: str, transfer_id: str, now: float) -> Row:
        row: Row | None = db.execute(
            "SELECT id, expires_at, finalize_until FROM transfers WHERE id = ? AND owner = ?",
            (transfer_id, owner),
        ).fetchone()
        if row is None:
            raise Refused("not_found")
        if now >= row["expires_at"]:
            raise Refused("gone")
        return row

    def _writable(self, db: sqlite3.Connection, owner: str, transfer_id: str, now: float) -> None:
        """Refuse writes to a transfer that is missing, expired, finalising or finalised."""
        row = self._live_row(db, owner, transfer_id, now)
        until = row["finalize_until"]
        if until is not None and now < until:
            raise Refused("locked", retry_after=until - now)
        if until is not None:
            raise Refused(
                "state_conflict", reason=f"Transfer {transfer_id} is finalised and read-only."
            )

    def _file_row(self, db: sqlite3.Connection, owner: str, transfer_id: str, file_id: str) -> Row:
        row: Row | None = db.execute(
            "SELECT f.id, f.name, f.size, f.complete FROM files f"
            " JOIN transfers t ON t.id = f.transfer_id"
            " WHERE f.id = ? AND f.transfer_id = ? AND t.owner = ?",
            (file_id, transfer_id, owner),
        ).fetchone()
        if row is None:
            raise Refused("not_found")
        return row

    @staticmethod
    def _received(db: sqlite3.Connection, owner: str, file_id: str) -> int:
        total: int = db.execute(
            "SELECT COALESCE(SUM(p.size), 0) FROM parts p"
            " JOIN files f ON f.id = p.file_id JOIN transfers t ON t.id = f.transfer_id"
            " WHERE p.file_id = ? AND t.owner = ?",
            (file_id, owner),
        ).fetchone()[0]
        return total

    def _transfer(
        self, db: sqlite3.Connection, owner: str, transfer_id: str, now: float
    ) -> Transfer:
        row = db.execute(
            "SELECT id, name, expires_at, finalize_until FROM transfers WHERE id = ? AND owner = ?",
            (transfer_id, owner),
        ).fetchone()
        files = db.execute(
            "SELECT f.id, f.name, f.size, f.complete,"
            " (SELECT COALESCE(SUM(p.size), 0) FROM parts p WHERE p.file_id = f.id) AS received"
            " FROM files f JOIN transfers t ON t.id = f.transfer_id"
            " WHERE f.transfer_id = ? AND t.owner = ? ORDER BY f.position",
            (transfer_id, owner),
        ).fetchall()
        until = row["finalize_until"]
        if until is None:
            state, left = "uploading", 0.0
        elif now < until:
            state, left = "finalizing", until - now
        else:
            state, left = "ready", 0.0
        return Transfer(
            id=row["id"],
            name=row["name"],
            state=state,
            expires_at=row["expires_at"],
            files=tuple(
                File(f["id"], f["name"], f["size"], f["received"], bool(f["complete"]))
                for f in files
            ),
            finalizing_for=left,
        )

    # -- trackers --------------------------------------------------------------------------

    def create_tracker(self, owner: str, name: str) -> Tracker:
        """A new tracker.

        Raises:
            Refused: ``name_taken`` when this owner already has a tracker by that name.
        """
        tracker = Tracker(_new_id("tk"), name)
        with self._transaction() as db:
            taken = db.execute(
                "SELECT 1 FROM trackers WHERE owner = ? AND name = ?", (owner, name)
            ).fetchone()
            if taken is not None:
                raise Refused("name_taken", name=name)
            db.execute(
                "INSERT INTO trackers (id, owner, name, created_at) VALUES (?, ?, ?, ?)",
                (tracker.id, owner, name, self._clock()),
            )
        return tracker

    def get_tracker(self, owner: str, tracker_id: str) -> Tracker:
        """The owner's tracker.

        Raises:
            Refused: ``tracker_not_found`` (unknown, or another owner's), with ``tracker_id``.
        """
        with self._transaction(write=False) as db:
            row = db.execute(
                "SELECT id, name FROM trackers WHERE id = ? AND owner = ?", (tracker_id, owner)
            ).fetchone()
        if row is None:
            raise Refused("tracker_not_found", tracker_id=tracker_id)
        return Tracker(row["id"], row["name"])

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, owner: str, seconds: float, *, max_running: int | None = None) -> Job:
        """A job that runs for ``seconds`` from now.

        A job runs until its wall-clock end, long after the request that started it, so
        "at most N running jobs" is a count over the owner's jobs, not a concurrency lease:
        checked and written in one transaction, which SQLite serialises across every
        worker sharing the file.

        Raises:
            JobsBusy: ``max_running`` of the owner's jobs are still running.
        """
        job_id = _new_id("jb")
        with self._transaction() as db:
            now = self._clock()
            if max_running is not None:
                ends = [
                    row[0]
                    for row in db.execute(
                        "SELECT created_at + seconds FROM jobs WHERE owner = ? "
                        "AND created_at + seconds > ? ORDER BY 1",
                        (owner, now),
                    )
                ]
                if len(ends) >= max_running:
                    # The earliest end frees a slot (of the ones that must end first).
                    raise JobsBusy(len(ends), ends[len(ends) - max_running] - now)
            db.execute(
                "INSERT INTO jobs (id, owner, created_at, seconds) VALUES (?, ?, ?, ?)",
                (job_id, owner, now, seconds),
            )
        return Job(job_id, seconds, seconds)

    def get_job(self, owner: str, job_id: str) -> Job:
        """The owner's job, with the time it still needs.

        Raises:
            Refused: ``not_found`` (unknown, or another owner's).
        """
        with self._transaction(write=False) as db:
            row = db.execute(
                "SELECT id, created_at, seconds FROM jobs WHERE id = ? AND owner = ?",
                (job_id, owner),
            ).fetchone()
        if row is None:
            raise Refused("not_found")
        remaining = max(0.0, row["created_at"] + row["seconds"] - self._clock())
        return Job(row["id"], row["seconds"], remaining)
