"""The inbound SMS (mobile-originated message) a MobileConnect render answers.

``Context(sms=InboundSms("JOIN gold plan", short_code="28455",
mobile_number="5511999998888"))`` (or ``ampc run reply.amp --sms "JOIN gold
plan" --short-code 28455 --mobile 5511999998888``) renders a script as the
reply to that message.  Its parts, as Salesforce's reference describes
them (https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-sms/mc-ampscript-reference-sms.html):

* ``Msg(0)``: the whole message;
* ``Msg(0).Verb``: the keyword;
* ``Msg(0).Nouns``: everything after the keyword;
* ``Msg(0).Noun(i)``: the i-th word after the keyword, 0 the first.

The keyword is the message's first word, in upper case, as MobileConnect's
keywords are (choice: MobileConnect answers with the keyword as it is set
up, which the simulator does not know).  When the sender's conversation has
a next keyword (CreateSmsConversation, SetSmsConversationNextKeyword), the
message goes to that keyword whatever its first word: the keyword is the
next keyword and the nouns are the whole message (choice, as MobileConnect
routes the reply to the conversation's keyword).  A position past the last
word is empty (choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InboundSms:
    text: str
    short_code: str = ""
    mobile_number: str = ""
    media_urls: tuple[str, ...] = field(default_factory=tuple)  # MMS_Content_URL(0), (1), ...

    @classmethod
    def of(cls, value: InboundSms | str | Mapping[str, Any] | None) -> InboundSms | None:
        """A message from what `Context(sms=...)` takes: one, its text, or a mapping of its fields (JSON)."""
        if value is None or isinstance(value, InboundSms):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            unknown = set(value) - {"text", "short_code", "mobile_number", "media_urls"}
            if unknown or "text" not in value:
                raise ValueError(
                    "an inbound SMS is {\"text\": ..., \"short_code\": ..., \"mobile_number\": ..., \"media_urls\": [...]}"
                    + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "; \"text\" is missing")
                )
            return cls(
                str(value["text"]), str(value.get("short_code", "")), str(value.get("mobile_number", "")),
                tuple(str(url) for url in value.get("media_urls", ())),
            )
        raise TypeError(f"Context(sms=...) takes an InboundSms, its text or a mapping, not {type(value).__name__}")


@dataclass(frozen=True)
class MessageParts:
    verb: str
    nouns: str

    def noun(self, position: int) -> str:
        words = self.nouns.split()
        return words[position] if 0 <= position < len(words) else ""


def parts(message: InboundSms, next_keyword: str | None = None) -> MessageParts:
    """The keyword and the rest, as the module docstring says; `next_keyword` from the sender's conversation."""
    text = message.text.strip()
    if next_keyword:
        return MessageParts(next_keyword.upper(), text)
    first = text.split(None, 1)
    keyword = first[0] if first else ""
    rest = first[1].strip() if len(first) > 1 else ""
    return MessageParts(keyword.upper(), rest)
