"""Django's SQLite backend, with writers queued by the operating system.

Every Haven transaction on SQLite begins ``IMMEDIATE`` (it takes the database's one write lock
first, so two writers never fail half-way). A writer that finds the lock taken is left to
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries: under a flood of
portal requests the lock sat free while every waiter slept, and the write lock, not the
processors, capped the intake rate. Here each transaction first takes an exclusive ``flock`` on
a file beside the database; waiters sleep in the kernel and the next one wakes as the lock is
let go. The kernel drops the lock if its process dies. SQLite's own lock and busy timeout stay
as they were, for anything else that opens the file.

Staff writers go first. A staff page writes its audit entry (every case read is one), so under a
flood of portal requests every staff page waited in the same line as the flood: a third of a
staff page's time went waiting for the lock (benchmarks/workday.py, profiled). Writers therefore
line up on a second lock file first: the staff side's share it, a portal-only process's
(``HAVEN_SERVE=portal``) take it alone, and each lets it go once it holds the writers' lock. While
any staff writer waits no portal writer joins the line, and at most one portal writer (the one
holding the line) is ahead of a staff writer that arrives.

In-memory databases (the tests') have one connection and no file: nothing is locked.

A database file that does not exist yet is created empty with mode 0600 before SQLite opens it,
whatever the process's umask (a WSGI server started without ``haven`` may leave it at 022):
SQLite gives its ``-wal`` and ``-shm`` files the main file's mode.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


# The four methods wrapped here are Django's own but private, so django-stubs leaves them out
# (hence the type: ignore on each super() call).
class DatabaseWrapper(base.DatabaseWrapper):
    _writers_fd: int | None = None
    _line_fd: int | None = None
    _writers_held = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        name = str(self.settings_dict["NAME"] or "")
        if name and not self.is_in_memory_db() and not name.startswith("file:"):
            # It exists already; or SQLite says below why it cannot be opened.
            with contextlib.suppress(OSError):
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return super().get_new_connection(conn_params)

    def _writers_path(self) -> str | None:
        name = str(self.settings_dict["NAME"] or "")
        if not name or self.is_in_memory_db():
            return None
        return f"{name}-writers.lock"

    def _yields(self) -> bool:
        """Whether this process's writers let the staff side's go first (a portal-only one)."""
        from django.conf import settings

        return getattr(settings, "HAVEN_SERVE", "all") == "portal"

    def _writers_lock(self) -> None:
        path = self._writers_path()
        if path is None or self._writers_held:
            return
        if self._writers_fd is None:
            self._writers_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if self._line_fd is None:
            self._line_fd = os.open(
                f"{path[: -len('.lock')]}-line.lock", os.O_RDWR | os.O_CREAT, 0o600
            )
        fcntl.flock(self._line_fd, fcntl.LOCK_EX if self._yields() else fcntl.LOCK_SH)
        try:
            fcntl.flock(self._writers_fd, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._line_fd, fcntl.LOCK_UN)
        self._writers_held = True

    def _writers_unlock(self) -> None:
        if self._writers_held and self._writers_fd is not None:
            fcntl.flock(self._writers_fd, fcntl.LOCK_UN)
        self._writers_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._writers_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._writers_unlock()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._writers_unlock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._writers_unlock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._writers_unlock()
            for fd in (self._writers_fd, self._line_fd):
                if fd is not None:
                    os.close(fd)
            self._writers_fd = self._line_fd = None
