"""Run golden-corpus files that are not part of the test suite yet (cases being written).

    python tests/corpus_pending/run.py tests/corpus_pending/FILE.txt [...]

Prints PASS/FAIL per case with what ampc printed, against the same workspace
and context rules as tests/test_corpus.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

import ampc  # noqa: E402
from ampscript import AMPscriptError  # noqa: E402
from corpus_format import load_cases  # noqa: E402
from test_corpus import _context  # noqa: E402


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        for case in load_cases(Path(path)):
            try:
                actual = ampc.render(case.source, filename=f"{case.file.stem}.amp", context=_context(case))
                error = None
            except AMPscriptError as raised:
                actual, error = None, str(raised)
            except Exception as raised:  # noqa: BLE001
                actual, error = None, f"INTERNAL {type(raised).__name__}: {raised}"
            if case.error is not None:
                ok = error is not None and case.error.lower() in error.lower()
            else:
                ok = error is None and actual == case.output
            failed += not ok
            shown = repr(actual) if error is None else f"error: {error.splitlines()[0]}"
            print(f"{'PASS' if ok else 'FAIL'} {case.file.name}:{case.line} {case.title[:70]}\n     got {shown[:300]}")
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
