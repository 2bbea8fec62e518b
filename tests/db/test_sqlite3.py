"""Haven's SQLite backend queues writers on a lock file: the next one goes on as soon as the
one before commits, rolls back or goes away, and never while it is still writing."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from haven.db.sqlite3.base import DatabaseWrapper


@pytest.fixture(autouse=True)
def _own_files(django_db_blocker):
    # These tests open SQLite files of their own, not the test database.
    with django_db_blocker.unblock():
        yield


def _wrapper(path: Path, alias: str) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "haven.db.sqlite3",
            "NAME": str(path),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        },
        alias,
    )


def _begin(wrapper: DatabaseWrapper) -> None:
    wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def _second_writer(path: Path, events: dict[str, float], ready: threading.Event) -> None:
    other = _wrapper(path, "second")
    try:
        ready.set()
        _begin(other)
        events["second began"] = time.monotonic()
        with other.cursor() as cursor:
            cursor.execute("INSERT INTO t (v) VALUES ('second')")
        other.commit()
        other.set_autocommit(True)
    finally:
        other.close()


def _race(tmp_path: Path, end_first) -> tuple[dict[str, float], list[str]]:
    path = tmp_path / "haven.sqlite3"
    first = _wrapper(path, "first")
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    _begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO t (v) VALUES ('first')")
    events: dict[str, float] = {}
    ready = threading.Event()
    thread = threading.Thread(target=_second_writer, args=(path, events, ready))
    thread.start()
    ready.wait()
    time.sleep(0.3)  # the second writer is waiting now
    assert "second began" not in events
    events["first ended"] = time.monotonic()
    end_first(first)
    thread.join(timeout=10)
    first.set_autocommit(True) if first.connection is not None else None
    reader = _wrapper(path, "reader")
    with reader.cursor() as cursor:
        cursor.execute("SELECT v FROM t ORDER BY rowid")
        rows = [row[0] for row in cursor.fetchall()]
    reader.close()
    first.close()
    return events, rows


def test_a_second_writer_waits_for_the_first_to_commit_then_goes_on(tmp_path) -> None:
    events, rows = _race(tmp_path, lambda first: first.commit())
    assert events["second began"] >= events["first ended"]
    assert events["second began"] - events["first ended"] < 1.0  # woken, not polling
    assert rows == ["first", "second"]


def test_a_rolled_back_writer_lets_the_next_one_in_and_leaves_nothing(tmp_path) -> None:
    events, rows = _race(tmp_path, lambda first: first.rollback())
    assert events["second began"] >= events["first ended"]
    assert rows == ["second"]


def test_a_writer_whose_connection_closes_mid_transaction_lets_the_next_one_in(tmp_path) -> None:
    events, rows = _race(tmp_path, lambda first: first.close())
    assert events["second began"] >= events["first ended"]
    assert rows == ["second"]


def test_an_in_memory_database_takes_no_lock_file(tmp_path) -> None:
    memory = _wrapper(Path(":memory:"), "memory")
    _begin(memory)
    memory.rollback()
    memory.close()
    assert memory._writers_fd is None
    assert not list(tmp_path.iterdir())


def test_an_open_write_transaction_holds_the_lock_file_until_it_ends(tmp_path) -> None:
    path = tmp_path / "haven.sqlite3"
    writer = _wrapper(path, "writer")
    _begin(writer)
    probe = os.open(f"{path}-writers.lock", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        writer.commit()
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.flock(probe, fcntl.LOCK_UN)
    finally:
        os.close(probe)
        writer.set_autocommit(True)
        writer.close()


def test_a_new_database_and_its_wal_and_shm_are_for_the_owner_only(tmp_path):
    previous = os.umask(0o022)  # as a WSGI server started by hand may run
    try:
        wrapper = _wrapper(tmp_path / "haven.sqlite3", "modes")
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("CREATE TABLE t (v TEXT)")
            cursor.execute("INSERT INTO t (v) VALUES ('x')")
        modes = {path.name: oct(path.stat().st_mode & 0o777) for path in sorted(tmp_path.iterdir())}
        wrapper.close()
    finally:
        os.umask(previous)

    assert modes == {
        "haven.sqlite3": "0o600",
        "haven.sqlite3-shm": "0o600",
        "haven.sqlite3-wal": "0o600",
    }


def _writer_in_line(path: Path, name: str, *, portal: bool, order: list[str]) -> threading.Thread:
    def write() -> None:
        writer = _wrapper(path, name)
        writer._yields = lambda: portal  # type: ignore[method-assign]
        try:
            _begin(writer)
            order.append(name)
            with writer.cursor() as cursor:
                cursor.execute("INSERT INTO t (v) VALUES (%s)", [name])
            writer.commit()
            writer.set_autocommit(True)
        finally:
            writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.3)  # waiting in line now
    return thread


@pytest.mark.parametrize("holder_is_portal", [True, False])
def test_a_staff_writer_goes_before_portal_writers_that_lined_up_after_it(
    tmp_path, holder_is_portal
) -> None:
    path = tmp_path / "haven.sqlite3"
    holder = _wrapper(path, "holder")
    holder._yields = lambda: holder_is_portal  # type: ignore[method-assign]
    with holder.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    _begin(holder)
    order: list[str] = []
    threads = [_writer_in_line(path, "staff", portal=False, order=order)]
    threads += [_writer_in_line(path, f"portal {i}", portal=True, order=order) for i in (1, 2)]
    assert order == []  # everyone waits for the holder
    holder.commit()
    holder.set_autocommit(True)
    for thread in threads:
        thread.join(timeout=10)
    holder.close()
    assert order[0] == "staff"
    assert sorted(order) == ["portal 1", "portal 2", "staff"]


def test_portal_writers_alone_go_one_after_another(tmp_path) -> None:
    path = tmp_path / "haven.sqlite3"
    holder = _wrapper(path, "holder")
    holder._yields = lambda: True  # type: ignore[method-assign]
    with holder.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    _begin(holder)
    order: list[str] = []
    threads = [_writer_in_line(path, f"portal {i}", portal=True, order=order) for i in (1, 2)]
    holder.commit()
    holder.set_autocommit(True)
    for thread in threads:
        thread.join(timeout=10)
    reader = _wrapper(path, "reader")
    with reader.cursor() as cursor:
        cursor.execute("SELECT v FROM t ORDER BY rowid")
        rows = sorted(row[0] for row in cursor.fetchall())
    reader.close()
    holder.close()
    assert rows == ["portal 1", "portal 2"]
    assert len(order) == 2
