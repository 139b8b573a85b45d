"""Which record type the detector's state should use: list, NamedTuple or dataclass(slots=True).

    python bench/detector_records.py [--n 100000] [--repeat 7]

Builds `--n` records shaped like the detector's seen-post record (7 fields) three ways and times,
best of `--repeat`: building them, reading two fields of each, and their memory (tracemalloc).
Then a page of SignalPost-shaped mentions across a process boundary (pickled, as detect's reader
process sends them): plain tuples rebuilt as a frozen dataclass (the old way), NamedTuples sent
as they are, and NamedTuples sent as plain tuples and rebuilt with `_make` (what detect does). The machine is shared: read the figures with `uptime` beside them.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import timeit
import tracemalloc
from dataclasses import dataclass
from typing import NamedTuple


class PostNT(NamedTuple):
    brand: str
    at: float
    negative: bool
    author: int
    root: str
    id: int
    themes: list


@dataclass(slots=True)
class PostDC:
    brand: str
    at: float
    negative: bool
    author: int
    root: str
    id: int
    themes: list


class SignalNT(NamedTuple):
    id: int
    brand: str
    at: float
    negative: bool
    author: int | None = None
    followers: int | None = None
    parent: int | None = None
    root: int | None = None
    themes: tuple = ()


@dataclass(frozen=True, slots=True)
class SignalDC:
    id: int
    brand: str
    at: float
    negative: bool
    author: int | None = None
    followers: int | None = None
    parent: int | None = None
    root: int | None = None
    themes: tuple = ()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n, none = args.n, []

    def best(f) -> float:  # ns per record
        return min(timeit.repeat(f, number=1, repeat=args.repeat)) * 1e9 / n

    cases = {
        "list": (lambda: [["b", float(i), True, i, "r", i, none] for i in range(n)],
                 lambda xs: [v[1] + v[3] for v in xs]),
        "NamedTuple": (lambda: [PostNT("b", float(i), True, i, "r", i, none) for i in range(n)],
                       lambda xs: [v.at + v.author for v in xs]),
        "dataclass(slots=True)": (
            lambda: [PostDC("b", float(i), True, i, "r", i, none) for i in range(n)],
            lambda xs: [v.at + v.author for v in xs]),
    }
    print(f"state record, {n:,} of them (ns per record; bytes per record)")
    for name, (build, read) in cases.items():
        gc.collect()
        tracemalloc.start()
        xs = build()
        size = tracemalloc.get_traced_memory()[0] / n
        tracemalloc.stop()
        print(f"  {name:22s} build {best(build):6.0f}  read {best(lambda xs=xs, read=read: read(xs)):5.0f}"
              f"  memory {size:5.0f}")
    rows = [(i, "Skyway", 1.7e9 + i, i % 3 == 0, i % 999, 100, i - 1 if i % 2 else None, None,
             ("Late",) if i % 3 == 0 else ()) for i in range(n)]
    old = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
    nts = [SignalNT(*r) for r in rows]
    new = pickle.dumps(nts, protocol=pickle.HIGHEST_PROTOCOL)
    print("mentions through the reader's pipe (ns per mention)")
    print(f"  tuples -> SignalPost(*f) dataclass  send {best(lambda: pickle.dumps(rows, 5)):6.0f}"
          f"  receive and build {best(lambda: [SignalDC(*f) for f in pickle.loads(old)]):6.0f}")
    print(f"  NamedTuple as sent                  send {best(lambda: pickle.dumps(nts, 5)):6.0f}"
          f"  receive {best(lambda: pickle.loads(new)):6.0f}")
    plain = pickle.dumps([tuple(p) for p in nts], protocol=pickle.HIGHEST_PROTOCOL)
    print(f"  NamedTuple sent as tuple, _make     send "
          f"{best(lambda: pickle.dumps([tuple(p) for p in nts], 5)):6.0f}  receive and build "
          f"{best(lambda: list(map(SignalNT._make, pickle.loads(plain)))):6.0f}")


if __name__ == "__main__":
    main()
