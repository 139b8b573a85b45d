"""Where the key of author ids comes from; it is never written to the database, logs or output.

In order: `UNDERTOW_ID_KEY`; else the key file `UNDERTOW_ID_KEY_FILE`, by default
`UNDERTOW_HOME/id.key` (next to the default SQLite file, outside the database). When the file is
not there a random 256-bit key is generated into it once, with mode 0600: created under another
name and hard-linked into place, so two processes starting at once end up with the same key.
The file holds the key as text, so its content can be given as `UNDERTOW_ID_KEY` elsewhere
(every process writing to one PostgreSQL database needs the same key).

Losing the key does not lose data, but the store refuses to open with another one (its `meta`
keeps a fingerprint, `listener.ids.key_check`), and without it an erasure request that names a
handle can no longer be matched to ids outside the store (exports, backups).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from listener.errors import ConfigError
from listener.settings import Settings

__all__ = ["KEY_FILE", "MIN_LENGTH", "key_path", "load"]

KEY_FILE = "id.key"
MIN_LENGTH = 16  # a short key can be guessed from a public account's id

log = logging.getLogger(__name__)


def key_path(settings: Settings) -> Path:
    return (Path(settings.id_key_file).expanduser() if settings.id_key_file
            else settings.home / KEY_FILE)


def _checked(value: str, where: str) -> bytes:
    value = value.strip()
    if len(value) < MIN_LENGTH:
        raise ConfigError(f"{where} is shorter than {MIN_LENGTH} characters: a short key can be "
                          "guessed from a public account's id; use a long random one")
    return value.encode()


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)  # atomic and exclusive: a key another process made first wins
        log.info("Generated the author-id key in %s (keep it, and keep it out of database "
                 "backups: see docs/data-protection.md)", path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def load(settings: Settings | None = None) -> bytes:
    """The author-id key, generating the key file on first use."""
    s = settings if settings is not None else Settings.load()
    if s.id_key:
        return _checked(s.id_key.get(), "UNDERTOW_ID_KEY")
    path = key_path(s)
    if not path.exists():
        try:
            _generate(path)
        except OSError as exc:
            raise ConfigError(f"Cannot create the author-id key file {path}: {exc.strerror} "
                              "(set UNDERTOW_ID_KEY or UNDERTOW_ID_KEY_FILE)") from None
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the author-id key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("The author-id key file %s can be read by other users: chmod 600 it", path)
    return _checked(value, f"The author-id key file {path}")
