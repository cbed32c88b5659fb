"""wasm-worker's example activity plugin in Python: JSON validation and word statistics.

Build with `./build.sh` (componentize-py). The `wit_world` package imported below does not
exist on disk: componentize-py generates it from `wit/` while it builds the component.
Every method of `Documents` is a Temporal activity type named in snake_case
(`validate-document` -> `validate_document`).
"""

# componentize-py runs this module once at build time and snapshots the interpreter; there is
# no filesystem at run time, so a module first imported inside a call fails with
# ModuleNotFoundError. Import at the top everything the calls need, including what the
# standard library imports lazily: Counter.most_common(n) imports heapq on first use.
import heapq  # noqa: F401  (for Counter.most_common)
import json
import re
from collections import Counter

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.documents import DocumentReport, TextStats, WordCount
from wit_world.exports.feeds import FeedCount
from wit_world.imports import activity, outgoing_handler
from wit_world.imports.log import Level, log
from wit_world.imports.wasi_http_types import (
    ErrorCode,
    Fields,
    OutgoingRequest,
    Scheme_Http,
    Scheme_Https,
)
from wit_world.imports.streams import StreamError_Closed

# A word is a run of letters or digits, with inner apostrophes or hyphens kept
# ("don't", "well-known"); `[^\W_]` is "word character but not underscore", Unicode-aware.
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")

# Documents nested deeper than this are refused before parsing. json.loads recurses in C once
# per level, and inside WebAssembly the call stack runs out (a trap that kills the call, not a
# RecursionError Python could catch) somewhere past 1,000 levels.
MAX_DEPTH = 500
# String literals, escapes included: their brackets are text, not structure.
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
BRACKET = re.compile(r"[\[\]{}]")

# How many lines `word_stats` handles between heartbeats. Heartbeats cost a host call each
# (the host throttles what it sends to the server), so one per line would be wasteful.
LINES_PER_HEARTBEAT = 1000


class Documents(exports.Documents):
    """The exported `documents` interface; componentize-py finds it by this class name."""

    def validate_document(self, text: str, required: list[str]) -> DocumentReport:
        # Raising `Err` is how a Python export returns the `err` case of a WIT `result`:
        # the host then fails the activity with the message as a `PluginError`.
        depth = _nesting_depth(text)
        if depth > MAX_DEPTH:
            raise Err(f"document nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
        try:
            doc = json.loads(
                text,
                object_pairs_hook=_reject_duplicate_keys,
                parse_constant=_reject_constant,
            )
        except json.JSONDecodeError as e:
            raise Err(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
        # The hooks below raise plain ValueError, which json.loads lets through.
        except ValueError as e:
            raise Err(f"malformed JSON: {e}") from e

        if not isinstance(doc, dict):
            raise Err(f"expected a JSON object at the top level, found {_json_kind(doc)}")

        # A key that is present but `null` counts as missing: that is what "required" means
        # in practice for most schemas that come in as JSON.
        missing = [name for name in required if doc.get(name) is None]
        title = doc.get("title")
        report = DocumentReport(
            field_count=len(doc),
            fields=list(doc),
            missing=missing,
            title=title if isinstance(title, str) else None,
            depth=depth,
            valid=not missing,
        )
        if missing:
            log(Level.WARN, f"document is missing {', '.join(missing)}")
        else:
            log(Level.INFO, f"document is valid (top-level keys: {len(doc)})")
        return report

    def word_stats(self, text: str, top: int | None) -> TextStats:
        limit = 3 if top is None else top
        counts: Counter[str] = Counter()
        lines = text.splitlines()
        for done, line in enumerate(lines, start=1):
            # casefold, not lower: it also folds e.g. German "ß" to "ss".
            counts.update(w.casefold() for w in WORD.findall(line))
            if done % LINES_PER_HEARTBEAT == 0:
                # Progress for the server (heartbeat timeout) and for whoever describes the
                # activity; it is also the point where a cancellation request gets noticed.
                activity.heartbeat(json.dumps({"lines_done": done, "lines": len(lines)}))
                if activity.is_cancelled():
                    log(Level.INFO, f"cancelled after {done} of {len(lines)} lines")
                    raise Err(f"cancelled after {done} of {len(lines)} lines")

        # Counter remembers first-seen order and most_common ranks stably, so ties stay in
        # order of first use; max() likewise returns the first of the longest words.
        stats = TextStats(
            total=counts.total(),
            distinct=len(counts),
            top_words=[WordCount(word=w, count=n) for w, n in counts.most_common(limit)],
            longest=max(counts, key=len, default=None),
        )
        log(Level.DEBUG, f"{stats.total} words, {stats.distinct} distinct")
        return stats


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads silently keeps the last of two equal keys; for a validator that hides a bug
    # in whatever produced the document, so refuse it.
    doc: dict[str, object] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(f"duplicate key {key!r}")
        doc[key] = value
    return doc


def _reject_constant(name: str) -> object:
    # Python accepts NaN, Infinity and -Infinity, which are not JSON (RFC 8259).
    raise ValueError(f"{name} is not valid JSON")


def _nesting_depth(text: str) -> int:
    """Deepest nesting of objects and arrays in JSON text (a flat object is 1), read from the
    brackets outside string literals, so it is known before anything recurses."""
    depth = deepest = 0
    for bracket in BRACKET.findall(JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _json_kind(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case _:
            return type(value).__name__


class Feeds(exports.Feeds):
    """The exported `feeds` interface: an outbound request through `wasi:http`."""

    def count_feed_items(self, url: str) -> FeedCount:
        status, body = _http_get(url)
        if not 200 <= status < 300:
            raise Err(f"{url} answered HTTP {status}")
        try:
            feed = json.loads(body)
        except ValueError as e:
            raise Err(f"{url} is not JSON: {e}") from e
        items = feed.get("items") if isinstance(feed, dict) else None
        if not isinstance(items, list):
            raise Err(f"{url}: the feed has no `items` array")
        log(Level.INFO, f"{url}: {len(items)} items")
        return FeedCount(status=status, items=len(items), bytes=len(body))


def _http_get(url: str) -> tuple[int, bytes]:
    """GETs `url`, blocking on each step (an activity call may block); the host's error code
    (with its reason, for a refused request) becomes the `Err`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise Err(f"{url}: expected http(s)://host/path")
    authority, slash, path = rest.partition("/")
    request = OutgoingRequest(Fields())
    request.set_scheme(Scheme_Https() if scheme == "https" else Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query("/" + path if slash else "/")
    try:
        pending = outgoing_handler.handle(request, None)
    except Err as e:
        raise Err(f"{url}: {_describe(e.value)}") from e
    pending.subscribe().block()
    answer = pending.get()
    if answer is None or isinstance(answer, Err):
        raise Err(f"{url}: no response")
    result = answer.value
    if isinstance(result, Err):
        raise Err(f"{url}: {_describe(result.value)}")
    response = result.value
    status = response.status()
    body_resource = response.consume()
    stream = body_resource.stream()
    chunks = []
    while True:
        try:
            chunks.append(stream.blocking_read(64 * 1024))
        except Err as e:
            if isinstance(e.value, StreamError_Closed):
                break
            raise Err(f"{url}: reading the body failed") from e
    stream.__exit__(None, None, None)
    return status, b"".join(chunks)


def _describe(code: ErrorCode) -> str:
    """The error code as text; a refusal by the host carries its reason."""
    value = getattr(code, "value", None)
    return f"{type(code).__name__}: {value}" if value is not None else type(code).__name__
