"""Runs every golden-corpus case under tests/corpus/ (format: tests/corpus_format.py).

Every case runs through both emitters (`ampc.emitters`): the fast one that
`ampc.render` uses, and the readable one ``ampc compile`` writes (here
without black, which changes layout only: tests/test_codegen.py checks it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import ampc
from ampscript import AMPscriptError, Context
from ampscript.request import Request
from ampc.compiler import attach_source
from ampc.errors import SourceFile

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


def _render_readable(source: str, filename: str, context: Context) -> str:
    """What a module written by ``ampc compile`` renders, errors located as its comments say."""
    module = ampc.load_module(ampc.compile_source(source, filename, readable=False), filename)
    try:
        return module.render(context)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise


def _render_fast(source: str, filename: str, context: Context) -> str:
    return ampc.render(source, filename=filename, context=context)


EMITTERS = {"fast": _render_fast, "readable": _render_readable}


@pytest.mark.parametrize("emitter", EMITTERS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_corpus_case(case, emitter):
    filename = f"{case.file.stem}.amp"
    render = EMITTERS[emitter]
    if case.error is not None:
        with pytest.raises(AMPscriptError) as raised:
            render(case.source, filename, _context(case))
        assert case.error.lower() in str(raised.value).lower()
    else:
        assert render(case.source, filename, _context(case)) == case.output


@pytest.mark.parametrize("case", [case for case in CASES if case.error is not None][::7], ids=lambda case: case.id)
def test_both_emitters_locate_errors_alike(case):
    """An error carries the same AMPscript position whichever emitter compiled the script."""
    filename = f"{case.file.stem}.amp"
    located = []
    for render in EMITTERS.values():
        with pytest.raises(AMPscriptError) as raised:
            render(case.source, filename, _context(case))
        located.append((raised.value.filename, raised.value.line, raised.value.column, str(raised.value)))
    assert located[0] == located[1]
