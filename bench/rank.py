"""`undertow rank` end to end on a real graph: import the Higgs activity file into a fresh SQLite
store, then time the ranking job (loading edges from SQLite, ranking, communities, saving).

    python bench/rank.py [--activity FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.importers import import_file  # noqa: E402
from listener.jobs.rank import rank  # noqa: E402
from listener.store import Store  # noqa: E402

DEFAULT = Path(os.environ.get("UNDERTOW_SHARED_DATA",
                              Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activity", type=Path,
                    default=DEFAULT / "higgs" / "higgs-activity_time.txt.gz")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/higgs.db")
        started = time.perf_counter()
        report = import_file(store, args.activity, "activity")
        imported = time.perf_counter() - started
        started = time.perf_counter()
        result = rank(store, echo=lambda _: None)
        ranked = time.perf_counter() - started
    out = {"events": report.interactions, "import_seconds": round(imported, 1),
           "rank_seconds": round(ranked, 1), "authors": result.authors,
           "communities": result.communities,
           "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Imported {out['events']:,} events in {out['import_seconds']} s; `undertow rank` "
              f"(load from SQLite + rank + communities + save) took {out['rank_seconds']} s for "
              f"{out['authors']:,} authors; peak {out['peak_mb']:,} MB")


if __name__ == "__main__":
    main()
