"""Tables rebuilt beside the ones readers use, and swapped in at the end of the transaction.

A full load rewrites the history and its rollups. Emptying them in place (TRUNCATE, DROP INDEX) takes
an ACCESS EXCLUSIVE lock that lasts until the load commits, so every read would wait for the whole
load. Instead each table gets a shadow: a new table with the same columns, defaults, identity and
storage parameters, filled and indexed while readers keep reading the old one. At the end, in the same
transaction, the old table is dropped and the shadow takes its names: table, indexes, constraints and
identity sequence, exactly as the migrations made them. Readers wait only for that swap (catalogue
changes, no data moved). A failed or cancelled load rolls back, and the shadow vanishes with it.

Writers are kept out for the whole rewrite by an EXCLUSIVE lock, which lets plain reads through: a sale
recorded meanwhile would otherwise go into the old table and be dropped with it. They wait, as they did
for TRUNCATE, and then write into the new table (PostgreSQL looks a name up again when the lock it
waited for was granted after a change to the catalogue).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

SHADOW_SUFFIX = "__next"
# The swap backs off after this long without its locks, and tries again: a reader that holds one of the
# tables and waits for another must not deadlock with it (and get the whole load cancelled).
SWAP_LOCK_TIMEOUT = "500ms"
SWAP_RETRY_SECONDS = 0.2
_INDEX_DEFINITION = re.compile(r"^CREATE (?P<unique>UNIQUE )?INDEX \S+ ON (ONLY )?\S+ USING (?P<rest>.*)$", re.DOTALL)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass
class Shadow:
    """A table's shadow (`name`), and what it takes from `table`: its constraints (primary key and unique
    ones under temporary names until the swap), its other indexes (likewise), and the renames that give
    all of them, and the identity's sequence, the table's own names at the swap."""

    table: str
    name: str
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # (name, contype, definition)
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements
    # (INDEX, SEQUENCE or CONSTRAINT, its temporary name as SQL, its name)
    renames: list[tuple[str, str, str]] = field(default_factory=list)
    owned_sequences: list[tuple[str, str]] = field(default_factory=list)  # serial: (sequence, column)


def shadow_create(*, cursor, table: str) -> Shadow:
    """Keep writers out of `table` for the rest of the transaction, and create its empty shadow with its
    columns, defaults, identity, storage parameters and check constraints. Fill it, then `shadow_index`."""
    cursor.execute(f"LOCK TABLE {_q(table)} IN EXCLUSIVE MODE")
    _refuse_dependents(cursor=cursor, table=table)
    shadow = Shadow(table=table, name=table + SHADOW_SUFFIX)
    cursor.execute(
        "SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class WHERE oid = %s::regclass", [table]
    )
    options = cursor.fetchone()[0]
    cursor.execute(
        f"CREATE TABLE {_q(shadow.name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING IDENTITY "
        f"INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING STATISTICS INCLUDING COMMENTS)"
        + (f" WITH ({options})" if options else "")
    )
    _shadow_parts(cursor=cursor, shadow=shadow)
    # Checked row by row as the rows go in: cheaper than a scan afterwards.
    for name, kind, definition in shadow.constraints:
        if kind == "c":
            cursor.execute(f"ALTER TABLE {_q(shadow.name)} ADD CONSTRAINT {_q(name)} {definition}")
    return shadow


def _refuse_dependents(*, cursor, table: str) -> None:
    """Fail now, not at the swap after the whole load: views and foreign keys that name the table
    would have to be dropped with it."""
    cursor.execute(
        """
        SELECT r.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = %s::regclass AND r.ev_class <> d.refobjid
        UNION SELECT conname FROM pg_constraint WHERE confrelid = %s::regclass
        """,
        [table, table],
    )
    dependents = sorted(name for (name,) in cursor.fetchall())
    if dependents:
        raise ValueError(f"{table} cannot be swapped: {', '.join(dependents)} depend(s) on it")


def _shadow_parts(*, cursor, shadow: Shadow) -> None:
    """Read the table's constraints, indexes and sequences into `shadow`."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "ORDER BY contype = 'f', conname",
        [shadow.table],
    )
    shadow.constraints = cursor.fetchall()
    unknown = {kind for _, kind, _ in shadow.constraints} - set("cfpux")
    if unknown:
        raise ValueError(f"{shadow.table} has constraints of a kind the swap does not know: {unknown}")
    for number, (name, kind, _) in enumerate(shadow.constraints):
        if kind in "pux":
            shadow.renames.append(("CONSTRAINT", _q(_temporary_name(shadow, "c", number)), name))
    # Indexes of their own (a constraint's index comes with its constraint), as PostgreSQL would re-create them.
    cursor.execute(
        """
        SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
        ORDER BY ic.relname
        """,
        [shadow.table],
    )
    for number, (name, definition) in enumerate(cursor.fetchall()):
        parts = _INDEX_DEFINITION.match(definition)
        if parts is None:
            raise ValueError(f"cannot read the definition of index {name}: {definition}")
        temporary = _temporary_name(shadow, "i", number)
        shadow.indexes.append(
            f"CREATE {parts['unique'] or ''}INDEX {_q(temporary)} ON {_q(shadow.name)} USING {parts['rest']}"
        )
        shadow.renames.append(("INDEX", _q(temporary), name))
    cursor.execute(
        """
        SELECT s.oid::regclass::text, s.relname, a.attname, d.deptype FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refobjid = %s::regclass AND d.deptype IN ('a', 'i')
        """,
        [shadow.table],
    )
    for sequence, sequence_name, column, kind in cursor.fetchall():
        if kind == "i":
            # An identity's sequence belongs to its column: the shadow has its own, renamed at the swap.
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [_q(shadow.name), column])
            shadow.renames.append(("SEQUENCE", cursor.fetchone()[0], sequence_name))
        else:
            # A serial column's default names the old sequence: it moves to the shadow before the drop.
            shadow.owned_sequences.append((sequence, column))


