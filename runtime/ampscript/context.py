"""`Context`: everything a render can see of the world outside the script."""

from __future__ import annotations

import datetime as _dt
import random as _random
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import system_strings
from .capabilities import Content, capability_name
from .contexts import check_kind
from .errors import ScriptError
from .limits import Limits
from .sms import InboundSms
from .values import Row, clean_text
from .workspace import Workspace

if TYPE_CHECKING:
    from .backends.base import Backend
    from .capabilities import Provider

T = TypeVar("T")

# What Context._known_attribute gives for a name no attribute or system string has (None is a value).
_NO_ATTRIBUTE: Any = object()


class Context:
    """The world a script renders against.

    * ``workspace``: the folder standing in for the Marketing Cloud account
      (default: the current folder);
    * ``subscriber``: attribute name -> value (default: the workspace's
      ``subscriber.json``); names are case-insensitive;
    * ``backend``: where data extension, API object and content calls go
      (default: the embedded simulator over the workspace; see
      `ampscript.capabilities`);
    * ``connections``: more providers of capabilities, asked before the
      backend (a Salesforce org's REST connector, a Dynamics connector);
    * ``now``: a fixed system time for Now() and friends (default: the
      clock), so tests of date logic are repeatable;
    * ``request``: the HTTP request a CloudPage is rendered for (see
      `ampscript.request`); none for emails;
    * ``sms``: the inbound SMS a MobileConnect reply is rendered for
      (default: the workspace's ``sms.json``, if any; an
      `ampscript.sms.InboundSms`, its text, or a mapping of its fields):
      Msg(0) and its parts,
      and the ``MOBILE_NUMBER`` and ``SHORT_CODE`` strings;
    * ``state``: an SQLite file that keeps the simulator's state (data
      extensions, API objects) across renders and runs; seeded from the
      workspace the first time (default: in memory, fresh per context);
    * ``seed``: makes Random() and GUID() repeatable: the same seed gives the
      same draws (``ampc batch --seed`` seeds each subscriber's render with
      the seed and the subscriber's key);
    * ``limits``: what one render may use (`ampscript.limits.Limits`, or a
      mapping of ampc.json names such as ``{"renderSeconds": 10}``); what
      is given here changes the workspace's ``ampc.json`` limits, which
      change the defaults;
    * ``local_time_zone``: the time zone of the Marketing Cloud user the
      render runs as, which SystemDateToLocalDate() and
      LocalDateToSystemDate() convert to and from: an IANA name
      (``"Europe/Berlin"``), a UTC offset (``"+01:00"``) or a `tzinfo`
      (default: system time, so both return their argument).  Marketing
      Cloud takes it from the user's settings; the offsets it applies follow
      that zone's daylight saving time
      (https://sfmc.guide/engagement/differs-from-docs/#systemdatetolocaldate-seasonal-shift).
    """

    def __init__(
        self,
        *,
        workspace: str | Path | Workspace | None = None,
        subscriber: Mapping[str, Any] | None = None,
        backend: Backend | None = None,
        connections: Sequence[Provider] = (),
        now: _dt.datetime | None = None,
        state: str | Path | None = None,
        request: Any = None,
        limits: Limits | Mapping[str, Any] | None = None,
        local_time_zone: str | _dt.tzinfo | None = None,
        kind: str | None = None,
        sms: InboundSms | str | Mapping[str, Any] | None = None,
        seed: int | str | None = None,
    ) -> None:
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        attributes = subscriber if subscriber is not None else self.workspace.subscriber()
        # Lone surrogates (only Python strings hold them) become U+FFFD, in names and values alike;
        # ASCII text has none, and an all-ASCII row (most audiences' rows) is taken as it is.
        if type(attributes) is dict and all(
            type(name) is str and name.isascii() and (type(value) is not str or value.isascii())
            for name, value in attributes.items()
        ):
            self.subscriber = Row(attributes)
        else:
            self.subscriber = Row(
                (clean_text(str(name)), clean_text(value) if isinstance(value, str) else value)
                for name, value in attributes.items()
            )
        self._backend = backend
        self._backend_given = backend is not None
        self.connections = tuple(connections) if connections else ()
        self._now = now
        self.state = state
        self.request = request  # the page request a CloudPage renders for (ampscript.request)
        # Random() and GUID() draw from this generator when a seed is given (ampc batch --seed), else
        # from the process's own: seeded per subscriber, two renders give the same values.
        self._seed = seed
        self._random: _random.Random | None = None
        # the inbound SMS a MobileConnect reply renders for (ampscript.sms); read on first use
        self._sms = InboundSms.of(sms) if sms is not None else None
        self._sms_given = sms is not None
        # "email", "page" or "sms": reject what Marketing Cloud rejects there (ampscript.contexts); None: permissive
        self.kind = check_kind(kind) if kind is not None else None
        self._rendering = False  # a top-level render is running
        # What the running render must close when it ends (the backend's render
        # scope); made only when there is something to close, which most renders
        # (no backend, or one without a scope) never have.
        self._render_stack: ExitStack | None = None
        # What the latest top-level render recorded besides its output (see Page.render_data).
        self.render_data: dict[str, Any] = {}
        self._limits_given = limits
        self.local_time_zone = local_time_zone  # read by ampscript.functions.date_time
        self._limits: Limits | None = None

    @property
    def limits(self) -> Limits:
        """The limits renders on this context run under (see `ampscript.limits`)."""
        if self._limits is None:
            given = self._limits_given
            if isinstance(given, Limits):
                self._limits = given
            else:
                section = self.workspace.settings().get("limits", {})
                limits = Limits.from_settings(section, f"{self.workspace.path('ampc.json')}: \"limits\"")
                if given is not None:
                    limits = Limits.from_settings(given, "Context(limits=...)", base=limits)
                self._limits = limits
        return self._limits

    @property
    def random(self) -> _random.Random | None:
        """The seeded generator Random() and GUID() draw from (`seed`), made at the first draw; None without a seed."""
        if self._random is None and self._seed is not None:
            self._random = _random.Random(self._seed)
        return self._random

    @property
    def sms(self) -> InboundSms | None:
        """The inbound SMS: the one given, else the workspace's sms.json, else None."""
        if not self._sms_given:
            self._sms_given = True
            try:
                self._sms = InboundSms.of(self.workspace.inbound_sms())
            except ValueError as error:
                raise ScriptError(f"{self.workspace.path('sms.json')}: {error}") from None
        return self._sms

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

            database = str(self.state) if self.state is not None else ":memory:"
            # The limits bound how long it waits for another process writing to the state file.
            self._backend = Simulator.from_workspace(self.workspace, database, limits=self.limits)
            if self._rendering:  # created by the render in progress
                self._enter_render_scope()
        return self._backend

    def capability(self, kind: type[T], function: str) -> T:
        """The provider of a capability (`ampscript.capabilities`) for `function`, or a ScriptError naming what lacks it."""
        for connection in self.connections:
            provided = connection.capability(kind)
            if provided is not None:
                return provided
        if not self._backend_given and kind is Content:
            from .content import store_for

            return store_for(self.workspace)  # type: ignore[return-value]
        backend = self.backend
        provided = backend.capability(kind)
        if provided is not None:
            return provided
        name = capability_name(kind)
        raise ScriptError(
            f"{function}() needs {name}, which {backend.name} does not provide",
            hint="run against the embedded simulator (the default), or give the context a connection that "
            f"provides {name} (Context(connections=[...]); see ampscript/capabilities.py)",
        )

    def begin_render(self) -> bool:
        """Start a render; True if it is the outermost one (which must call `end_render`)."""
        if self._rendering:
            return False
        self._rendering = True
        try:
            if self._backend is not None:
                self._enter_render_scope()
        except BaseException:
            self.end_render(None, None, None)
            raise
        return True

    def end_render(self, kind: type | None, error: BaseException | None, traceback: Any) -> None:
        """End the outermost render: close what it opened (the backend's render scope sees the error, if any)."""
        stack, self._render_stack = self._render_stack, None
        self._rendering = False
        if stack is not None:
            stack.__exit__(kind, error, traceback)

    def _enter_render_scope(self) -> None:
        scope = self._backend.render_scope()  # type: ignore[union-attr]
        if scope is not None:
            if self._render_stack is None:
                self._render_stack = ExitStack()
            self._render_stack.enter_context(scope)

    def personalization(self, name: str) -> Any:
        """The value of a personalization string in text, or None if no attribute or system string has the name."""
        value = self._known_attribute(name)
        return None if value is _NO_ATTRIBUTE else value

    def _known_attribute(self, name: str) -> Any:
        """The subscriber's attribute or the system string's value (module docstring of `attribute`), else _NO_ATTRIBUTE."""
        # The attribute of the name itself comes first whatever the name is:
        # looked up before the system strings, it is the one look-up that most
        # names (the subscriber's own attributes) need.
        value = self.subscriber.get(name, _NO_ATTRIBUTE)
        if value is not _NO_ATTRIBUTE:
            return value
        system_string = system_strings.lookup(name)
        if system_string is None:
            return _NO_ATTRIBUTE
        for alias in system_string.aliases:
            value = self.subscriber.get(alias, _NO_ATTRIBUTE)
            if value is not _NO_ATTRIBUTE:
                return value
        if system_string.default is not None:
            return system_string.default(self)
        return _NO_ATTRIBUTE

    def attribute(self, name: str, *, required: bool = True) -> Any:
        """A subscriber attribute or personalization string, by case-insensitive name.

        The subscriber's attribute wins; a personalization string (``emailaddr``,
        ``jobid``, ``xtshortdate``, see `ampscript.system_strings`) then tries its
        aliases and falls back to its local default.  Anything else missing is:

        * on a page request (a CloudPage: `request` is set), the empty string,
          for a bare name (``firstname``) and AttributeValue() alike: it is
          empty, not null (observed:
          https://sfmc.guide/engagement/ampscript/functions/empty/,
          https://sfmc.guide/engagement/ampscript/functions/isnull/,
          https://sfmc.guide/engagement/ampscript/functions/attributevalue/);
        * in an email, an error, or None when not `required` (AttributeValue())
          (choice: sfmc.guide observed pages only; the error catches a missing
          attribute in test data).
        """
        value = self._known_attribute(name)
        if value is not _NO_ATTRIBUTE:
            return value
        if self.request is not None:
            return ""
        if required:
            raise ScriptError(
                f"the subscriber has no attribute {name!r}",
                hint=f"add it to subscriber.json, or use AttributeValue({name!r}) to get an empty value",
            )
        return None
