"""Benchmark gru-hf against the seed recipe, TF-IDF + logistic regression and fastText.

    python scripts/benchmark.py [--sections a,b] [--quick] [--out DIR] [--data_dir DIR]
    python scripts/benchmark.py --render      # regenerate the tables in README.md and model_card.md

The sections, settings, peers, timing and report live in scripts/benchmarks/ (start with runner.py and
settings.py); the results of record are scripts/benchmarks/results.json.
"""

import os
import sys

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
for path in (SCRIPTS_DIR, os.path.dirname(SCRIPTS_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from benchmarks.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
