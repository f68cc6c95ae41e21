"""The simulator's object families beyond data extensions and API objects: one module each.

A family (a Salesforce org, a Dynamics CRM organization, MobileConnect) keeps
its objects in the simulator's SQLite database, in tables of its own named
``_ampc_<family>_...``, is seeded from a folder of the workspace, and
provides one capability (`ampscript.capabilities`).  The simulator makes
one of each (`Simulator.families`) and answers `capability(kind)` with the
family whose `PROVIDES` is `kind`; seeding (`ampscript.backends.seeding`)
reads `seed_files` into the key of its kept copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

from ..workspace import Workspace

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class Family(Protocol):
    PROVIDES: ClassVar[type]  # the capability protocol it implements

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        """`db` is the simulator's connection; `transaction()` wraps every write (one lock, one commit)."""
        ...

    def create_tables(self) -> None:
        """CREATE TABLE IF NOT EXISTS its tables (a state file may have them already)."""
        ...

    def seed(self, workspace: Workspace) -> None:
        """Fill its tables from the workspace, inside the simulator's seeding transaction."""
        ...

    @staticmethod
    def seed_files(workspace: Workspace) -> Iterator[str]:
        """The workspace files `seed` reads, in the order it reads them."""
        ...


class FolderFamily:
    """What a family seeded from one workspace folder of CSV and JSON files shares: its tables and its files.

    A subclass names its `SCHEMA` (CREATE TABLE IF NOT EXISTS statements) and
    `FOLDER`, and keeps the connection and the transaction factory.
    """

    SCHEMA: ClassVar[str]
    FOLDER: ClassVar[str]

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        self.db = db
        self.transaction = transaction

    def create_tables(self) -> None:
        self.db.executescript(self.SCHEMA)

    @classmethod
    def seed_files(cls, workspace: Workspace) -> Iterator[str]:
        yield from workspace.files(cls.FOLDER, (".csv", ".json"))


def family_types() -> list[type[Any]]:
    """Every family, in the order the simulator makes and seeds them."""
    from .dynamics_org import DynamicsOrg
    from .mobile_connect import MobileConnectStore
    from .salesforce_org import SalesforceOrg

    return [SalesforceOrg, DynamicsOrg, MobileConnectStore]
