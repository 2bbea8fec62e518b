"""Building an import's chunks in worker processes while the main process writes them.

Most of a load's time is spent *building* a chunk: a data key per person sealed to each holder
and the recovery key, sealed records, search tokens, matching encodings, and turning all of it
into INSERT statements. None of it needs the write lock, and each chunk is independent of the
others, so :func:`built_chunks` builds them in ``workers`` forked processes and hands them back,
in order, as plain statements (:meth:`haven.db.rows.Inserts.detached`): the main process only
runs each chunk's statements in its own transaction with its ledger rows, audit entry and
counts, exactly as when it builds them itself (:func:`haven.imports.services.import_commit`).

How keys are kept: a worker is a fork of the main process, so it starts with the key context
the main process opened (nothing is written anywhere to pass it). It seals with the same services
as the main process (haven.vault, haven.crypto); what it sends back through its pipe, in memory,
are the rows as they will be stored: sealed payloads, sealed copies of keys, keyed tokens. A new
data key never leaves the worker that made it, except sealed. Each worker takes a fresh erasure
store descriptor (haven.crypto's store is per process) and opens its own database connection for
the few reads a chunk needs (the main process closes its own before forking, so none is shared).

A worker that fails sends the failing chunk's error *type* (never its message, which could quote
a cell) and stops; the main process raises :class:`BuildError` when it reaches that chunk, after
writing every chunk before it, so the import is left as an interrupted one (whole chunks, the
ledger naming them): resuming builds the rest, undo destroys what was written.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from django.db import connection, connections

from haven.db.rows import Inserts


class BuildError(RuntimeError):
    """A chunk could not be built; the chunks before it were written."""


@dataclass(frozen=True)
class Built:
    """One chunk built: its statements (plain values, no model objects) and what they make."""

    inserts: Inserts
    requests: int
    people: int


Build = Callable[[Any], Built]


def built_chunks(
    chunks: Sequence[Any], build: Build, *, workers: int
) -> Generator[tuple[Any, Built], None, None]:
    """Each chunk with what ``build`` made of it, in the order of ``chunks``.

    ``workers`` > 1: built that many at a time in forked processes, each a chunk or so ahead of
    the caller (a pipe holds what a worker made until the caller takes it), so that the caller
    writes one chunk while the next ones are built. Stopping early (``break``, an exception)
    stops the workers: what they were building is dropped, never written. Inside a transaction
    the chunks are built here, one by one (a fork cannot share the transaction)."""
    if workers <= 1 or len(chunks) <= 1 or connection.in_atomic_block:
        for chunk in chunks:
            yield chunk, build(chunk)
        return
    yield from _forked(chunks, build, min(workers, len(chunks)))


def _forked(
    chunks: Sequence[Any], build: Build, workers: int
) -> Generator[tuple[Any, Built], None, None]:
    # A forked child must not use its parent's database connection (the server would see one
    # conversation from two processes): close them all, and each side opens its own.
    connections.close_all()
    fork = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    processes = []
    try:
        for n in range(workers):
            receive, send = fork.Pipe(duplex=False)
            process = fork.Process(
                target=_work,
                args=(build, chunks[n::workers], send),
                name=f"haven-import-builder-{n}",
                daemon=True,
            )
            process.start()
            send.close()
            pipes.append(receive)
            processes.append(process)
        for position, chunk in enumerate(chunks):
            try:
                kind, value = pipes[position % workers].recv()
            except EOFError:
                raise BuildError(
                    f"The worker building chunk {chunk.index} stopped without an answer; the "
                    "chunks before it are loaded: resume the import to go on."
                ) from None
            if kind == "error":
                raise BuildError(
                    f"Chunk {chunk.index} could not be built ({value}); the chunks before it "
                    "are loaded: resume the import to go on, or undo it."
                )
            yield chunk, value
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        for pipe in pipes:
            pipe.close()


def _work(build: Build, chunks: Sequence[Any], send: Connection) -> None:
    """A worker: build its chunks in turn and send each back; on an error, say which kind and
    stop (the main process raises when it reaches that chunk)."""
    try:
        for chunk in chunks:
            try:
                built = build(chunk)
            except Exception as exc:  # noqa: BLE001 - reported to the main process, by type only
                send.send(("error", type(exc).__name__))
                return
            send.send(("ok", built))
    finally:
        connections.close_all()
        send.close()
