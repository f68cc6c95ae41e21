"""Runs every golden-corpus case under tests/corpus/ (format: tests/corpus_format.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import ampc
from ampscript import AMPscriptError, Context
from ampscript.request import Request

from corpus_format import load_cases

CORPUS = Path(__file__).parent / "corpus"
CASES = [case for path in sorted(CORPUS.rglob("*.txt")) for case in load_cases(path)]


def _context(case) -> Context:
    options = dict(case.context)
    if "now" in options:
        options["now"] = dt.datetime.fromisoformat(options["now"])
    if "request" in options:
        options["request"] = Request(**options["request"])
    return Context(subscriber=case.subscriber or {}, workspace=CORPUS, **options)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_corpus_case(case):
    filename = f"{case.file.stem}.amp"
    if case.error is not None:
        with pytest.raises(AMPscriptError) as raised:
            ampc.render(case.source, filename=filename, context=_context(case))
        assert case.error.lower() in str(raised.value).lower()
    else:
        assert ampc.render(case.source, filename=filename, context=_context(case)) == case.output
