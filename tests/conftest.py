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
