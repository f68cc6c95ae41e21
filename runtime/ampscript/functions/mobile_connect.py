"""MobileConnect: the inbound SMS (Msg(0) and its parts), SMS conversations, and MobileConnect contacts.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-sms/mc-ampscript-reference-sms.html
and UpsertContact(),
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-contacts/mc-ampscript-reference-contacts-upsert-contact.html

The message comes from the render's context (`ampscript.sms`); the
conversations and contacts from its MobileConnect capability (the
simulator's `ampscript.backends.mobile_connect` by default).
"""

from __future__ import annotations


from ..capabilities import MobileConnect
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..sms import InboundSms, parts
from ..values import params
from ..values.case import fold
from ..function_arguments import name_value_pairs

__all__ = [
    "CreateSmsConversation", "EndSmsConversation", "MMS_Content_URL", "Msg", "SetSmsConversationNextKeyword",
    "UpsertContact",
]

# The only app CreateSmsConversation() accepts: "Any other value results in an error."
_APP = "MOBILECONNECT"


def _message(function: str) -> InboundSms:
    message = current_context().sms
    if message is None:
        raise ScriptError(
            f"{function}() reads the inbound SMS, and this render answers none",
            hint='give one: ampc run FILE --sms "JOIN gold" --short-code 28455 --mobile 5511999998888, '
            'or Context(sms=InboundSms(...))',
        )
    return message


def _mobile_connect(function: str) -> MobileConnect:
    return current_context().capability(MobileConnect, function)


def _ordinal(ordinal: int, function: str) -> None:
    if ordinal != 0:
        raise ScriptError(f"{function}() accepts only 0, the current message, got {ordinal}")


@ampscript_function("MobileConnect")
def Msg(ordinal: params.Integer, part: params.Text = "", position: params.Integer = 0) -> str:
    """The inbound message (``Msg(0)``), its keyword (``Msg(0).Verb``), what follows it (``Msg(0).Nouns``) or one word (``Msg(0).Noun(i)``).

    ampc's compiler writes ``Msg(0).Verb`` as ``Msg(0, "verb")`` and
    ``Msg(0).Noun(1)`` as ``Msg(0, "noun", 1)``; ``[MSG(0).NOUNS]`` is the
    same.  Only 0 is accepted ("The only accepted value for the parameter
    is 0").  How the keyword is found: `ampscript.sms`.
    """
    _ordinal(ordinal, "Msg")
    message = _message("Msg")
    if part == "":
        return message.text
    conversation = None
    if message.short_code and message.mobile_number:
        conversation = _mobile_connect("Msg").conversation(message.short_code, message.mobile_number)
    split = parts(message, conversation.next_keyword if conversation is not None else None)
    if part == "verb":
        return split.verb
    if part == "nouns":
        return split.nouns
    if part == "noun":
        if position < 0:
            raise ScriptError(f"Msg(0).Noun() needs a position of 0 or more, got {position}")
        return split.noun(position)
    raise ScriptError(f"Msg(0) has no part {part!r}")


@ampscript_function("MobileConnect")
def MMS_Content_URL(ordinal: params.Integer) -> str:
    """The URL of an inbound MMS message's content item, 0 the first; empty when it has none there (choice)."""
    if ordinal < 0:
        raise ScriptError(f"MMS_Content_URL() needs a position of 0 or more, got {ordinal}")
    urls = _message("MMS_Content_URL").media_urls
    return urls[ordinal] if ordinal < len(urls) else ""


def _numbers(origination_number: str, destination_number: str, function: str) -> None:
    if not origination_number.strip():
        raise ScriptError(f"{function}() needs the short or long code (originationNumber)")
    if not destination_number.strip():
        raise ScriptError(f"{function}() needs the contact's phone number (destinationNumber)", hint="pass MOBILE_NUMBER")


@ampscript_function("MobileConnect")
def CreateSmsConversation(
    origination_number: params.Text, destination_number: params.Text, next_keyword: params.Text, app: params.Text
) -> bool:
    """Begin a conversation with the contact, whose next message goes to `next_keyword`; true.

    ``CreateSmsConversation("12345", MOBILE_NUMBER, "KEYWORD", "MOBILECONNECT")``
    (Salesforce's reference).  `app` must be MOBILECONNECT: "Any other
    value results in an error."
    """
    function = "CreateSmsConversation"
    _numbers(origination_number, destination_number, function)
    if fold(app.strip()) != fold(_APP):
        raise ScriptError(f"{function}(): the app must be {_APP}, got {app!r}")
    if not next_keyword.strip():
        raise ScriptError(f"{function}() needs the keyword the conversation's next message goes to")
    _mobile_connect(function).create_conversation(origination_number, destination_number, next_keyword)
    return True


@ampscript_function("MobileConnect")
def EndSmsConversation(origination_number: params.Text, destination_number: params.Text) -> bool:
    """End the contact's conversation; true (``EndSmsConversation("12345", MOBILE_NUMBER)``)."""
    _numbers(origination_number, destination_number, "EndSmsConversation")
    _mobile_connect("EndSmsConversation").end_conversation(origination_number, destination_number)
    return True


@ampscript_function("MobileConnect")
def SetSmsConversationNextKeyword(
    origination_number: params.Text, destination_number: params.Text, keyword: params.Text
) -> bool:
    """Send the contact's next message to `keyword`; true.  "The function doesn't set the keyword immediately, but rather when the contact sends the next message.\""""
    function = "SetSmsConversationNextKeyword"
    _numbers(origination_number, destination_number, function)
    if not keyword.strip():
        raise ScriptError(f"{function}() needs the keyword the next message goes to")
    _mobile_connect(function).set_next_keyword(origination_number, destination_number, keyword)
    return True


@ampscript_function("MobileConnect")
def UpsertContact(
    channel: params.Text,
    attribute: params.Text,
    phone_number: params.Text,
    key_to_upsert: params.Text,
    value_to_upsert: params.Value,
    *more: params.Pairs,
) -> int:
    """Create or update the MobileConnect contact with this phone number; 0 on success.

    ``UpsertContact("mobile", "phone", MOBILE_NUMBER, "_ZipCode", "12342")``
    (Salesforce's reference: "The function indicates success by returning
    a value of 0").  The channel must be "mobile" and the attribute "phone",
    "the only supported value"s.
    """
    function = "UpsertContact"
    if fold(channel.strip()) != fold("mobile"):
        raise ScriptError(f'{function}(): the channel must be "mobile", the only one supported, got {channel!r}')
    if fold(attribute.strip()) != fold("phone"):
        raise ScriptError(f'{function}(): the attribute must be "phone", the only one supported, got {attribute!r}')
    if not phone_number.strip():
        raise ScriptError(f"{function}() needs the contact's phone number", hint="pass MOBILE_NUMBER")
    pairs = name_value_pairs((key_to_upsert, value_to_upsert, *more), function, 4, noun="attribute", empty_names=False)
    _mobile_connect(function).upsert_contact(phone_number, pairs)
    return 0
