"""Nothing outside the workspace can be read: every file-reading function, every trick.

Each test builds a workspace and, beside it, an "outside" folder whose files
hold a unique marker.  Every function that reads a workspace file is tried
with every way of pointing it outside (a symbolic link to a file, a link to
a folder, a chain of links, ``..``, absolute and Windows-style paths, a NUL
byte): each must stop with a ScriptError that names the file as written and
says it leads outside the workspace, and the marker must never show, in the
output or in the error.  Links that stay inside keep working, and XML
parsing reads neither files nor the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import ampc
from ampscript import Context, ScriptError, Workspace

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")

OUTSIDE_MESSAGE = "leads outside the workspace"


@dataclass
class Sandbox:
    """A workspace (``ws``) and an outside folder holding a secret marker."""

    root: Path
    marker: str = field(default_factory=lambda: f"OUTSIDE-SECRET-{uuid.uuid4().hex}")

    @property
    def ws(self) -> Path:
        return self.root / "ws"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def write(self, relative: str, text: str) -> Path:
        path = self.ws / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def secret(self, name: str, text: str) -> Path:
        """An outside file holding `text` (which carries the marker)."""
        path = self.outside / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def link(self, relative: str, target: Path) -> Path:
        """A symbolic link in the workspace, written relative (as people write them)."""
        path = self.ws / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(target, path.parent), path, target_is_directory=target.is_dir())
        return path


@pytest.fixture
def box(tmp_path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.ws.mkdir()
    sandbox.outside.mkdir()
    return sandbox


def render(source: str, workspace: Path, **options) -> str:
    return ampc.render(source, filename="page.amp", context=Context(workspace=workspace, **options))


def assert_refused(box: Sandbox, run, *names: str) -> ScriptError:
    """`run()` raises a ScriptError naming each of `names`, saying it leads outside, without the secret."""
    with pytest.raises(ScriptError) as raised:
        output = run()
        pytest.fail(f"not refused; it returned {output!r}")  # pragma: no cover
    message = str(raised.value)
    assert OUTSIDE_MESSAGE in message, message
    for name in names:
        assert name in message, message
    assert box.marker not in message
    assert "Traceback" not in message
    return raised.value


# ---- the readers --------------------------------------------------------------------------
#
# A reader is one function that reads a workspace file: the file it reads
# (`slot`, inside the workspace), what that file holds (`body`, with the
# marker outside, with "inside" when it is where it belongs), the script that
# makes it read, and what that script prints when the file is inside
# (`expect`).  `spelled`, when set, is where a user writes the file's path (an
# index or keys.json entry), for the path-spelling tricks; `base` is the
# folder such a path is relative to.


@dataclass(frozen=True)
class Reader:
    id: str
    slot: str
    body: str  # '{marker}' is replaced by the marker
    script: str
    setup: dict[str, str] = field(default_factory=dict)  # other workspace files it needs
    spelled: str | None = None  # a settings file template; '{path}' is the path as written
    base: str = ""  # the folder `spelled` paths are relative to
    walked: bool = True  # the file's folder is listed (so a linked folder is checked)
    expect: str = "inside"  # in the output when the file is inside


CONTENT_BLOCK = "Secret {marker}"
KEY_FILE = "{marker}"
SYMMETRIC_KEYS = json.dumps({"K": {"type": "symmetric", "file": "keys/secret.pem"}})
KEYS_SPELLED = '{{"K": {{"type": "symmetric", "file": {path}}}}}'
ASYMMETRIC_KEYS = json.dumps({"R": {"type": "asymmetric", "file": "keys/secret.pem"}})
ASYMMETRIC_SPELLED = '{{"R": {{"type": "asymmetric", "file": {path}}}}}'
BLOCK_INDEX = '{{"blocks": [{{"file": {path}, "key": "passwd"}}]}}'
IMAGE_INDEX = '{{"images": [{{"file": {path}, "key": "passwd"}}]}}'


def _content(id_: str, script: str) -> Reader:
    return Reader(id_, "Content/sub/passwd.txt", CONTENT_BLOCK, script, spelled=BLOCK_INDEX, base="Content")


def _image(id_: str, script: str) -> Reader:
    return Reader(
        id_,
        "Content/sub/passwd.png",
        "{marker}",
        script,
        spelled=IMAGE_INDEX,
        base="Content",
        expect='src="Content/sub/passwd.png"',
    )


def _key(
    id_: str, script: str, expect: str, keys: str = SYMMETRIC_KEYS, spelled: str = KEYS_SPELLED
) -> Reader:
    return Reader(
        id_, "keys/secret.pem", KEY_FILE, script, setup={"keys.json": keys}, spelled=spelled, expect=expect
    )


AES = '"aes", "K", @null, @null, "0011223344556677", @null, "00112233445566778899aabbccddeeff"'
RETRIEVE_QUERY_NAME = (
    '%%[ set @rr = CreateObject("RetrieveRequest") SetObjectProperty(@rr, "ObjectType", "QueryDefinition") '
    'AddObjectArrayItem(@rr, "Properties", "Name") set @rows = InvokeRetrieve(@rr, @status) ]%%'
    '%%=Field(Row(@rows, 1), "Name")=%%'
)


READERS = [
    _content("ContentBlockByName", '%%=ContentBlockByName("Content Builder\\sub\\passwd")=%%'),
    _content("ContentBlockByKey", '%%=ContentBlockByKey("passwd")=%%'),
    _content("ContentBlockByID", '%%=ContentBlockByID("passwd")=%%'),
    _content("ContentArea", '%%=ContentArea("passwd")=%%'),
    _content("ContentAreaByName", '%%=ContentAreaByName("My Contents\\sub\\passwd")=%%'),
    _content("TreatAsContent", "%%=TreatAsContent('%%=ContentBlockByKey(\"passwd\")=%%')=%%"),
    _content(
        "TreatAsContentArea", "%%=TreatAsContentArea('k', '%%=ContentBlockByName(\"sub/passwd\")=%%')=%%"
    ),
    Reader(
        "ContentBlockByName-top", "Content/passwd.amp", CONTENT_BLOCK, '%%=ContentBlockByName("passwd")=%%'
    ),
    _image("ContentImageByKey", '%%=ContentImageByKey("passwd")=%%'),
    _image("ContentImageByID", '%%=ContentImageByID("passwd")=%%'),
    _image("Image", '%%=Image("passwd")=%%'),
    Reader(
        "Content/index.json",
        "Content/index.json",
        '{{"images": [{{"key": "x", "src": "{marker}"}}]}}',
        '%%=ContentImageByKey("x")=%%',
        walked=False,
        expect='src="inside"',
    ),
    Reader("GetPortfolioItem", "Portfolio/passwd.txt", "{marker}", '%%=GetPortfolioItem("passwd")=%%'),
    _key("EncryptSymmetric", f"%%=Length(EncryptSymmetric('x', {AES})) == 24=%%", "True"),
    _key("DecryptSymmetric", f"%%=DecryptSymmetric(EncryptSymmetric('plain', {AES}), {AES})=%%", "plain"),
    _key("GetJWTByKeyName", '%%=GetJWTByKeyName("K", "HS256", "{}")=%%', "."),
    _key(
        "GetJWTByKeyName-RSA",
        '%%=GetJWTByKeyName("R", "RS256", "{}")=%%',
        ".",
        keys=ASYMMETRIC_KEYS,
        spelled=ASYMMETRIC_SPELLED,
    ),
    Reader(
        "keys.json",
        "keys.json",
        '{{"K": {{"type": "symmetric", "value": "{marker}"}}}}',
        '%%=GetJWTByKeyName("K", "HS256", "{}")=%%',
        walked=False,
        expect=".",
    ),
    Reader(
        "DataExtensions/*.csv",
        "DataExtensions/Leak.csv",
        "Name\n{marker}\n",
        '%%=Lookup("Leak", "Name", "Name", "inside")=%%',
    ),
    Reader(
        "DataExtensions/*.schema.json",
        "DataExtensions/Leak.schema.json",
        '{{"customerKey": "{marker}", "fields": [{{"name": "Name"}}]}}',
        '%%=DataExtensionRowCount("Leak")=%%',
        setup={"DataExtensions/Leak.csv": "Name\nAna\n"},
        expect="1",
    ),
    Reader(
        "objects/*.json",
        "objects/QueryDefinition.json",
        '[{{"Name": "{marker}", "CustomerKey": "q"}}]',
        RETRIEVE_QUERY_NAME,
    ),
    Reader(
        "subscriber.json",
        "subscriber.json",
        '{{"FirstName": "{marker}"}}',
        '%%=AttributeValue("FirstName")=%%',
        walked=False,
    ),
    Reader(
        "ampc.json",
        "ampc.json",
        '{{"site": {{"url": "https://{marker}.example"}}}}',
        "hello",
        walked=False,
        expect="hello",
    ),
]


def _prepare(box: Sandbox, reader: Reader) -> None:
    for relative, text in reader.setup.items():
        box.write(relative, text)


def _secret_body(box: Sandbox, reader: Reader) -> str:
    return reader.body.format(marker=box.marker)


def _run(box: Sandbox, reader: Reader):
    return lambda: render(
        reader.script, box.ws, **({} if reader.id == "subscriber.json" else {"subscriber": {}})
    )


def _trick_file_link(box: Sandbox, reader: Reader) -> list[str]:
    target = box.secret("secret" + Path(reader.slot).suffix, _secret_body(box, reader))
    box.link(reader.slot, target)
    return [reader.slot]


def _trick_folder_link(box: Sandbox, reader: Reader) -> list[str]:
    folder = str(Path(reader.slot).parent.as_posix())
    box.secret(f"folder/{Path(reader.slot).name}", _secret_body(box, reader))
    for relative in reader.setup:  # a file the reader needs beside the slot moves out with the folder
        if relative.startswith(folder + "/"):
            (box.ws / relative).unlink()
            box.secret(f"folder/{Path(relative).name}", reader.setup[relative])
    if (box.ws / folder).is_dir():
        (box.ws / folder).rmdir()
    box.link(folder, box.outside / "folder")
    return [folder]


def _trick_chain(box: Sandbox, reader: Reader) -> list[str]:
    target = box.secret("secret" + Path(reader.slot).suffix, _secret_body(box, reader))
    second = box.link("links/second" + Path(reader.slot).suffix, target)
    first = box.link("links/first" + Path(reader.slot).suffix, second)
    box.link(reader.slot, first)
    return [reader.slot]


LINK_TRICKS = {"file-link": _trick_file_link, "folder-link": _trick_folder_link, "link-chain": _trick_chain}


def _link_cases():
    for reader in READERS:
        for name, trick in LINK_TRICKS.items():
            if name == "folder-link" and (not reader.walked or "/" not in reader.slot):
                continue  # a file at the workspace root has no folder of its own
            yield pytest.param(reader, trick, id=f"{reader.id}-{name}")


@pytest.mark.parametrize("reader, trick", list(_link_cases()))
def test_links_leading_outside_are_refused(box, reader, trick):
    _prepare(box, reader)
    names = trick(box, reader)
    assert_refused(box, _run(box, reader), *names)


# Paths written in a settings file (Content/index.json, keys.json); `depth`
# is how many folders their base is below the workspace root.
def _path_tricks(box: Sandbox, depth: int) -> dict[str, str]:
    up = "../" * (depth + 1)
    return {
        "dotdot": f"{up}outside/secret.txt",
        "dotdot-inside-then-out": f"sub/../{up}outside/secret.txt",
        "absolute": str(box.outside / "secret.txt"),
        "windows-drive": "C:\\outside\\secret.txt",
        "windows-drive-slash": "C:/outside/secret.txt",
        "windows-unc": "\\\\server\\share\\secret.txt",
        "windows-unc-slash": "//server/share/secret.txt",
        "windows-dotdot": up.replace("/", "\\") + "outside\\secret.txt",
        "mixed-slashes": "sub\\..\\" + up.replace("/", "\\")[:-1] + "/outside/secret.txt",
        "nul-byte": "secret.txt\x00.amp",
    }


PATH_TRICK_NAMES = list(_path_tricks(Sandbox(Path("/x")), 0))


def _spelled_cases():
    for reader in READERS:
        if reader.spelled is None:
            continue
        for name in PATH_TRICK_NAMES:
            yield pytest.param(reader, name, id=f"{reader.id}-{name}")


@pytest.mark.parametrize("reader, trick", list(_spelled_cases()))
def test_paths_written_to_leave_the_workspace_are_refused(box, reader, trick):
    _prepare(box, reader)
    box.secret("secret.txt", _secret_body(box, reader))
    depth = len(Path(reader.base).parts)
    written = _path_tricks(box, depth)[trick]
    settings = reader.spelled.format(path=json.dumps(written))
    settings_file = "Content/index.json" if reader.base == "Content" else "keys.json"
    box.write(settings_file, settings)
    shown = written.replace("\x00", "\\x00")  # how the message shows a NUL
    error = assert_refused(box, _run(box, reader), shown)
    assert settings_file.rsplit("/", 1)[-1] in str(error)


@pytest.mark.parametrize("reader", READERS, ids=[reader.id for reader in READERS])
def test_every_reader_works_when_its_file_is_inside(box, reader):
    """The readers above, with their file where it belongs, read it (so the refusals above are real)."""
    _prepare(box, reader)
    body = reader.body.format(marker="inside")
    if reader.id == "GetJWTByKeyName-RSA":
        body = _rsa_private_key_pem()
    box.write(reader.slot, body)
    assert reader.expect in _run(box, reader)()


def _rsa_private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def test_names_are_not_paths(box):
    """Content names and Portfolio keys are looked up, never joined to a path."""
    box.secret("secret.txt", box.marker)
    box.write("Content/Footer.amp", "footer")
    box.write("Portfolio/Note.txt", "note")
    for script in [
        '%%=ContentBlockByName("../../outside/secret")=%%',
        '%%=ContentBlockByKey("../../outside/secret.txt")=%%',
        f'%%=ContentBlockByName("{box.outside / "secret"}")=%%',
        '%%=GetPortfolioItem("../outside/secret")=%%',
        '%%=ContentImageByKey("../outside/secret")=%%',
    ]:
        with pytest.raises(ScriptError) as raised:
            render(script, box.ws)
        assert "no " in str(raised.value) and box.marker not in str(raised.value)


def test_attach_file_reads_nothing(box):
    secret = box.secret("secret.txt", box.marker)
    box.link("Portfolio/passwd.txt", secret)
    assert (
        render(
            f'%%=AttachFile("portfolio", "{secret}")=%%%%=AttachFile("contentbuilder", "passwd")=%%', box.ws
        )
        == ""
    )


def test_the_content_folder_itself_linked_outside_is_refused(box):
    box.secret("folder/passwd.amp", box.marker)
    box.link("Content", box.outside / "folder")
    assert_refused(box, lambda: render('%%=ContentBlockByName("passwd")=%%', box.ws), "'Content'")


def test_a_nested_folder_link_leading_outside_is_refused(box):
    """A link deep inside, and a link to a folder that holds the link out."""
    box.secret("folder/passwd.amp", box.marker)
    box.write("Content/Emails/Footer.amp", "footer")
    (box.ws / "elsewhere").mkdir()
    box.link("elsewhere/out", box.outside / "folder")
    box.link("Content/Emails/deep/shared", box.ws / "elsewhere")
    assert_refused(
        box,
        lambda: render('%%=ContentBlockByName("Emails/Footer")=%%', box.ws),
        "'Content/Emails/deep/shared/out'",
    )


def test_dotdot_through_a_link_goes_where_the_os_would(box):
    """``link/../x``: the link is followed first, so the '..' leaves the workspace."""
    box.secret("folder/inner/x", "x")
    box.secret("folder/secret.txt", box.marker)
    box.link("inner", box.outside / "folder" / "inner")
    workspace = Workspace(box.ws)
    assert_refused(box, lambda: workspace.read_text("inner/../secret.txt"), "'inner/../secret.txt'")


# ---- the Workspace API itself ------------------------------------------------------------------

WORKSPACE_METHODS = {
    "path": lambda workspace, name: workspace.path(name),
    "read_text": lambda workspace, name: workspace.read_text(name),
    "read_bytes": lambda workspace, name: workspace.read_bytes(name),
    "read_json": lambda workspace, name: workspace.read_json(name),
    "is_file": lambda workspace, name: workspace.is_file(name),
    "is_dir": lambda workspace, name: workspace.is_dir(name),
    "files": lambda workspace, name: workspace.files(name),
}


@pytest.mark.parametrize("method", WORKSPACE_METHODS)
@pytest.mark.parametrize("trick", PATH_TRICK_NAMES + ["file-link", "folder-link", "link-chain"])
def test_the_workspace_resolver_refuses_every_trick(box, method, trick):
    secret = box.secret("secret.txt", json.dumps(box.marker))
    box.secret("folder/secret.txt", json.dumps(box.marker))
    if trick == "file-link":
        box.link("data/secret.txt", secret)
        name = "data/secret.txt"
    elif trick == "folder-link":
        box.link("data", box.outside / "folder")
        name = "data/secret.txt" if method != "files" else "data"
    elif trick == "link-chain":
        box.link("links/b", secret)
        box.link("links/a", box.ws / "links" / "b")
        box.link("data/secret.txt", box.ws / "links" / "a")
        name = "data/secret.txt"
    else:
        name = _path_tricks(box, 0)[trick]
    if method == "files" and trick in ("file-link", "link-chain"):
        name = "data"  # the walk meets the link
        expected = "data/secret.txt"
    else:
        expected = name.replace("\x00", "\\x00")
    assert_refused(box, lambda: WORKSPACE_METHODS[method](Workspace(box.ws), name), expected)


def test_the_workspace_root_may_itself_be_reached_through_a_link(box):
    box.write("Content/Footer.amp", "footer")
    os.symlink(box.ws, box.root / "alias")
    assert render('%%=ContentBlockByName("Footer")=%%', box.root / "alias") == "footer"


def test_fifos_and_folders_are_not_read(box):
    workspace = Workspace(box.ws)
    (box.ws / "folder.txt").mkdir()
    with pytest.raises(ScriptError, match="is a folder"):
        workspace.read_text("folder.txt")
    if hasattr(os, "mkfifo"):
        os.mkfifo(box.ws / "pipe.txt")
        started = time.monotonic()
        with pytest.raises(ScriptError, match="not a regular file"):
            workspace.read_text("pipe.txt")
        assert time.monotonic() - started < 5
    with pytest.raises(ScriptError, match="no file 'missing.txt' in the workspace"):
        workspace.read_text("missing.txt")


# ---- links that stay inside keep working ----------------------------------------------------------


def test_links_inside_the_workspace_keep_working(box):
    box.write("Content/Emails/Footer.amp", "footer")
    box.write("shared/Banner.amp", "banner")
    box.write("shared/logo.png", "png")
    box.link("Content/Alias.amp", box.ws / "Content" / "Emails" / "Footer.amp")
    box.link("Content/Shared", box.ws / "shared")  # a folder link to elsewhere in the workspace
    box.link("links/hop.amp", box.ws / "Content" / "Emails" / "Footer.amp")
    box.link("Content/Chained.amp", box.ws / "links" / "hop.amp")
    box.link("Content/Loop", box.ws / "Content")  # a cycle: walked once
    box.write("data/real.csv", "Name\nAna\n")
    box.link("DataExtensions/People.csv", box.ws / "data" / "real.csv")
    box.write("data/note.txt", "note")
    box.link("Portfolio/Note.txt", box.ws / "data" / "note.txt")
    box.write("secrets/key.txt", "a-long-signing-secret")
    box.link("keys/signing.txt", box.ws / "secrets" / "key.txt")
    box.write("keys.json", json.dumps({"K": {"type": "symmetric", "file": "keys/signing.txt"}}))
    script = (
        '%%=ContentBlockByName("Alias")=%%|%%=ContentBlockByName("Shared/Banner")=%%|'
        '%%=ContentBlockByName("Chained")=%%|%%=ContentImageByKey("logo")=%%|'
        '%%=Lookup("People", "Name", "Name", "Ana")=%%|%%=GetPortfolioItem("Note")=%%|'
        '%%=GetJWTByKeyName("K", "HS256", "{}")=%%'
    )
    output = render(script, box.ws, subscriber={}).split("|")
    assert output[:3] == ["footer", "banner", "footer"]
    assert 'src="Content/Shared/logo.png"' in output[3]
    assert output[4:6] == ["Ana", "note"]
    assert output[6].count(".") == 2  # a signed JWT


def test_a_cycle_of_folder_links_ends(box):
    box.write("Content/a/Footer.amp", "footer")
    box.link("Content/a/b/up", box.ws / "Content")
    box.link("Content/a/self", box.ws / "Content" / "a")
    assert render('%%=ContentBlockByName("a/Footer")=%%', box.ws) == "footer"


def test_a_loop_of_file_links_is_a_clear_error(box):
    box.link("Content/a.amp", box.ws / "Content" / "b.amp")
    box.link("Content/b.amp", box.ws / "Content" / "a.amp")
    box.write("keys.json", json.dumps({"K": {"type": "symmetric", "file": "Content/a.amp"}}))
    with pytest.raises(ScriptError) as raised:
        render('%%=GetJWTByKeyName("K", "HS256", "{}")=%%', box.ws)
    assert "Content/a.amp" in str(raised.value)


# ---- keys.json naming a missing file --------------------------------------------------------------


def test_a_key_file_that_does_not_exist_names_keys_json_the_key_and_the_file(box):
    box.write("keys.json", json.dumps({"JwtRsaKey": {"type": "asymmetric", "file": "keys/jwt-private.pem"}}))
    with pytest.raises(ScriptError) as raised:
        render('%%=GetJWTByKeyName("JwtRsaKey", "RS256", "{}")=%%', box.ws)
    message = str(raised.value)
    assert "keys.json" in message and "'JwtRsaKey'" in message and "'keys/jwt-private.pem'" in message
    assert "does not exist" in message
    assert "FileNotFoundError" not in message and "Errno" not in message


def test_a_key_file_that_is_a_folder_is_a_clear_error(box):
    (box.ws / "keys").mkdir()
    box.write("keys.json", json.dumps({"K": {"type": "symmetric", "file": "keys"}}))
    with pytest.raises(ScriptError, match="keys.json: key 'K': the key's file 'keys' is a folder"):
        render('%%=GetJWTByKeyName("K", "HS256", "{}")=%%', box.ws)


# ---- the command line: an error, not a traceback ------------------------------------------------------


def test_ampc_run_reports_a_refusal_without_a_traceback(box):
    box.link("Content/passwd.txt", box.secret("secret.txt", box.marker))
    (box.ws / "page.amp").write_text('%%=ContentBlockByName("passwd")=%%', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", "page.amp"],
        capture_output=True,
        text=True,
        cwd=box.ws,
        timeout=120,
    )
    assert result.returncode != 0
    assert OUTSIDE_MESSAGE in result.stderr and "'Content/passwd.txt'" in result.stderr
    assert "Traceback" not in result.stderr
    assert box.marker not in result.stdout + result.stderr


# ---- ampc serve --------------------------------------------------------------------------------------


@pytest.fixture
def serve(box):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from ampc.server import create_app

    def client() -> TestClient:
        return TestClient(create_app(box.ws))

    return client


@pytest.mark.parametrize(
    "trick", ["file-link", "folder-link", "link-chain", "pages-dotdot", "pages-absolute"]
)
def test_ampc_serve_refuses_pages_leading_outside(box, serve, trick):
    secret = box.secret("secret.amp", box.marker)
    box.secret("folder/secret.amp", box.marker)
    url = "/secret"
    if trick == "file-link":
        box.link("secret.amp", secret)
    elif trick == "folder-link":
        box.link("pages", box.outside / "folder")
        url = "/pages/secret"
    elif trick == "link-chain":
        box.link("links/hop.amp", secret)
        box.link("secret.amp", box.ws / "links" / "hop.amp")
    else:
        target = "../outside/secret.amp" if trick == "pages-dotdot" else str(secret)
        box.write("ampc.json", json.dumps({"pages": {"314": target}}))
        url = "/314"
    response = serve().get(url)
    assert response.status_code == 403
    assert box.marker not in response.text


def test_ampc_serve_follows_links_that_stay_inside(box, serve):
    box.write("real/page.amp", "inside page")
    box.link("alias.amp", box.ws / "real" / "page.amp")
    response = serve().get("/alias")
    assert response.status_code == 200 and response.text == "inside page"


# ---- XML: no files, no network, bounded entities ------------------------------------------------------


def _xml_outside(box: Sandbox) -> Path:
    # Not well-formed, so a parser that did load it would fail with another error.
    return box.secret("secret.txt", f"{box.marker} <& not XML")


def xml_rows(workspace: Path, xml: str, xpath: str = "/r") -> str:
    source = f"%%[ set @rows = BuildRowSetFromXml('{xml}', '{xpath}') ]%%%%=Field(Row(@rows, 1), 'Value')=%%"
    return render(source, workspace, subscriber={})


def transform(workspace: Path, xml: str, xsl: str) -> str:
    return render(f"%%=TransformXML('{xml}', '{xsl}')=%%", workspace, subscriber={})


def _external_entity_documents(box: Sandbox) -> dict[str, str]:
    url = _xml_outside(box).as_uri()
    (box.outside / "secret.dtd").write_text(f'<!ENTITY leak SYSTEM "{url}">', encoding="utf-8")
    dtd = (box.outside / "secret.dtd").as_uri()
    return {
        "system-entity": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>&x;</r>',
        "relative-entity": '<!DOCTYPE r [<!ENTITY x SYSTEM "outside/secret.txt">]><r>&x;</r>',
        "public-entity": f'<!DOCTYPE r [<!ENTITY x PUBLIC "-//x//EN" "{url}">]><r>&x;</r>',
        "network-entity": '<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]><r>&x;</r>',
        "parameter-entity": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{dtd}"> %p;]><r>&leak;</r>',
        "unused-entity": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>plain</r>',
    }


@pytest.mark.parametrize(
    "case",
    [
        "system-entity",
        "relative-entity",
        "public-entity",
        "network-entity",
        "parameter-entity",
        "unused-entity",
    ],
)
@pytest.mark.parametrize("where", ["BuildRowSetFromXml", "TransformXML-xml", "TransformXML-xsl"])
def test_external_entities_are_refused(box, case, where):
    document = _external_entity_documents(box)[case]
    identity = (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><xsl:copy-of select="."/></xsl:template></xsl:stylesheet>'
    )
    if where == "BuildRowSetFromXml":
        run = lambda: xml_rows(box.ws, document)  # noqa: E731
    elif where == "TransformXML-xml":
        run = lambda: transform(box.ws, document, identity)  # noqa: E731
    else:
        doctype, _, _ = document.partition("<r>")
        stylesheet = doctype.replace("DOCTYPE r", "DOCTYPE xsl:stylesheet") + identity
        run = lambda: transform(box.ws, "<r/>", stylesheet)  # noqa: E731
    with pytest.raises(ScriptError) as raised:
        run()
    message = str(raised.value)
    assert "declares the external entity" in message, message
    assert box.marker not in message


def test_an_external_dtd_is_not_loaded(box):
    url = _xml_outside(box).as_uri()
    (box.outside / "secret.dtd").write_text(
        f'<!ENTITY leak SYSTEM "{url}"><!ENTITY name "{box.marker}">', encoding="utf-8"
    )
    document = f'<!DOCTYPE r SYSTEM "{(box.outside / "secret.dtd").as_uri()}"><r>a&name;b&leak;</r>'
    try:
        output = xml_rows(box.ws, document)
    except ScriptError as error:
        output = str(error)
    assert box.marker not in output


def test_internal_entities_are_expanded(tmp_path):
    assert xml_rows(tmp_path, '<!DOCTYPE r [<!ENTITY who "Ana">]><r>Hi &who;</r>') == "Hi Ana"


BILLION_LAUGHS = (
    '<!DOCTYPE r [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><r>&j;</r>"
)
QUADRATIC = '<!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]><r>' + "&a;" * 20_000 + "</r>"


@pytest.mark.parametrize("document", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
@pytest.mark.parametrize("where", ["BuildRowSetFromXml", "TransformXML"])
def test_entity_expansion_is_bounded(tmp_path, document, where):
    started = time.monotonic()
    identity = (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><xsl:value-of select="string-length(.)"/></xsl:template></xsl:stylesheet>'
    )
    with pytest.raises(ScriptError, match="expand too much"):
        (
            xml_rows(tmp_path, document)
            if where == "BuildRowSetFromXml"
            else transform(tmp_path, document, identity)
        )
    assert time.monotonic() - started < 10


def _stylesheet(body: str, *, top: str = "") -> str:
    return (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        'xmlns:exsl="http://exslt.org/common" extension-element-prefixes="exsl">'
        f'{top}<xsl:output method="text"/><xsl:template match="/">{body}</xsl:template></xsl:stylesheet>'
    )


def _reading_stylesheets(box: Sandbox) -> dict[str, tuple[str, str]]:
    secret = _xml_outside(box)
    xml_file = box.secret("secret.xml", f"<s>{box.marker}</s>")
    included = box.secret(
        "included.xsl",
        _stylesheet(f'{box.marker}<xsl:value-of select="document(&apos;{xml_file.as_uri()}&apos;)"/>'),
    )

    def document(argument: str, select: str = "value-of") -> str:
        return _stylesheet(f'<xsl:{select} select="document(&apos;{argument}&apos;)"/>')

    return {
        "document-uri": (document(xml_file.as_uri()), "document()"),
        "document-path": (document(str(xml_file)), "document()"),
        "document-text": (document(secret.as_uri(), "copy-of"), "document()"),
        "document-self": (document(""), "document()"),
        "document-network": (document("http://127.0.0.1:9/x"), "document()"),
        "include": (_stylesheet("x", top=f'<xsl:include href="{included.as_uri()}"/>'), "xsl:include"),
        "import": (_stylesheet("x", top=f'<xsl:import href="{included}"/>'), "xsl:import"),
        "include-relative": (
            _stylesheet("x", top='<xsl:include href="../outside/included.xsl"/>'),
            "xsl:include",
        ),
    }


READING_STYLESHEETS = [
    "document-uri",
    "document-path",
    "document-text",
    "document-self",
    "document-network",
    "include",
    "import",
    "include-relative",
]


@pytest.mark.parametrize("case", READING_STYLESHEETS)
def test_stylesheets_cannot_read_files(box, case):
    stylesheet, mentioned = _reading_stylesheets(box)[case]
    with pytest.raises(ScriptError) as raised:
        transform(box.ws, "<r/>", stylesheet)
    message = str(raised.value)
    assert mentioned in message and "cannot read" in message, message
    assert box.marker not in message


def test_stylesheets_cannot_write_files(box):
    target = box.outside / "written.txt"
    stylesheet = _stylesheet(f'<exsl:document href="{target}" method="text">written</exsl:document>done')
    with pytest.raises(ScriptError, match="exsl:document"):
        transform(box.ws, "<r/>", stylesheet)
    assert not target.exists()


def test_a_plain_stylesheet_still_transforms(tmp_path):
    assert (
        transform(tmp_path, "<r><n>Ana</n></r>", _stylesheet('Hi <xsl:value-of select="/r/n"/>')) == "Hi Ana"
    )
