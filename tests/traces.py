"""Looking for traces of a person, or of something they wrote, in every row of every table.

The scan reads the tables the models declare (``SQLModel.metadata``), row by row and column by
column, so a table or column added later is searched too without changing the tests."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table registered on the metadata)
from storage.db import Database
from storage.identity import Vault


@dataclass(frozen=True)
class Cell:
    table: str
    column: str
    value: Any
    row: int  # the row's position in its table, as read

    def __str__(self) -> str:
        shown = repr(self.value)
        return f"{self.table}.{self.column} (row {self.row}): {shown[:120]}"


def tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def cells(database: Database) -> Iterator[Cell]:
    """Every value of every row of every table."""
    with database.engine.connect() as connection:
        for table in tables():
            for number, row in enumerate(connection.execute(select(table)).mappings()):
                for column in table.columns:
                    yield Cell(table.name, column.name, row[column.name], number)


def readings(cell: Cell, vault: Vault) -> list[str]:
    """What a text cell says: as stored, as JSON decoded (non-ASCII may be escaped), and,
    for an encrypted column (``*_enc``), as the vault opens it. Nothing for other cells."""
    value = cell.value
    if not isinstance(value, str):
        return []
    found = [value]
    if value[:1] in "[{":
        with contextlib.suppress(ValueError):
            found.append(json.dumps(json.loads(value), ensure_ascii=False))
    if cell.column.endswith("_enc"):
        with contextlib.suppress(ValueError):  # (not something this key sealed)
            found.append(vault.open(value))
    return found


def person_references(table: Table) -> list[str]:
    """The columns of ``table`` that hold a person's id (its foreign keys to person.id, and
    person.id itself)."""
    names = [
        column.name
        for column in table.columns
        if any(key.column.table.name == "person" for key in column.foreign_keys)
    ]
    if table.name == "person":
        names.append("id")
    return names


def traces_of_person(
    database: Database, vault: Vault, *, person_id: int, secrets: Iterable[str]
) -> list[str]:
    """Every cell that still refers to the person: a column referring to person.id holding
    their id, or a text cell (as stored, JSON decoded or opened with the vault) containing
    one of ``secrets`` (their platform id, key hash, tally token...)."""
    wanted = [secret for secret in secrets if secret]
    references = {table.name: set(person_references(table)) for table in tables()}
    found = []
    for cell in cells(database):
        if cell.column in references[cell.table] and cell.value == person_id:
            found.append(f"{cell} refers to the person")
            continue
        for reading in readings(cell, vault):
            hits = [secret for secret in wanted if secret in reading]
            if hits:
                found.append(f"{cell} contains {hits}")
                break
    return found


def where_written(database: Database, vault: Vault, texts: Iterable[str]) -> list[str]:
    """Every text cell (as stored, JSON decoded or opened with the vault) containing one of
    ``texts``."""
    wanted = [text for text in texts if text]
    found = []
    for cell in cells(database):
        for reading in readings(cell, vault):
            hits = [text for text in wanted if text in reading]
            if hits:
                found.append(f"{cell} contains {hits}")
                break
    return found


def row_count(database: Database, table_name: str) -> int:
    with database.engine.connect() as connection:
        table = SQLModel.metadata.tables[table_name]
        return len(connection.execute(select(table)).all())