def _temporary_name(shadow: Shadow, kind: str, number: int) -> str:
    # PostgreSQL keeps 63 bytes of a name; index names are unique per schema, so the shadow's need their own.
    return f"{shadow.name[:50]}_{kind}{number}"


def shadow_index(*, cursor, shadow: Shadow) -> None:
    """Build the filled shadow's indexes, primary key, unique constraints (under temporary names until
    the swap) and foreign keys (under their own names: those are per table), once each."""
    for number, (_, kind, definition) in enumerate(shadow.constraints):
        if kind in "pux":
            temporary = _temporary_name(shadow, "c", number)
            cursor.execute(f"ALTER TABLE {_q(shadow.name)} ADD CONSTRAINT {_q(temporary)} {definition}")
    for statement in shadow.indexes:
        cursor.execute(statement)
    for name, kind, definition in shadow.constraints:
        if kind == "f":
            cursor.execute(f"ALTER TABLE {_q(shadow.name)} ADD CONSTRAINT {_q(name)} {definition}")


def shadows_swap_in(*, cursor, shadows: list[Shadow], on_retry: Callable[[], None] | None = None) -> None:
    """Drop each shadowed table and give its shadow the table's names, all at once. Readers wait for
    this only; should a reader hold one table while waiting for another, the swap gives way and retries.
    `on_retry()` is called before each new attempt: it may raise to give up (a cancelled load)."""
    cursor.execute("SELECT current_setting('lock_timeout')")
    lock_timeout = cursor.fetchone()[0]
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [SWAP_LOCK_TIMEOUT])
                _swap(cursor=cursor, shadows=shadows)
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected):
                raise
            logger.info("swap waiting for readers", extra={"attempt": attempt})
            attempt += 1
            if on_retry is not None:
                on_retry()
            # Slept in PostgreSQL: a statement, so that a cancel (pg_cancel_backend) stops the load here too.
            cursor.execute("SELECT pg_sleep(%s)", [SWAP_RETRY_SECONDS])


def _swap(*, cursor, shadows: list[Shadow]) -> None:
    cursor.execute(f"LOCK TABLE {', '.join(_q(s.table) for s in shadows)} IN ACCESS EXCLUSIVE MODE")
    for shadow in shadows:
        for sequence, column in shadow.owned_sequences:
            cursor.execute(f"ALTER SEQUENCE {sequence} OWNED BY {_q(shadow.name)}.{_q(column)}")
        cursor.execute(f"DROP TABLE {_q(shadow.table)}")
        cursor.execute(f"ALTER TABLE {_q(shadow.name)} RENAME TO {_q(shadow.table)}")
        for what, temporary, name in shadow.renames:
            if what == "CONSTRAINT":  # its index takes the new name with it
                cursor.execute(f"ALTER TABLE {_q(shadow.table)} RENAME CONSTRAINT {temporary} TO {_q(name)}")
            else:
                cursor.execute(f"ALTER {what} {temporary} RENAME TO {_q(name)}")
