"""One Settings object. Precedence: defaults < .env file < UNDERTOW_* environment < CLI flags.

The service's own settings are the fields below. A collector's settings are declared on its class
(`Collector.config`, a tuple of `Setting`, as 4CAT declares a datasource's settings), so a new
source adds no field to this file; `settings.x_bearer_token` reads a declared one like a field.
A declared value is parsed when first read, from the variables `load` kept (masked), so loading
the settings imports no collector (their client libraries take seconds to import): a collector's
class declares its settings when its module is imported, before it can read them, and any other
name is looked up in the registry.

Secrets are wrapped in `Secret`, whose repr and str never show the value, so a settings object
can be logged or printed without leaking a token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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


_TRUE = ("1", "true", "yes", "on")


def _number(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Setting:
    """One setting a collector declares on its class; read from UNDERTOW_<NAME>.

    `shown_default` is how people read the default where the stored one is empty ("7 days");
    `required` settings are the credentials without which `from_settings` refuses to build.
    """

    name: str
    help: str
    type: type = str  # str, int, float or bool
    default: Any = ""
    secret: bool = False
    required: bool = False
    shown_default: str = ""

    @property
    def env(self) -> str:
        return f"UNDERTOW_{self.name.upper()}"

    def empty(self) -> Any:
        """The value when the variable is not set."""
        return Secret(self.default) if self.secret else self.default

    def parse(self, raw: str) -> Any:
        """The value of `raw`; one that cannot be right is a ConfigError naming the variable."""
        if self.secret:
            return Secret(raw)
        if self.type is bool:
            return raw.strip().lower() in _TRUE
        if self.type is int:
            return _whole_number(self.env, raw)
        if self.type is float:
            return _number(self.env, raw)
        return raw


# Settings declared by the collector classes imported so far (Collector.__init_subclass__).
_KNOWN: dict[str, Setting] = {}


def declare(settings: tuple[Setting, ...]) -> None:
    """Make these settings readable as attributes of every Settings object."""
    _KNOWN.update({s.name: s for s in settings})


def _declared() -> dict[str, Setting]:
    """Every setting the registered collectors declare, by name (imported late: the collector
    modules import this one)."""
    from listener.collectors.registry import declared_settings

    return declared_settings()


def _secret(default: str = "") -> Secret:
    return field(default_factory=lambda: Secret(default), metadata={"secret": True})


@dataclass
class Settings:
    """The service's own settings (the README lists each as UNDERTOW_<NAME>), and, as attributes,
    those the collectors declare."""

    home: Path = field(default_factory=lambda: Path.home() / ".undertow")
    database_url: str = ""
    shared_data: Path = field(default_factory=lambda: REPO_ROOT.parent / "shared" / "data")
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one JSON object per line)
    metrics_address: str = ""  # `undertow listen` serves /healthz and /metrics here (HOST:PORT)
    listen_score: bool = True  # false: `listen` leaves scoring to `undertow score --follow`
    sentiment_model: str = ""
    sentiment_int8: bool = False  # int8 dynamic quantisation: about 2x faster, a little less exact
    sentiment_languages: str = ""  # codes the model may score ("en,es"), "any"; default: learnt
    dashboard_url: str = "http://localhost:8501"
    dashboard_password: Secret = _secret()
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
    # The key of author ids (`listener.id_key`): this, else the key file (default
    # UNDERTOW_HOME/id.key, generated once with mode 0600). Never in the database.
    id_key: Secret = _secret()
    id_key_file: str = ""
    compliance_countries: str = ""  # where the data is shown: X posts withheld there go
    # The collectors' declared settings read so far, by name.
    collector_values: dict[str, Any] = field(default_factory=dict)
    # The UNDERTOW_* variables no field took, masked: what declared settings are parsed from.
    unclaimed: dict[str, Secret] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Only reached when `name` is no field: a collector's declared setting, parsed once.
        if name.startswith("_") or "collector_values" not in self.__dict__:
            raise AttributeError(name)
        values = self.__dict__["collector_values"]
        if name not in values:
            setting = _KNOWN.get(name) or _declared().get(name)
            if setting is None:
                raise AttributeError(f"Settings has no setting {name!r}")
            raw = self.__dict__["unclaimed"].get(setting.env)
            values[name] = setting.parse(raw.get()) if raw else setting.empty()
        return values[name]

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
            if f.name in ("collector_values", "unclaimed"):
                continue
            raw = merged.get(f"UNDERTOW_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            if f.metadata.get("secret"):
                values[f.name] = Secret(raw)
            elif f.name in ("home", "shared_data"):
                values[f.name] = Path(raw).expanduser()
            elif f.name.endswith(("_port", "_days", "_threshold")):
                values[f.name] = _whole_number(f"UNDERTOW_{f.name.upper()}", raw)
            elif f.name in ("pseudonymise", "sentiment_int8", "listen_score"):
                values[f.name] = raw.strip().lower() in _TRUE
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
        claimed = {f"UNDERTOW_{f.name.upper()}" for f in fields(cls)}
        values["unclaimed"] = {k: Secret(v) for k, v in merged.items()
                               if k.startswith("UNDERTOW_") and k not in claimed and v}
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
        names = [f.name for f in fields(self) if f.metadata.get("secret")]
        names += [s.name for s in _declared().values() if s.secret]
        return [getattr(self, name).get() for name in names if getattr(self, name)] + [
            url.get() for url in self.alert_webhook_urls.values()]
