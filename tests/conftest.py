import sys
from pathlib import Path

# Test helpers (corpus_format) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
