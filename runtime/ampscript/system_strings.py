"""Personalization (system) strings: ``emailaddr``, ``jobid``, ``xtshortdate``, ...

In a send, Marketing Cloud fills these from the subscriber, the job and the
send date.  A local render has no job, so each string resolves, in order, to:

1. the subscriber's attribute of that name, or of one of its aliases
   (``emailaddr`` also reads ``EmailAddress``), so a test can set any of them
   in ``subscriber.json``;
2. a local default: send-date strings from ``Context.now()``, identifiers 0,
   names, URLs and texts empty, and the render context ``_messagecontext``
   ``SEND``, or ``LANDINGPAGE`` when rendering a page request (observed:
   https://sfmc.guide/engagement/differs-from-docs/#attributevalue-cloudpage-and-empty-name).

``firstname``, ``lastname`` and ``fullname`` are profile attributes, not
system values: they read ``First Name``/``FirstName`` (and so on) and, like
any attribute, are an error in an email when the subscriber has none, and
the empty string on a page (`ampscript.context.Context.attribute`).

The names are those of Salesforce's personalization string reference (the
send-date formats are from
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/guide/mc-ampscript-guide-language-basics-personalization-strings-system.html).
Names match case-insensitively.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SystemString:
    name: str
    description: str
    default: Callable[[Context], Any] | None  # None: a profile attribute, an error when missing
    aliases: tuple[str, ...] = ()  # subscriber attributes that also supply it, in order


def _constant(value: Any) -> Callable[[Context], Any]:
    return lambda context: value


_EMPTY = _constant("")
_NO_ID = _constant(0)


def _send_date(part: str) -> Callable[[Context], str]:
    return lambda context: str(getattr(context.now(), part))


def _month(context: Context) -> str:
    return _MONTHS[context.now().month - 1]


def _weekday(context: Context) -> str:
    return _WEEKDAYS[context.now().weekday()]


def _short_date(context: Context) -> str:
    return context.now().strftime("%m/%d/%Y")


def _long_date(context: Context) -> str:
    now = context.now()
    return f"{_weekday(context)}, {_month(context)} {now.day}, {now.year}"


def _message_context(context: Context) -> str:
    # On a CloudPage: LANDINGPAGE
    # (https://sfmc.guide/engagement/differs-from-docs/#attributevalue-cloudpage-and-empty-name).
    return "LANDINGPAGE" if context.request is not None else "SEND"


def _subscriber_key(context: Context) -> Any:
    # Without the Subscriber Key business rule, the key is the email address.
    return context.attribute("emailaddr", required=False)


def _sms(part: Callable[[Any], str]) -> Callable[[Context], Any]:
    """A part of the inbound SMS the render answers (`ampscript.sms`), empty without one."""
    return lambda context: part(context.sms) if context.sms is not None else ""


_STRINGS = [
    # Subscriber
    SystemString("emailaddr", "email address", _EMPTY, ("EmailAddress", "Email Address", "Email")),
    SystemString("_subscriberkey", "subscriber or contact key", _subscriber_key, ("SubscriberKey", "Subscriber Key")),
    SystemString("subscriberid", "the subscriber's All Subscribers id", _NO_ID, ("SubscriberID",)),
    SystemString("firstname", "the subscriber's first name", None, ("First Name", "FirstName")),
    SystemString("lastname", "the subscriber's last name", None, ("Last Name", "LastName")),
    SystemString("fullname", "the subscriber's full name", None, ("Full Name", "FullName")),
    SystemString("_messagetypepreference", "HTML or Text", _constant("HTML")),
    SystemString("listsubid", "the subscriber's id in the list", _NO_ID),
    # Email and job
    SystemString("emailname_", "the email's name", _EMPTY, ("EmailName",)),
    SystemString("_emailid", "the email's id", _NO_ID, ("EmailID",)),
    SystemString("jobid", "the send job's id", _NO_ID, ("JobID",)),
    SystemString("_jobsubscriberbatchid", "the batch id within the job", _NO_ID),
    SystemString("_preheader", "the email's preheader", _EMPTY),
    SystemString("_datasourcename", "the send's data source", _EMPTY),
    SystemString("_messagecontext", "SEND, PREVIEW, VAWP, FTAF or LANDINGPAGE", _message_context),
    SystemString("_istestsend", "whether this is a test send", _constant(False)),
    SystemString("listid", "the send list's id", _NO_ID),
    SystemString("_listname", "the send list's name", _EMPTY),
    SystemString("list_", "the subscriber's list", _EMPTY),
    SystemString("replyname", "the reply-to name", _EMPTY),
    SystemString("replyemailaddress", "the reply-to address", _EMPTY),
    SystemString("_replycontent", "the text of a subscriber's reply", _EMPTY),
    SystemString("linkname", "the name of the current tracked link", _EMPTY),
    SystemString("_impressionregionid", "the current impression region's id", _NO_ID),
    SystemString("_impressionregionname", "the current impression region's name", _EMPTY),
    # Send date
    SystemString("xtmonth", "month name of the send date (August)", _month),
    SystemString("xtmonthnumeric", "month number of the send date (8)", _send_date("month")),
    SystemString("xtday", "day of month of the send date (5)", _send_date("day")),
    SystemString("xtdayofweek", "weekday of the send date (Saturday)", _weekday),
    SystemString("xtyear", "year of the send date (2023)", _send_date("year")),
    SystemString("xtshortdate", "send date, short (08/05/2023)", _short_date),
    SystemString("xtlongdate", "send date, long (Saturday, August 5, 2023)", _long_date),
    # Account (business unit)
    SystemString("memberid", "the business unit's MID", _NO_ID),
    SystemString("member_busname", "the business unit's name", _EMPTY),
    SystemString("member_addr", "the business unit's street address", _EMPTY),
    SystemString("member_city", "the business unit's city", _EMPTY),
    SystemString("member_state", "the business unit's state", _EMPTY),
    SystemString("member_postalcode", "the business unit's postal code", _EMPTY),
    SystemString("member_country", "the business unit's country", _EMPTY),
    # Links
    SystemString("view_email_url", "the View as Web Page URL", _EMPTY),
    SystemString("ftaf_url", "the Forward to a Friend URL", _EMPTY),
    SystemString("subscription_center_url", "the subscription center URL", _EMPTY),
    SystemString("profile_center_url", "the profile center URL", _EMPTY),
    SystemString("unsub_center_url", "the unsubscribe center URL", _EMPTY),
    SystemString("double_opt_in_url", "the double opt-in URL", _EMPTY),
    # CloudPages and mobile
    SystemString("pageurl", "the current CloudPages URL", _EMPTY),
    SystemString("@@execctx", "load or post, on web pages", _constant("load")),
    SystemString("mobile_number", "the inbound SMS sender's number", _sms(lambda message: message.mobile_number)),
    SystemString("short_code", "the code that received the SMS", _sms(lambda message: message.short_code)),
    SystemString("msg(0)", "the inbound SMS text", _EMPTY),
    SystemString("msg(0).verb", "the inbound SMS keyword", _EMPTY),
    SystemString("msg(0).nouns", "the inbound SMS text after the keyword", _EMPTY),
    SystemString("msg(0).noun(1)", "the inbound SMS's second word", _EMPTY),
    SystemString("mms_content_url(0)", "the first MMS attachment's URL", _EMPTY),
    SystemString("line_address_id", "the GroupConnect LINE address id", _EMPTY),
    # MobileConnect contact
    *(
        SystemString(name, f"the MobileConnect contact's {name[1:]}", _EMPTY)
        for name in (
            "_carrierid", "_channel", "_city", "_contactid", "_countrycode", "_createdby", "_createddate",
            "_firstname", "_lastname", "_mobilenumber", "_modifiedby", "_modifieddate", "_priority", "_source",
            "_sourceobjectid", "_state", "_status", "_utcoffset", "_zipcode",
        )
    ),  # fmt: skip
]

SYSTEM_STRINGS: dict[str, SystemString] = {entry.name: entry for entry in _STRINGS}


def lookup(name: str) -> SystemString | None:
    """The personalization string called `name` (any case), if it is one."""
    return SYSTEM_STRINGS.get(name.lower())
