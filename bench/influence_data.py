"""Timed interaction events from the two real graphs the influence benchmarks use.

Both loaders return one frame of events ``a b ts kind`` (``a`` amplified ``b`` at unix time
``ts``; kind ``repost``, ``mention`` or ``reply``) and one of posts ``author ts`` (what each
user authored, for the "number of posts" baseline):

- Higgs (SNAP, ``higgs-activity_time.txt.gz``): ``userA userB unix_ts RT|MT|RE``. Every event is
  a post by ``userA``.
- Twitter15 (``twitter15.tar.gz``, ``tree/<source id>.txt``): each edge
  ``['parent_uid', 'parent_tweet_id', 'parent_delay_min']->['child_uid', 'tweet_id', 'delay_min']``
  is a repost (or reply: the set does not say which) of the parent by the child. Its time is the
  source tweet's time, read from the snowflake id in the file name, plus the child's delay. The
  source tweet (the ROOT line) is a post by its author; so is every child tweet. Self-loops
  (a user under their own tweet) are dropped.

``item`` is what was reposted: the cascade's source tweet on Twitter15, the amplified account on
Higgs (which has no tweet ids).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HIGGS_KINDS = {"RT": "repost", "MT": "mention", "RE": "reply"}
_TREE_FILE = re.compile(r"(?:^|/)tree/([^/]+)\.txt$")
_EDGE = re.compile(r"\['([^']*)', '([^']*)', '([^']*)'\]->\['([^']*)', '([^']*)', '([^']*)'\]")
#: Twitter's snowflake epoch (ms): ids since Nov 2010 carry their creation time in the top bits.
_SNOWFLAKE_EPOCH_MS = 1288834974657


def shared_data() -> Path:
    default = ROOT / ".." / "shared" / "data"
    return Path(os.environ.get("UNDERTOW_SHARED_DATA", default)).resolve()


def higgs_path() -> Path:
    return shared_data() / "higgs" / "higgs-activity_time.txt.gz"


def twitter15_path() -> Path:
    return shared_data() / "cascades" / "twitter15.tar.gz"


def load_higgs(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(
        path,
        sep=" ",
        header=None,
        names=["a", "b", "ts", "type"],
        dtype={"a": np.int64, "b": np.int64, "ts": np.int64, "type": str},
    )
    unknown = set(frame["type"].unique()) - set(HIGGS_KINDS)
    if unknown:
        raise SystemExit(f"{path}: unknown event types {sorted(unknown)}; expected RT, MT, RE")
    frame["kind"] = frame.pop("type").map(HIGGS_KINDS)
    # No tweet ids: the amplified account stands for the item.
    frame["item"] = frame["b"]
    posts = frame[["a", "ts"]].rename(columns={"a": "author"})
    return frame, posts


def snowflake_time(tweet_id: int) -> float:
    """Unix seconds a snowflake tweet id was created at."""
    return ((tweet_id >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000.0


def _tree_files(path: Path) -> Iterator[tuple[str, str]]:
    if path.is_file():
        with tarfile.open(path) as tar:
            for member in tar:
                m = _TREE_FILE.search(member.name)
                if m and member.isfile():
                    yield m.group(1), tar.extractfile(member).read().decode()
        return
    tree = path / "tree" if (path / "tree").is_dir() else path
    for f in sorted(tree.glob("*.txt")):
        yield f.stem, f.read_text()


def load_twitter15(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    a, b, ts, items, authors, posted = [], [], [], [], [], []
    for source_id, text in _tree_files(path):
        start = snowflake_time(int(source_id))
        for line in io.StringIO(text):
            m = _EDGE.search(line)
            if m is None:
                continue
            parent, child, delay = m.group(1), m.group(4), float(m.group(6))
            at = start + max(delay, 0.0) * 60.0
            authors.append(int(child))
            posted.append(at)
            if parent == "ROOT" or parent == child:
                continue
            a.append(int(child))
            b.append(int(parent))
            ts.append(at)
            items.append(int(source_id))
    if not a:
        raise SystemExit(f"No tree/<id>.txt edges found in {path}")
    events = pd.DataFrame(
        {"a": np.array(a, dtype=np.int64), "b": np.array(b, dtype=np.int64),
         "ts": np.array(ts, dtype=np.float64), "kind": "repost",
         "item": np.array(items, dtype=np.int64)}
    )
    posts = pd.DataFrame({"author": np.array(authors, dtype=np.int64), "ts": posted})
    return events, posts
