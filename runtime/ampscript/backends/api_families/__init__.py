"""The simulator's API object families: one module per family of objects it treats specially.

Most API objects are just stored (`ampscript.backends.api_store`): Create
stores one, Update merges into it, Retrieve filters them.  A family gives
some object types a meaning of their own:

* `data_extension_objects`: DataExtension (a table of the data extension
  store), DataExtensionObject (a row of one), the DataExtensionField view;
* `sends`: TriggeredSend (a message in the outbox);
* `subscribers`: the ListSubscriber view, the LogUnsubEvent execute call;
* `automation`: QueryDefinition's Perform Start (a query activity), Group
  refreshes, and the activity log.

Each family answers what it handles and None for the rest, so the
simulator asks them in turn and falls back to the stored objects; Perform
actions and Execute requests are looked up in the tables the families
give (`performs`, `executes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...api_objects import ApiObject
from ...values import Row
from ..base import CallResult

if TYPE_CHECKING:
    from ..simulator import Simulator

Perform = Callable[[ApiObject, str], CallResult]
Execute = Callable[[ApiObject, dict[str, Any]], CallResult]


class ObjectFamily:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def create(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        return None

    def update(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        return None

    def delete(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        return None

    def retrievable(self, object_type: str) -> list[Row] | None:
        """Everything a Retrieve of the type sees, when the family owns the type (its rows or views); else None.

        A view that adds to objects stored in ``objects/`` includes them
        (`Simulator.stored_rows`).
        """
        return None

    def performs(self) -> dict[tuple[str, str], Perform]:
        """(object type, action), lowercased -> what Perform does."""
        return {}

    def executes(self) -> dict[str, Execute]:
        """Execute request name, lowercased -> what it does, given the request and its parameters (lowercased names)."""
        return {}


def families(simulator: Simulator) -> list[ObjectFamily]:
    from .automation import AutomationFamily
    from .data_extension_objects import DataExtensionFamily
    from .sends import SendFamily
    from .subscribers import SubscriberFamily

    return [DataExtensionFamily(simulator), SendFamily(simulator), SubscriberFamily(simulator), AutomationFamily(simulator)]
