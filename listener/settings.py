"""One Settings object. Precedence: defaults < .env file < UNDERTOW_* environment < CLI flags.

Secrets are wrapped in `Secret`, whose repr and str never show the value, so a settings object
can be logged or printed without leaking a token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

from listener.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


class Secret:
    """A string that will not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


SMTP_SECURITY = ("starttls", "ssl", "none")


def _whole_number(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must be 0 or more")
    return value


def _secret(default: str = "") -> Secret:
    return field(default_factory=lambda: Secret(default), metadata={"secret": True})


@dataclass
class Settings:
    """Every setting Undertow reads; the README lists each as UNDERTOW_<NAME>."""

    home: Path = field(default_factory=lambda: Path.home() / ".undertow")
    database_url: str = ""
    shared_data: Path = field(default_factory=lambda: REPO_ROOT.parent / "shared" / "data")
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one JSON object per line)
    metrics_address: str = ""  # `undertow listen` serves /healthz and /metrics here (HOST:PORT)
    sentiment_model: str = ""
    sentiment_int8: bool = False  # int8 dynamic quantisation: about 2x faster, a little less exact
    dashboard_url: str = "http://localhost:8501"
    dashboard_password: Secret = _secret()
    x_bearer_token: Secret = _secret()
    reddit_client_id: str = ""
    reddit_client_secret: Secret = _secret()
    reddit_user_agent: str = "undertow/0.1 (social listening)"
    x_backfill_hours: str = ""  # how far back a brand's first X search looks (empty: 7 days)
    reddit_subreddits: str = ""  # comma-separated: limit brand searches to these
    reddit_watch: str = ""  # comma-separated: collect every new post and comment here
    bluesky_handle: str = ""  # the account Undertow searches as
    bluesky_app_password: Secret = _secret()
    bluesky_service: str = ""  # PDS address; empty means https://bsky.social
    mastodon_instances: str = ""  # comma-separated, e.g. mastodon.social, fosstodon.org
    mastodon_access_token: Secret = _secret()  # one token, or "host=TOKEN, host2=TOKEN2"
    news_feeds: str = ""  # RSS/Atom addresses, separated by commas or newlines
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: Secret = _secret()
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_from: str = "undertow@localhost"
    smtp_ca_file: str = ""  # a CA bundle for a server with a private certificate
    alert_recipients: str = ""
    # Chat webhooks (Slack-compatible): the global one, and named ones a brand can pick
    # (UNDERTOW_ALERT_WEBHOOK_URL_<NAME>). URLs are secrets: they carry the channel's token.
    alert_webhook_url: Secret = _secret()
    alert_webhook_urls: dict[str, Secret] = field(default_factory=dict)
    retention_days: int = 365  # 0 keeps posts forever
    # UNDERTOW_RETENTION_DAYS_<PLATFORM>=N overrides retention_days for one platform.
    retention_overrides: dict[str, int] = field(default_factory=dict)
    pseudonymise: bool = False
    pseudonym_threshold: int = 5000  # followers at which an account counts as public
    pseudonym_key: Secret = _secret()
    compliance_countries: str = ""  # where the data is shown: X posts withheld there go

    @property
    def db_url(self) -> str:
        """The database URL: UNDERTOW_DATABASE_URL, else a SQLite file under UNDERTOW_HOME."""
        return self.database_url or f"sqlite:///{self.home / 'undertow.db'}"

    @classmethod
    def load(cls, env: dict[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Read the settings; a value that cannot be right raises ConfigError naming it."""
        env = dict(os.environ) if env is None else env
        named = env.get("UNDERTOW_ENV_FILE")
        dotenv_path = env_file or Path(named or ".env")
        if env_file is None and named and not dotenv_path.exists():  # asked for: must be there
            raise ConfigError(f"UNDERTOW_ENV_FILE={named!r}: no such file")
        merged: dict[str, str] = {}
        if dotenv_path.is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        merged.update(env)
        values = {}
        for f in fields(cls):
            raw = merged.get(f"UNDERTOW_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            if f.metadata.get("secret"):
                values[f.name] = Secret(raw)
            elif f.name in ("home", "shared_data"):
                values[f.name] = Path(raw).expanduser()
            elif f.name.endswith(("_port", "_days", "_threshold")):
                values[f.name] = _whole_number(f"UNDERTOW_{f.name.upper()}", raw)
            elif f.name in ("pseudonymise", "sentiment_int8"):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        prefix = "UNDERTOW_RETENTION_DAYS_"
        values["retention_overrides"] = {
            k[len(prefix):].lower(): _whole_number(k, v)
            for k, v in merged.items() if k.startswith(prefix) and v
        }
        hook = "UNDERTOW_ALERT_WEBHOOK_URL_"
        values["alert_webhook_urls"] = {k[len(hook):].lower(): Secret(v)
                                        for k, v in merged.items() if k.startswith(hook) and v}
        security = values.get("smtp_security", "starttls").strip().lower()
        if security not in SMTP_SECURITY:
            # Anything unrecognised must not fall back to a plain-text login.
            raise ConfigError(f"UNDERTOW_SMTP_SECURITY={values['smtp_security']!r} is not one "
                              f"of {', '.join(SMTP_SECURITY)}")
        values["smtp_security"] = security
        log_format = values.get("log_format", "text").strip().lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"UNDERTOW_LOG_FORMAT={values['log_format']!r} is not one of "
                              "text, json")
        values["log_format"] = log_format
        return cls(**values)

    def retention_for(self, platform: str) -> int:
        return self.retention_overrides.get(platform, self.retention_days)

    def secret_values(self) -> list[str]:
        """The secret values that are set: used by tests and log filters to prove none leaks."""
        return [
            getattr(self, f.name).get()
            for f in fields(self)
            if f.metadata.get("secret") and getattr(self, f.name)
        ] + [url.get() for url in self.alert_webhook_urls.values()]
