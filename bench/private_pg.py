"""A private, throwaway PostgreSQL server for a benchmark or a test that restarts the database.

`bench/live.py --restart-pg` must restart PostgreSQL mid-run; restarting the machine's shared
server (5432) would cut off everyone else's work, so the run gets its own: `initdb` into a
temporary folder, `pg_ctl start` on a free loopback port (its socket in that folder too), trust
auth for the `postgres` role, and `pg_ctl -m fast restart` for the fault. Run as root, the server
runs as the `postgres` OS user (PostgreSQL refuses to run as root). `stop()` shuts it down and
removes the folder.

    with PrivatePG() as pg:
        url = pg.url("undertow")   # postgresql+psycopg://postgres@127.0.0.1:PORT/undertow
        pg.restart()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PrivatePG", "pg_bin"]


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's `name` program (initdb, pg_ctl are not on PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(f"no PostgreSQL {name} found (looked in /usr/lib/postgresql/*/bin)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePG:
    """A PostgreSQL server of its own in a temporary folder, on a free port (see the module)."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="undertow-pg-"))
        self.data = self.folder / "data"
        self.port = port or _free_port()
        self.log = self.folder / "server.log"
        self.restarts = 0
        self._user = None
        if os.geteuid() == 0:  # postgres will not run as root: hand the folder to its user
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user to run "
                                   "the private server as") from None

    # -- running its programs ----------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = list(args)
        if self._user is not None:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.folder)
        if done.returncode:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout)[-2000:]}\n{tail}")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        opts = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200 -c shared_buffers=64MB")
        self._run(pg_bin("pg_ctl"), action, "-D", str(self.data), "-l", str(self.log),
                  "-o", opts, "-w", "-t", "120", *extra)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PrivatePG:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._pg_ctl("start")
        return self

    def restart(self, down_s: float = 0.0) -> float:
        """`pg_ctl -m fast restart`: every connection is cut, the server comes back; seconds.
        With `down_s`, it stays down that long first (stop, wait, start)."""
        t = time.monotonic()
        if down_s:
            self._pg_ctl("stop", "-m", "fast")
            time.sleep(down_s)
            self._pg_ctl("start")
        else:
            self._pg_ctl("restart", "-m", "fast")
        self.restarts += 1
        return time.monotonic() - t

    def stop(self, remove: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-m", "immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivatePG:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- using it ----------------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def url(self, database: str = "postgres") -> str:
        return f"{self.server_url}/{database}"

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)
