"""PEP 691 content negotiation: the Accept header (with quality values) or ``?format=``.

The result of a negotiation depends only on the two header strings, and clients send
the same few Accept headers over and over, so results are memoised in a small table.
"""

from __future__ import annotations

from urllib.parse import unquote

TEXT_HTML = "text/html"
V1_HTML = "application/vnd.pypi.simple.v1+html"
V1_JSON = "application/vnd.pypi.simple.v1+json"
LATEST_HTML = "application/vnd.pypi.simple.latest+html"
LATEST_JSON = "application/vnd.pypi.simple.latest+json"

# What the server offers, in order of preference when the client rates them equally.
# Plain ``text/html`` first, so ``*/*`` (browsers, old clients) gets the PEP 503 page.
OFFERS: tuple[str, ...] = (TEXT_HTML, V1_HTML, V1_JSON)
# The media type each offer (or alias a client may ask for) is served as.
ALIASES: dict[str, str] = {
    TEXT_HTML: TEXT_HTML,
    V1_HTML: V1_HTML,
    V1_JSON: V1_JSON,
    LATEST_HTML: V1_HTML,
    LATEST_JSON: V1_JSON,
}
# ``?format=`` also takes the short forms a person types in a browser.
FORMAT_VALUES: dict[str, str] = {**ALIASES, "html": V1_HTML, "json": V1_JSON}

MEMO_SIZE = 512
_memo: dict[tuple[bytes, bytes], str | None] = {}


def is_json(media_type: str) -> bool:
    return media_type.endswith("+json")


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    """``[(media range, q)]``; ranges with an invalid q are dropped."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        fields = part.split(";")
        media = fields[0].strip().lower()
        if not media:
            continue
        if "/" not in media:
            if media != "*":
                continue
            media = "*/*"
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append((ALIASES.get(media, media), q))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The q of the most specific range matching ``offer`` and how specific it was (0-2)."""
    best_q, best_specificity = 0.0, -1
    kind = offer.split("/", 1)[0]
    for media, q in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_q, best_specificity = q, specificity
    return best_q, best_specificity


def choose_from_accept(accept: str) -> str | None:
    """The media type to serve for this Accept header; None when nothing acceptable fits."""
    if not accept.strip():
        return TEXT_HTML
    ranges = _parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for position, offer in enumerate(OFFERS):
        q, specificity = _quality(offer, ranges)
        if q <= 0.0:
            continue
        score = (q, specificity, -position)
        if best is None or score > best:
            best, chosen = score, offer
    return chosen


def format_param(query_string: bytes) -> str | None:
    """The ``format`` value from a query string, if there is one.

    A ``+`` stays a ``+`` (``?format=application/vnd.pypi.simple.v1+json`` as typed).
    """
    if b"format=" not in query_string:
        return None
    for pair in query_string.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if key == "format":
            return unquote(value)
    return None


def negotiate(accept: bytes, query_string: bytes) -> str | None:
    """The media type to serve, or None for 406. ``?format=`` wins over the Accept header."""
    memo_key = (accept, query_string if b"format=" in query_string else b"")
    try:
        return _memo[memo_key]
    except KeyError:
        pass
    fmt = format_param(memo_key[1])
    if fmt is not None:
        result = FORMAT_VALUES.get(fmt.strip().lower())
    else:
        result = choose_from_accept(accept.decode("latin-1"))
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    _memo[memo_key] = result
    return result
