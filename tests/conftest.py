import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Test helpers (corpus_format) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

# The seeded-database cache (ampscript.backends.seeding) goes to a folder of
# this test run, not the user's cache folder; subprocesses inherit it.
if "AMPC_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="ampc-test-cache-")
    os.environ["AMPC_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)


import pytest  # noqa: E402

# Marketing Cloud's WSDL, when ../shared has it: the fake tenant then checks every envelope against it.
WSDL_PATH = Path(__file__).resolve().parents[2] / "shared" / "reference" / "etframework.wsdl"


@pytest.fixture(scope="module")
def cloud():
    """A fake Marketing Cloud tenant on 127.0.0.1 (tests/fake_marketing_cloud.py), one per test module."""
    from fake_marketing_cloud import FakeMarketingCloud, Wsdl

    server = FakeMarketingCloud(Wsdl(WSDL_PATH) if WSDL_PATH.exists() else None).start()
    yield server
    server.stop()
