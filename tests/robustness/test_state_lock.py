"""Two processes on one --state file: the second waits for the first's write, then works or fails clearly.

The concurrency model is in `ampscript.backends.simulator`'s docstring: WAL
journal, ``BEGIN IMMEDIATE`` at a render's first write, a busy timeout of
``stateLockSeconds``, and a `LimitExceeded` naming the state file when the
wait is over, never "database is locked".
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ampc
from ampscript import Context
from ampscript.limits import LimitExceeded

# Holds the state file's write lock: BEGIN IMMEDIATE, a row written to Log,
# "locked" on stdout, then after argv[2] seconds COMMIT (argv[3] == "commit")
# or ROLLBACK.  It registers the store's collation and function because
# Log's index uses them.
_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.create_collation("AMPSCRIPT_CI", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
db.create_function("ampc_fold", 1, lambda v: v.casefold() if isinstance(v, str) else v, deterministic=True)
db.execute("BEGIN IMMEDIATE")
db.execute('INSERT INTO "Log" ("N") VALUES (\\'holder\\')')
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT" if sys.argv[3] == "commit" else "ROLLBACK")
print("released", flush=True)
"""

WRITE = '%%[ InsertData("Log", "N", "render") ]%%%%=DataExtensionRowCount("Log")=%%'


def _workspace(root: Path, lock_seconds: float) -> Path:
    (root / "DataExtensions").mkdir(parents=True)
    (root / "DataExtensions" / "Log.csv").write_text("N\n")
    (root / "ampc.json").write_text(json.dumps({"limits": {"stateLockSeconds": lock_seconds}}))
    (root / "write.amp").write_text(WRITE)
    return root


def _seeded_state(workspace: Path) -> Path:
    """A state file seeded from the workspace (and in WAL mode), as a first run leaves it."""
    state = workspace.parent / "state.db"
    Context(workspace=workspace, state=state).backend
    return state


class _Holder:
    """A separate process holding the state file's write lock."""

    def __init__(self, state: Path, seconds: float, *, commit: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(state), str(seconds), "commit" if commit else "rollback"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        assert line == "locked\n", self.process.stderr.read()
        self.locked_at = time.monotonic()

    def wait(self) -> None:
        assert self.process.stdout.readline() == "released\n"
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def holders():
    started: list[_Holder] = []

    def start(state: Path, seconds: float, **options) -> _Holder:
        started.append(_Holder(state, seconds, **options))
        return started[-1]

    yield start
    for holder in started:
        holder.stop()


def _run(script: Path, state: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script), "--state", str(state)],
        capture_output=True, text=True, timeout=timeout,
    )


def _check_clear_error(message: str, state: Path) -> None:
    assert f"the state file {state} is busy: another process is writing to it" in message
    assert "stateLockSeconds = 0.5" in message
    assert '{"limits": {"stateLockSeconds": 5}}' in message  # how to raise it
    assert "internal error" not in message and "database is locked" not in message and "Traceback" not in message


def test_ampc_run_waits_for_the_writer_then_fails_clearly(tmp_path, holders):
    workspace = _workspace(tmp_path / "ws", lock_seconds=0.5)
    state = _seeded_state(workspace)
    holders(state, 60)
    started = time.monotonic()
    run = _run(workspace / "write.amp", state)
    elapsed = time.monotonic() - started
    assert run.returncode == 1 and run.stdout == "", run.stderr
    _check_clear_error(run.stderr, state)
    assert "write.amp:1:" in run.stderr  # the line that wanted to write
    assert elapsed >= 0.5


def test_the_wait_lasts_about_the_limit(tmp_path, holders):
    workspace = _workspace(tmp_path / "ws", lock_seconds=30)
    state = _seeded_state(workspace)
    holders(state, 60)
    context = Context(workspace=workspace, state=state, limits={"stateLockSeconds": 0.5})  # wins over ampc.json
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(WRITE, context=context)
    elapsed = time.monotonic() - started
    assert raised.value.limit == "state_lock_seconds"
    _check_clear_error(raised.value.format(), state)
    assert 0.5 <= elapsed < 5


def test_a_render_that_only_reads_does_not_wait_and_sees_the_last_commit(tmp_path, holders):
    workspace = _workspace(tmp_path / "ws", lock_seconds=0.5)
    state = _seeded_state(workspace)
    holders(state, 60)  # has written a row it has not committed
    context = Context(workspace=workspace, state=state)
    assert ampc.render('%%=DataExtensionRowCount("Log")=%% %%=Lookup("Log", "N", "N", "holder")=%%', context=context) == "0 "


def test_the_second_writer_succeeds_when_the_first_finishes_within_the_limit(tmp_path, holders):
    workspace = _workspace(tmp_path / "ws", lock_seconds=30)
    state = _seeded_state(workspace)
    holder = holders(state, 2, commit=True)
    context = Context(workspace=workspace, state=state)
    assert ampc.render(WRITE, context=context) == "2"  # after the holder's committed row
    assert time.monotonic() - holder.locked_at >= 1.0  # it waited for the holder (2 s, less the test's delays)
    holder.wait()
    rows = Context(workspace=workspace, state=state).backend.data_extensions.rows("Log")
    assert sorted(row["N"] for row in rows) == ["holder", "render"]


def test_ampc_run_succeeds_when_the_writer_finishes_within_the_limit(tmp_path, holders):
    workspace = _workspace(tmp_path / "ws", lock_seconds=60)
    state = _seeded_state(workspace)
    holders(state, 2, commit=True)
    run = _run(workspace / "write.amp", state)
    assert (run.returncode, run.stdout, run.stderr) == (0, "2", "")


def test_a_long_render_holds_the_lock_and_the_other_run_fails_clearly(tmp_path):
    """The issue's case: a render writing for a long time, and a second `ampc run` on the same file."""
    workspace = _workspace(tmp_path / "ws", lock_seconds=0.5)
    state = _seeded_state(workspace)
    long = workspace / "long.amp"
    long.write_text('%%[ for @i = 1 to 1000000 do InsertData("Log", "N", @i) next @i ]%%done')
    process = subprocess.Popen(
        [sys.executable, "-m", "ampc", "run", str(long), "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:  # until the long render holds the lock
            probe = sqlite3.connect(state, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            except sqlite3.OperationalError:
                break
            finally:
                probe.close()
            time.sleep(0.05)
        assert process.poll() is None, "the long render ended before the test could start the second run"
        run = _run(workspace / "write.amp", state)
        assert run.returncode == 1, run.stdout + run.stderr
        _check_clear_error(run.stderr, state)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    # The killed render left the file whole, and without it the write goes through.
    assert _run(workspace / "write.amp", state).stdout == "1"
