"""Who hears about a brand's alerts: email recipients, a chat webhook, and from which severity.

A brand's routing lives in its settings (`undertow brand add|edit --recipient --notify-from
--webhook`); what it leaves unset comes from the global settings (UNDERTOW_ALERT_RECIPIENTS,
UNDERTOW_ALERT_WEBHOOK_URL, email from "medium"). A brand names its webhook ("acme" means
UNDERTOW_ALERT_WEBHOOK_URL_ACME): the URL is a secret, so it is kept with the other secrets
(environment or .env), never in the database, the outbox or any output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.levels import level, named
from listener.errors import ConfigError
from listener.settings import Secret, Settings
from listener.store import Brand

__all__ = ["DEFAULT_NOTIFY_FROM", "GLOBAL_WEBHOOK", "NO_WEBHOOK", "Route", "parse_notify_from",
           "parse_webhook_name", "route", "webhook_url"]

DEFAULT_NOTIFY_FROM = named("medium").floor  # low alerts are for the dashboard
GLOBAL_WEBHOOK, NO_WEBHOOK = "default", "off"
_NAME = re.compile(r"[a-z0-9_]{1,40}")


@dataclass(frozen=True)
class Route:
    recipients: tuple[str, ...]
    notify_from: float  # the lowest severity that is emailed and posted
    webhook: str | None  # a webhook name ("default": the global one), None for no chat post
    own_recipients: bool  # the brand's own list, not the global one
    own_threshold: bool

    @property
    def notify_level(self) -> str:
        return level(self.notify_from).name


def route(brand: Brand, settings: Settings) -> Route:
    """The brand's routing, its own settings first, the global ones for the rest."""
    own = [str(r) for r in brand.settings.get("recipients") or []]
    recipients = own or [r.strip() for r in settings.alert_recipients.split(",") if r.strip()]
    threshold = brand.settings.get("notify_from")
    hook = brand.settings.get("webhook") or GLOBAL_WEBHOOK
    if hook == GLOBAL_WEBHOOK and not settings.alert_webhook_url:
        hook = None
    return Route(tuple(dict.fromkeys(recipients)),
                 DEFAULT_NOTIFY_FROM if threshold is None else float(threshold),
                 None if hook == NO_WEBHOOK else hook, bool(own), threshold is not None)


def webhook_url(name: str, settings: Settings) -> Secret:
    """The URL of a named webhook; ConfigError saying which variable to set when it is not."""
    url = (settings.alert_webhook_url if name == GLOBAL_WEBHOOK
           else settings.alert_webhook_urls.get(name, Secret("")))
    variable = webhook_variable(name)
    if not url:
        raise ConfigError(f"The webhook {name!r} has no URL: set {variable} (in the environment "
                          "or .env)")
    if not url.get().startswith(("https://", "http://")):
        raise ConfigError(f"{variable} is not an http(s) URL")  # never echo the value
    return url


def webhook_variable(name: str) -> str:
    return ("UNDERTOW_ALERT_WEBHOOK_URL" if name == GLOBAL_WEBHOOK
            else f"UNDERTOW_ALERT_WEBHOOK_URL_{name.upper()}")


def parse_webhook_name(value: str) -> str:
    """A webhook name as `brand add|edit --webhook` takes it; a URL is refused, unshown."""
    name = value.strip().lower()
    if "://" in name or "/" in name:
        raise ConfigError("--webhook takes a name, not a URL (the URL is a secret): set "
                          "UNDERTOW_ALERT_WEBHOOK_URL_<NAME> in the environment or .env and "
                          "pass --webhook NAME")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"--webhook {value!r}: use letters, digits and _ (at most 40), "
                          f"{GLOBAL_WEBHOOK!r} for UNDERTOW_ALERT_WEBHOOK_URL or {NO_WEBHOOK!r} "
                          "for none")
    return name


def parse_notify_from(value: str) -> float:
    """A threshold as `--notify-from` takes it: a level name (its floor) or a severity 0-1."""
    try:
        return named(value).floor
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"--notify-from {value!r}: give low, medium, high or a severity "
                          "between 0 and 1") from None
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"--notify-from {value!r}: a severity is between 0 and 1")
    return number
