"""A breakpoint on a line of an .amp file stops there under debugpy, VS Code's debugger (over its own protocol, DAP)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("debugpy")

SCRIPT = """%%[
set @name = "Ana"
set @tier = "gold"
]%%
<p>%%=v(@name)=%%</p>
%%[ if @tier == "gold" then ]%%
<p>Gold</p>
%%[ endif ]%%
"""


class DebugAdapter:
    """The client end of the Debug Adapter Protocol: JSON messages with a Content-Length header."""

    def __init__(self, port: int) -> None:
        for _ in range(300):
            try:
                self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("debugpy never listened")
        self.reader = self.socket.makefile("rb")
        self.sequence = 0

    def send(self, command: str, **arguments: object) -> None:
        self.sequence += 1
        body = json.dumps({"seq": self.sequence, "type": "request", "command": command, "arguments": arguments})
        self.socket.sendall(f"Content-Length: {len(body.encode())}\r\n\r\n".encode() + body.encode())

    def wait_for(self, **wanted: str) -> dict:
        for _ in range(500):
            length = 0
            while line := self.reader.readline().strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(self.reader.read(length))
            if all(message.get(key) == value for key, value in wanted.items()):
                return message
        raise AssertionError(f"no message {wanted}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_debugpy_stops_at_a_breakpoint_on_an_amp_line(tmp_path: Path) -> None:
    (tmp_path / "page.amp").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "drive.py").write_text("import ampc.importer\nimport page\nprint(page.render())\n")
    port = _free_port()
    debuggee = subprocess.Popen(
        [sys.executable, "-m", "debugpy", "--listen", f"127.0.0.1:{port}", "--wait-for-client", "drive.py"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # its adapter may keep pipes open
    )
    try:
        adapter = DebugAdapter(port)
        adapter.send("initialize", adapterID="debugpy", pathFormat="path", linesStartAt1=True, columnsStartAt1=True)
        adapter.wait_for(command="initialize")
        adapter.send("attach", justMyCode=False)
        adapter.wait_for(event="initialized")
        adapter.send("setBreakpoints", source={"path": str(tmp_path / "page.amp")}, breakpoints=[{"line": 5}])
        [breakpoint] = adapter.wait_for(command="setBreakpoints")["body"]["breakpoints"]
        assert breakpoint["verified"]
        adapter.send("configurationDone")
        stopped = adapter.wait_for(event="stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        adapter.send("stackTrace", threadId=stopped["body"]["threadId"])
        top = adapter.wait_for(command="stackTrace")["body"]["stackFrames"][0]
        # Line 5 writes the name: the render function, in the .amp file, at that line.
        assert (top["name"], top["source"]["path"], top["line"]) == ("render", str(tmp_path / "page.amp"), 5)
        adapter.send("evaluate", expression='var["@name"]', frameId=top["id"], context="repl")
        assert adapter.wait_for(command="evaluate")["body"]["result"] == "'Ana'"
        adapter.send("disconnect", terminateDebuggee=True)
    finally:
        debuggee.kill()
        debuggee.wait(timeout=30)
