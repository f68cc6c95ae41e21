"""Where a script runs (email, page, SMS) and the functions Marketing Cloud rejects there.

Marketing Cloud validates content before it renders it: a function that is
not valid where the content runs fails the whole email or page, even behind
an `if` that never runs.  `ampc check --context KIND`, `ampc run --context
KIND` and `Context(kind=KIND)` apply these rules; without a kind, nothing is
rejected (ampc's default stays permissive).

Sources, per rule:

* email: observed through the Email Preview API (sfmc.guide,
  `_data/differs_from_docs_engagement.yml`:
  #insertdata-family-not-valid-in-batch-send-context,
  #redirect-not-valid-in-sendable-email-content,
  #httprequestheader-not-valid-in-sendable-email-content, and the function
  pages for IsCHTMLBrowser, ExecuteFilter, ExecuteFilterOrderedRows,
  CreateObject, GetPublishedSocialContent and Output, whose errorcodes
  10004, 10005 and 19691 are quoted in the messages).
* page: the InsertDE family works on a live CloudPage (sfmc.guide's
  InsertDE and DeleteDE pages read the written row back), so nothing here
  is rejected on pages although the reference says "email only".
* sms: nothing has been observed; the rules follow Salesforce's reference,
  which calls the InsertDE family "email messages at send time only" and
  Redirect and HTTPRequestHeader landing-page functions.
"""

from __future__ import annotations

KINDS = ("email", "page", "sms")

_NON_BATCH = "errorcode 10005: only allowed in a non batch context"
_HTTP_CONTEXT = "only allowed in content with an HTTP context"
_NON_SENDABLE = "errorcode 10004: only allowed in non sendable content"
_EMAIL_ONLY = "the reference allows it in email messages at send time only"

# kind -> lowercase function name -> (why, hint)
_REJECTED: dict[str, dict[str, tuple[str, str | None]]] = {
    "email": {
        "insertdata": (_NON_BATCH, "in an email, use InsertDE()"),
        "updatedata": (_NON_BATCH, "in an email, use UpdateDE()"),
        "upsertdata": (_NON_BATCH, "in an email, use UpsertDE()"),
        "deletedata": (_NON_BATCH, "in an email, use DeleteDE()"),
        "redirect": (f"errorcode 10005: {_HTTP_CONTEXT}", "redirect from a CloudPage instead"),
        "httprequestheader": (f"errorcode 10004: {_HTTP_CONTEXT}", None),
        "ischtmlbrowser": (_NON_SENDABLE, None),
        "executefilter": (_NON_SENDABLE, "use LookupRows() in an email"),
        "executefilterorderedrows": (_NON_SENDABLE, "use LookupOrderedRows() in an email"),
        "createobject": (_NON_SENDABLE, "API objects work on CloudPages and in automations, not in sends"),
        "getpublishedsocialcontent": (
            "errorcode 10004: only allowed from social sharing pages or landing pages", None,
        ),
        "output": ("errorcode 19691: Output is not a recognized function in email content", "use OutputLine()"),
    },
    "page": {},
    "sms": {
        "insertde": (_EMAIL_ONLY, "in an SMS, use InsertData()"),
        "updatede": (_EMAIL_ONLY, "in an SMS, use UpdateData()"),
        "upsertde": (_EMAIL_ONLY, "in an SMS, use UpsertData()"),
        "deletede": (_EMAIL_ONLY, "in an SMS, use DeleteData()"),
        "redirect": (_HTTP_CONTEXT, None),
        "httprequestheader": (_HTTP_CONTEXT, None),
    },
}

_CONTENT = {"email": "email", "page": "CloudPage", "sms": "SMS message"}


def check_kind(kind: str | None) -> str | None:
    """The kind, lowercased, or ValueError naming the kinds there are."""
    if kind is None:
        return None
    folded = str(kind).strip().lower()
    if folded not in KINDS:
        raise ValueError(f"unknown context kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return folded


def rejection(kind: str | None, function: str) -> tuple[str, str | None] | None:
    """(message, hint) if Marketing Cloud rejects `function` in content of this kind, else None."""
    if kind is None:
        return None
    rule = _REJECTED[kind].get(function.lower())
    if rule is None:
        return None
    why, hint = rule
    return f"{function}() is not valid in {_CONTENT[kind]} content ({why}); Marketing Cloud rejects it", hint
