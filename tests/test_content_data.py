"""What content functions record outside the message body (attachments, impression regions).

The body they print is covered by tests/corpus/content_data/.
"""

from __future__ import annotations

from pathlib import Path

import ampc
from ampscript import Context
from ampscript.functions import Field
from ampscript.functions.content_data import Attachment, message_record
from ampscript.values import Row

CORPUS = Path(__file__).parent / "corpus"


def _render(source: str) -> Context:
    context = Context(workspace=CORPUS)
    ampc.render(source, filename="record.amp", context=context)
    return context


def test_attachfile_records_the_attachment_as_its_arguments_describe_it():
    context = _render(
        '%%=AttachFile("HTTP", "https://www.example.com/catalog.pdf", "catalog.pdf", true,'
        ' "https://www.example.com/catalog.pdf", "Click here to download your catalog", 4, false)=%%'
        '%%=AttachFile("contentbuilder", "catalog-key")=%%'
    )
    assert message_record(context).attachments == [
        Attachment(
            location_type="http",
            location="https://www.example.com/catalog.pdf",
            file_name="catalog.pdf",
            view_on_web=True,
            view_on_web_location="https://www.example.com/catalog.pdf",
            view_on_web_file_name="Click here to download your catalog",
            view_on_web_days=4,
            content_disposition_attachment=False,
        ),
        Attachment("contentbuilder", "catalog-key", "", False, "", "", None, False),
    ]


def test_each_render_starts_a_new_record():
    context = Context(workspace=CORPUS)
    ampc.render('%%=AttachFile("ftp", "a.pdf")=%%%%=AttachFile("ftp", "b.pdf")=%%', context=context)
    assert [a.location for a in message_record(context).attachments] == ["a.pdf", "b.pdf"]
    ampc.render('%%=AttachFile("ftp", "c.pdf")=%%', context=context)
    assert [a.location for a in message_record(context).attachments] == ["c.pdf"]
    assert message_record(Context(workspace=CORPUS)).attachments == []


def test_impression_regions_nest_and_keep_their_first_spelling():
    context = _render(
        '%%=BeginImpressionRegion("Body")=%%%%=BeginImpressionRegion("Promo")=%%'
        '%%=BeginImpressionRegion("PROMO")=%%%%=EndImpressionRegion()=%%'
    )
    record = message_record(context)
    assert record.impression_regions == ["Body", "Promo"]
    assert record.open_regions == ["Body", "Promo"]
    assert record.active_region == "Promo"


def test_end_impression_region_true_closes_them_all():
    context = _render(
        '%%=BeginImpressionRegion("Body")=%%%%=BeginImpressionRegion("Promo")=%%%%=EndImpressionRegion(1)=%%'
    )
    record = message_record(context)
    assert record.open_regions == [] and record.active_region == ""
    assert record.impression_regions == ["Body", "Promo"]


def test_field_reads_fields_by_position_but_a_real_name_wins():
    row = Row([("Origin", "IND"), ("1", "named one"), ("Dest", "NYC")])
    assert Field(row, 3) == "NYC"
    assert Field(row, "1") == "named one"
    assert Field(row, 4, False) == "" and Field(row, 0, False) == ""


def test_message_record_starts_afresh_with_each_render():
    import ampc
    from ampscript import Context
    from ampscript.functions.content_data import message_record

    context = Context()
    ampc.render('%%[ BeginImpressionRegion("Hero") ]%%', context=context)
    assert message_record(context).impression_regions == ["Hero"]
    ampc.render("no regions here", context=context)
    assert message_record(context).impression_regions == []
