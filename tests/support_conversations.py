"""Support conversations computed straight from IBM's JSON, to check Undertow against."""

import re
from collections import defaultdict
from datetime import datetime

_HANDLE = r"(?<![\w@])@(\w{1,15})"


def _iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _snowflake(tweet_id: str) -> float:
    return ((int(tweet_id) >> 22) + 1288834974657) / 1000


def first_response_minutes(conversations: list[dict], companies: list[str]) -> dict:
    """Straight from the JSON, one conversation at a time: company -> [minutes or None per case].

    A case is a customer's part of a thread (conversations that share their first tweet are one
    thread) for a company: the customer's turns that name the company or that it answered. A
    company turn answers a customer turn after it when only that customer and the company spoke
    in between, or when it names the customer (a reply names who it answers). The case's time
    runs from its first turn to the company's first answer to any of its turns.
    """
    owned = {c.lower(): c for c in companies}
    scope: dict[tuple, set] = defaultdict(set)
    answer: dict[tuple, float] = {}
    when: dict[str, float] = {}
    for conv in conversations:
        turns = [(t["tweet_ID"], next(v for k, v in t.items() if k.startswith(("client", "agent"))),
                  _iso(t["datetime"]), t["message"]) for t in conv["dialogContent"]]
        closing = conv["agentURL"]
        turns.append((closing["tweet_ID"], conv["dialogHeader"]["company"],
                      _snowflake(closing["tweet_ID"]), closing["url_utterance"]))
        root = turns[0][0]
        for k, (tid, who, at, text) in enumerate(turns):
            when[tid] = at
            customer = who.lower()
            if customer in owned:
                continue
            named = {h.lower() for h in re.findall(_HANDLE, text)}
            for company in companies:
                if company.lower() in named:
                    scope[(company, root, customer)].add(tid)
            between: set = set()
            for _, other, other_at, other_text in turns[k + 1:]:
                if other.lower() in owned:
                    names = {h.lower() for h in re.findall(_HANDLE, other_text)}
                    if between <= {customer, other.lower()} or customer in names:
                        company = owned[other.lower()]
                        scope[(company, root, customer)].add(tid)
                        answer[(company, tid)] = min(answer.get((company, tid), other_at), other_at)
                between.add(other.lower())
    out: dict[str, list] = defaultdict(list)
    for (company, _, _), tids in scope.items():
        opened = min(when[t] for t in tids)
        answers = [answer[(company, t)] for t in tids if (company, t) in answer]
        out[company].append((min(answers) - opened) / 60 if answers else None)
    return out


FILES = ("dev.json", "test.json")
# Several companies, with the cases that make linking hard: another company's support account
# answering first (AmazonHelp in AppleSupport threads), a company's second account answering
# before the support account does (Windows before MicrosoftHelps), customers who open a thread
# without naming the brand, and TeamYouTube threads that branch.
COMPANIES = ["AppleSupport", "AmazonHelp", "MicrosoftHelps", "Google", "TeamYouTube",
             "SouthwestAir", "RockstarSupport"]


def raw_conversations(shared_data) -> list[dict]:
    import json

    return [c for name in FILES
            for c in json.loads((shared_data / "support" / name).read_text())]


def load_support(store, shared_data, companies=COMPANIES):
    """Both files imported, one brand per company (`@Company`) with its account `x:Company`."""
    from listener.importers import import_file

    for name in FILES:
        import_file(store, shared_data / "support" / name)
    for company in companies:
        brand, _ = store.add_brand(company, f"@{company}")
        store.set_accounts(brand, [f"x:{company}"])
    return store
