"""`Context`: everything a render can see of the world outside the script."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ScriptError
from .values import Row
from .workspace import Workspace

if TYPE_CHECKING:
    from .backends.base import Backend


# Personalization strings that Marketing Cloud fills from the subscriber under
# another name; the first attribute present wins.
_ATTRIBUTE_ALIASES = {
    "emailaddr": ("emailaddr", "EmailAddress", "Email Address", "Email"),
    "_subscriberkey": ("_subscriberkey", "SubscriberKey", "Subscriber Key"),
}


class Context:
    """The world a script renders against.

    * ``workspace``: the folder standing in for the Marketing Cloud account
      (default: the current folder);
    * ``subscriber``: attribute name -> value (default: the workspace's
      ``subscriber.json``); names are case-insensitive;
    * ``backend``: where API calls go (default: the embedded simulator over
      the workspace);
    * ``now``: a fixed system time for Now() and friends (default: the
      clock), so tests of date logic are repeatable.
    """

    def __init__(
        self,
        *,
        workspace: str | Path | Workspace | None = None,
        subscriber: Mapping[str, Any] | None = None,
        backend: Backend | None = None,
        now: _dt.datetime | None = None,
    ) -> None:
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.subscriber = Row(subscriber if subscriber is not None else self.workspace.subscriber())
        self._backend = backend
        self._now = now

    def now(self) -> _dt.datetime:
        """Marketing Cloud system time: Central Standard Time (UTC-6) all year, no daylight saving."""
        if self._now is not None:
            return self._now
        system_zone = _dt.timezone(_dt.timedelta(hours=-6))
        return _dt.datetime.now(system_zone).replace(tzinfo=None)

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from .backends.simulator import Simulator

            self._backend = Simulator.from_workspace(self.workspace)
        return self._backend

    def attribute(self, name: str, *, required: bool = True) -> Any:
        """A subscriber attribute or personalization string, by case-insensitive name."""
        for candidate in _ATTRIBUTE_ALIASES.get(name.lower(), (name,)):
            if candidate in self.subscriber:
                return self.subscriber[candidate]
        if required:
            raise ScriptError(
                f"the subscriber has no attribute {name!r}",
                hint=f"add it to subscriber.json, or use AttributeValue({name!r}) to get an empty value",
            )
        return None
