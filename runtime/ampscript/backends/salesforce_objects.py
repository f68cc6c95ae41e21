"""The standard objects the org simulator knows without a schema: their usual fields and required ones.

A workspace that creates a Lead needs no ``Salesforce/Lead.schema.json``:
the org has Lead's common fields, and requires what Salesforce requires
(LastName and Company).  Lengths and types follow Salesforce's object
reference; only fields that scripts commonly use are listed, so a seed
column or a schema adds the rest.

Folded (upper-case) name -> (API name, ((field, type, required, length), ...)).
"""

from __future__ import annotations

_ADDRESS = (
    ("Street", "textarea", False, 255), ("City", "string", False, 40), ("State", "string", False, 80),
    ("PostalCode", "string", False, 20), ("Country", "string", False, 80),
)
_PERSON = (
    ("Salutation", "picklist", False, 40), ("FirstName", "string", False, 40),
    ("LastName", "string", True, 80), ("Name", "string", False, 121), ("Title", "string", False, 128),
    ("Email", "email", False, 80), ("Phone", "phone", False, 40), ("MobilePhone", "phone", False, 40),
    ("HasOptedOutOfEmail", "boolean", False, None), ("OwnerId", "reference", False, None),
    ("Description", "textarea", False, 32000),
)

STANDARD_OBJECTS: dict[str, tuple[str, tuple[tuple[str, str, bool, int | None], ...]]] = {
    "LEAD": ("Lead", (
        *_PERSON, ("Company", "string", True, 255), ("Status", "picklist", False, 40),
        ("LeadSource", "picklist", False, 40), ("Industry", "picklist", False, 40),
        ("AnnualRevenue", "currency", False, None), ("NumberOfEmployees", "int", False, None),
        ("Rating", "picklist", False, 40), ("Website", "url", False, 255), ("IsConverted", "boolean", False, None),
        *_ADDRESS,
    )),
    "CONTACT": ("Contact", (
        *_PERSON, ("AccountId", "reference", False, None), ("Department", "string", False, 80),
        ("Birthdate", "date", False, None), ("LeadSource", "picklist", False, 40),
        ("MailingStreet", "textarea", False, 255), ("MailingCity", "string", False, 40),
        ("MailingState", "string", False, 80), ("MailingPostalCode", "string", False, 20),
        ("MailingCountry", "string", False, 80),
    )),
    "ACCOUNT": ("Account", (
        ("Name", "string", True, 255), ("AccountNumber", "string", False, 40), ("Type", "picklist", False, 40),
        ("Industry", "picklist", False, 40), ("AnnualRevenue", "currency", False, None),
        ("NumberOfEmployees", "int", False, None), ("Phone", "phone", False, 40), ("Website", "url", False, 255),
        ("OwnerId", "reference", False, None), ("Description", "textarea", False, 32000),
        ("BillingStreet", "textarea", False, 255), ("BillingCity", "string", False, 40),
        ("BillingState", "string", False, 80), ("BillingPostalCode", "string", False, 20),
        ("BillingCountry", "string", False, 80),
    )),
    "OPPORTUNITY": ("Opportunity", (
        ("Name", "string", True, 120), ("StageName", "picklist", True, 255), ("CloseDate", "date", True, None),
        ("Amount", "currency", False, None), ("Probability", "percent", False, None),
        ("AccountId", "reference", False, None), ("Type", "picklist", False, 40),
        ("LeadSource", "picklist", False, 40), ("OwnerId", "reference", False, None),
        ("IsClosed", "boolean", False, None), ("IsWon", "boolean", False, None),
    )),
    "CASE": ("Case", (
        ("Subject", "string", False, 255), ("Description", "textarea", False, 32000),
        ("Status", "picklist", False, 40), ("Priority", "picklist", False, 40), ("Origin", "picklist", False, 40),
        ("Type", "picklist", False, 40), ("Reason", "picklist", False, 40), ("ContactId", "reference", False, None),
        ("AccountId", "reference", False, None), ("SuppliedEmail", "email", False, 80),
        ("SuppliedName", "string", False, 80), ("OwnerId", "reference", False, None),
        ("IsClosed", "boolean", False, None), ("CaseNumber", "string", False, 30),
    )),
    "CAMPAIGN": ("Campaign", (
        ("Name", "string", True, 80), ("Type", "picklist", False, 40), ("Status", "picklist", False, 40),
        ("StartDate", "date", False, None), ("EndDate", "date", False, None), ("IsActive", "boolean", False, None),
        ("Description", "textarea", False, 32000), ("OwnerId", "reference", False, None),
    )),
    "CAMPAIGNMEMBER": ("CampaignMember", (
        ("CampaignId", "reference", True, None), ("LeadId", "reference", False, None),
        ("ContactId", "reference", False, None), ("Status", "picklist", False, 40),
        ("HasResponded", "boolean", False, None),
    )),
    "TASK": ("Task", (
        ("Subject", "string", False, 255), ("Status", "picklist", False, 40), ("Priority", "picklist", False, 40),
        ("ActivityDate", "date", False, None), ("Description", "textarea", False, 32000),
        ("WhoId", "reference", False, None), ("WhatId", "reference", False, None),
        ("OwnerId", "reference", False, None), ("Type", "picklist", False, 40),
    )),
    "USER": ("User", (
        ("Username", "string", True, 80), ("FirstName", "string", False, 40), ("LastName", "string", True, 80),
        ("Name", "string", False, 121), ("Email", "email", True, 128), ("Alias", "string", True, 8),
        ("IsActive", "boolean", False, None), ("Title", "string", False, 80),
    )),
}
