"""One scan: read the archive, analyse its members, apply the rules, weigh the verdict."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.protect.scan import pyast
from bastion.protect.scan.archive import Anomaly, ArchiveError, Contents, Limits, Member, Reader
from bastion.protect.scan.links import Links, find_links
from bastion.protect.scan.metadata import metadata_hints
from bastion.protect.scan.policy import Thresholds, verdict
from bastion.protect.scan.pyast import Hit
from bastion.protect.scan.report import Finding, ScanReport
from bastion.protect.scan.rules import Rule, RuleSet

FINDINGS_PER_RULE = 5
NOT_SHIPPED_CODE = re.compile(r"(?i)(^|/)(tests?|testing|docs?|examples?|benchmarks?|samples?)/")
# Directories of tooling, not of the package (a directory without __init__.py elsewhere may
# still be a package: setup.py can list it).
TOOLING_DIRS = re.compile(
    r"(?i)(^|/)(tools?|scripts?|ci|\.ci|\.github|\.circleci|devtools|bin|dev|tasks|hack|misc|cmake|"
    r"\w*build\w*|packaging|release\w*|maint\w*|third_party|depends|vendored-[^/]+)/"
)
# Members that are packaging, not the package: metadata, build configuration, documents.
BOILERPLATE = re.compile(
    r"(?i)(^|/)(PKG-INFO|setup\.(py|cfg)|pyproject\.toml|MANIFEST\.in|README[^/]*|"
    r"LICEN[CS]E[^/]*|COPYING[^/]*|NOTICE[^/]*|CHANGE[^/]*|HISTORY[^/]*|AUTHORS[^/]*|"
    r"\.git\w*|requirements[^/]*\.txt|tox\.ini|Makefile|[^/]*\.(md|rst|txt))$|\.(dist|egg)-info/"
)
PLACEHOLDER_MAX = 512  # bytes of Python: a package with less than this has no real code
NATIVE_LIBRARY = re.compile(r"(?i)\.(?:so|dll|dylib|pyd)(?:\.[\d.]+)?$")
STARTUP_NAMES = ("sitecustomize.py", "usercustomize.py")
PYTHON_SUFFIXES = (".py", ".pyw")
# Members the text patterns read: code and scripts (not READMEs, metadata or RECORD files).
CODE_SUFFIXES = (
    ".py",
    ".pyw",
    ".pth",
    ".pyx",
    ".sh",
    ".bash",
    ".bat",
    ".cmd",
    ".ps1",
    ".js",
    ".vbs",
    ".hta",
)
BACKEND_PATH = re.compile(r"""backend-path\s*=\s*\[([^\]]*)\]""")
BUILD_BACKEND = re.compile(r"""build-backend\s*=\s*['"]([\w.:]+)['"]""")
TOOLING = re.compile(
    r"(?i)^(conftest|noxfile|fabfile|tasks|dodo|setup_|build|release|make|bootstrap|update|version|tox|docs?_)"
)
# Modules (not __init__) are parsed only if they hold something worth a closer look.
WORTH_PARSING = (
    b"exec(",
    b"eval(",
    b"b64decode",
    b"marshal",
    b"decompress",
    b"fromhex",
    b"unhexlify",
    b"CryptUnprotectData",
    b"__import__",
    b"webhook",
    b"telegram",
    b"telebot",
    b"getuser",
    b"gethostname",
    b"urlopen",
    b"urlretrieve",
    b"requests.get",
    b"requests.post",
    b"os.system",
    b"startfile",
    b"Popen(",
    b"socket.socket",
)
# ... or that call the network or start programs from top-level code (no indentation).
TOP_LEVEL_CALL = re.compile(
    rb"(?m)^(?:[A-Za-z_][\w.]*\s*=\s*)?(?:requests|urllib\w*|socket|subprocess|os|httpx)\.\w+\("
)


@dataclass(frozen=True)
class Config:
    rules: RuleSet
    limits: Limits = field(default_factory=Limits)
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class _Collected:
    hits: list[tuple[str, Hit]] = field(default_factory=list)  # (path, hit)
    pattern_hits: list[tuple[Rule, str, Hit]] = field(default_factory=list)
    calls: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)  # path -> scope


def _inner(path: str) -> str:
    return path.rsplit("!", 1)[-1]


@dataclass(frozen=True)
class Layout:
    """What the archive's member names say about where code runs."""

    wheel: bool
    package_dirs: frozenset[str]
    backend_modules: frozenset[str]  # in-tree build backend files (run by pip to build)

    @classmethod
    def of(cls, contents: Contents) -> Layout:
        names = [n for n in contents.names if "!" not in n]  # the outer archive's own layout
        return cls(
            wheel=any(".dist-info/" in n for n in names),
            package_dirs=frozenset(
                n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")
            ),
            backend_modules=_backend_modules(contents.members),
        )

    def top_context(self, path: str) -> str:
        """Where a file's top-level code runs: install, import, or runtime (not by installing)."""
        inner = _inner(path)
        parts = inner.split("/")
        base = parts[-1]
        if base == "setup.py" and len(parts) <= 2:
            return "install"
        if NOT_SHIPPED_CODE.search(inner) or "!" in path:
            return "runtime"  # tests, docs, examples, archives kept as data: not run by installing
        if base in STARTUP_NAMES or base.endswith(".pth"):
            return "install"
        if "/".join(parts[1:]) in self.backend_modules:
            return "install"
        if NOT_SHIPPED_CODE.search(inner):
            return "runtime"  # tests, docs, examples are not run by installing
        if self.wheel:
            return "import"
        directory = inner.rsplit("/", 1)[0] if "/" in inner else ""
        if directory in self.package_dirs:
            return "import"
        if len(parts) == 2 or (len(parts) == 3 and parts[1] == "src"):
            # a top-level module (py_modules) unless it is tooling (noxfile.py, conftest.py ...)
            return "runtime" if TOOLING.match(base) else "import"
        return "runtime" if TOOLING_DIRS.search(inner) else "import"


def _backend_modules(members: list[Member]) -> frozenset[str]:
    """Relative paths of an in-tree build backend (``backend-path`` + ``build-backend``)."""
    for member in members:
        if _inner(member.path).count("/") <= 1 and member.path.endswith("pyproject.toml"):
            text = member.data.decode("utf-8", "replace")
            found = BACKEND_PATH.search(text)
            backend = BUILD_BACKEND.search(text)
            if found and backend:
                module = backend.group(1).split(":")[0].replace(".", "/")
                paths: set[str] = set()
                for directory in re.findall(r"""['"]([^'"]*)['"]""", found.group(1)):
                    prefix = directory.strip("./")
                    prefix = prefix + "/" if prefix else ""
                    paths.update({f"{prefix}{module}.py", f"{prefix}{module}/__init__.py"})
                return frozenset(paths)
    return frozenset()


def _excerpt(text: str, start: int) -> tuple[int, str]:
    line = text.count("\n", 0, start) + 1
    begin = text.rfind("\n", 0, start) + 1
    end = text.find("\n", start)
    snippet = text[begin : end if end != -1 else len(text)].strip()
    if len(snippet) > 160:
        offset = max(0, start - begin - 40)
        snippet = snippet[offset : offset + 160]
    return line, snippet.encode("latin-1").decode("utf-8", "replace")


def _pth_hits(member: Member, config: Config, out: _Collected) -> None:
    text = member.data.decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(("import ", "import\t")):
            out.hits.append((member.path, Hit("pth-exec", "install", number, line.strip()[:160])))
            result = pyast.analyse(line.encode(), config.rules, "install")
            analysis = result or pyast.analyse_text(line, config.rules, "install")
            for hit in analysis.hits:
                out.hits.append((member.path, Hit(hit.capability, "install", number, hit.excerpt)))


def _scan_member(
    member: Member, config: Config, layout: Layout, links: Links, out: _Collected
) -> None:
    path = member.path
    inner = _inner(path)
    base = inner.rsplit("/", 1)[-1]
    lower = base.lower()
    context = layout.top_context(path)
    whole: bool | None = None
    if path in links.install_modules and context != "install":
        context, whole = "install", False  # imported by setup.py: its top level runs then
    # functions other files call here (only names this file defines: star imports guess)
    entries = {
        name: when
        for name, when in links.functions.get(path, {}).items()
        if b"def " + name.encode() + b"(" in member.data
    }
    lines: _Lines = _Lines(context, lambda _line: context, lambda _line: "")
    if lower.endswith(PYTHON_SUFFIXES) and context != "runtime":
        if base in STARTUP_NAMES:
            out.hits.append((path, Hit("site-hook", "install", 1, base)))
        if len(member.data) > config.limits.max_parse_size:
            size = f"{len(member.data)} bytes of Python"
            out.hits.append((path, Hit("oversized-code", context, None, size)))
        if entries or whole is not None or _worth_parsing(member, base, context, config):
            result = pyast.analyse(
                member.data,
                config.rules,
                context,
                whole_install=whole,
                entries=entries,
                tree=links.trees.get(path),
            )
            if result is None:
                text = member.data.decode("utf-8", "replace")
                out.hits.append(
                    (path, Hit("unparsable", context, None, "does not parse as Python 3"))
                )
                result = pyast.analyse_text(text, config.rules, context)
            out.hits.extend((path, hit) for hit in result.hits)
            lines = _Lines(context, result.context_at, result.scope_at)
            if result.calls:
                out.calls[path] = result.calls
        else:
            lines = _Lines.lazy(member.data, context)
    elif lower.endswith(".pth"):
        _pth_hits(member, config, out)
    elif base in ("PKG-INFO", "METADATA") and inner.count("/") <= 1 and "!" not in path:
        # the distribution's own metadata, not that of archives it carries (test fixtures)
        for capability, excerpt in metadata_hints(member.data.decode("utf-8", "replace")):
            out.hits.append((path, Hit(capability, "install", 1, excerpt)))
    _pattern_hits(member, config, lines, out)


@dataclass
class _Lines:
    """Where each line of a member runs (context) and the function it is in (scope)."""

    context: str
    context_at: Callable[[int], str]
    scope_at: Callable[[int], str]

    @classmethod
    def lazy(cls, source: bytes, context: str) -> _Lines:
        """For a file not analysed: parsed only if a pattern rule needs its lines."""
        found: list[tuple[Callable[[int], str], Callable[[int], str]]] = []

        def info() -> tuple[Callable[[int], str], Callable[[int], str]]:
            if not found:
                found.append(pyast.line_info(source, context))
            return found[0]

        return cls(context, lambda line: info()[0](line), lambda line: info()[1](line))


def _worth_parsing(member: Member, base: str, context: str, config: Config) -> bool:
    if len(member.data) > config.limits.max_parse_size:
        return False
    if context == "install" or base == "__init__.py":
        return True
    data = member.data
    if any(token in data for token in WORTH_PARSING):
        return True
    return b"\nimport " in data and TOP_LEVEL_CALL.search(data) is not None


def _pattern_hits(member: Member, config: Config, lines: _Lines, out: _Collected) -> None:
    inner = _inner(member.path)
    code = inner.lower().endswith(CODE_SUFFIXES)
    # Latin-1 keeps one character per byte: fast searches, and offsets shared by both texts.
    text = member.data.decode("latin-1")
    offsets: dict[int, list[int]] | None = None
    for index, rule in enumerate(config.rules.patterns):
        assert rule.pattern is not None
        if (rule.paths.search(inner) is None) if rule.paths is not None else not code:
            continue
        if rule.keywords and offsets is None:
            lowered = member.data.lower().decode("latin-1")
            offsets = config.rules.keyword_index.offsets(member.data, lowered)
        match = rule.search(text, offsets.get(index) if offsets else None)
        if match is None:
            continue
        line, snippet = _excerpt(text, match.start())
        if snippet.startswith("#") and inner.endswith(PYTHON_SUFFIXES) and not rule.comments:
            continue  # a comment: documentation, not code
        hit = Hit(
            rule.capability or rule.id, lines.context_at(line), line, snippet, lines.scope_at(line)
        )
        out.pattern_hits.append((rule, member.path, hit))


def _combination(rule: Rule, seen: frozenset[str], groups: dict[str, set[str]]) -> list[str]:
    """The capabilities meeting a combination (for a per-file or per-function one: the
    group's key last)."""
    if not (rule.per_file or rule.per_function):
        met = [requirement.met_by(seen) for requirement in rule.requires]
        return [m for m in met if m] if all(met) else []
    for key, capabilities in groups.items():
        frozen = frozenset(capabilities)
        met = [requirement.met_by(frozen) for requirement in rule.requires]
        if all(met):
            return [m for m in met if m] + [key]
    return []


def _function_groups(
    per_scope: dict[tuple[str, str], set[str]], calls: dict[str, dict[str, frozenset[str]]]
) -> dict[str, set[str]]:
    """``path::function`` -> what the function does, with the local functions it calls."""
    by_name: dict[str, dict[str, list[str]]] = {}  # path -> called name -> scopes
    for path, scope in per_scope:
        if scope:
            names = by_name.setdefault(path, {})
            names.setdefault(scope.rsplit(".", 1)[-1], []).append(scope)
    groups: dict[str, set[str]] = {}
    for (path, scope), capabilities in per_scope.items():
        if not scope:
            continue
        found = set(capabilities)
        graph = calls.get(path, {})
        done = {scope}
        pending = [scope]
        while pending:
            for name in graph.get(pending.pop(), ()):
                for callee in by_name.get(path, {}).get(name, ()):
                    if callee not in done:
                        done.add(callee)
                        pending.append(callee)
                        found |= per_scope.get((path, callee), set())
        groups[f"{path}::{scope}"] = found
    return groups


def _findings(collected: _Collected, config: Config) -> tuple[list[Finding], frozenset[str]]:
    findings: list[Finding] = []
    per_rule: dict[str, int] = {}
    reported: set[tuple[str, str, str]] = set()
    first_hit: dict[str, tuple[str, Hit]] = {}
    capabilities: set[str] = set()
    per_path: dict[str, set[str]] = {}
    per_scope: dict[tuple[str, str], set[str]] = {}
    group_first: dict[tuple[str, str], tuple[str, Hit]] = {}

    def note(path: str, hit: Hit) -> None:
        key = f"{hit.context}:{hit.capability}"
        capabilities.add(key)
        first_hit.setdefault(key, (path, hit))
        per_path.setdefault(path, set()).add(key)
        per_scope.setdefault((path, hit.scope), set()).add(key)
        group_first.setdefault((key, path), (path, hit))
        if hit.scope:
            group_first.setdefault((key, f"{path}::{hit.scope}"), (path, hit))

    def add(rule: Rule, path: str, hit: Hit) -> None:
        count = per_rule.get(rule.id, 0)
        if count >= FINDINGS_PER_RULE or (rule.id, path, hit.context) in reported:
            return
        per_rule[rule.id] = count + 1
        reported.add((rule.id, path, hit.context))
        findings.append(
            Finding(rule.id, rule.severity_in(hit.context), path, hit.line, hit.excerpt)
        )

    for path, hit in collected.hits:
        note(path, hit)
        for rule in config.rules.by_capability.get(hit.capability, ()):
            if hit.context in rule.contexts:
                add(rule, path, hit)
    for rule, path, hit in collected.pattern_hits:
        note(path, hit)
        if hit.context in rule.contexts:
            add(rule, path, hit)
    seen = frozenset(capabilities)
    functions: dict[str, set[str]] | None = None
    for rule in config.rules.combinations:
        groups = per_path
        if rule.per_function:
            if functions is None:
                functions = _function_groups(per_scope, collected.calls)
            groups = functions
        met = _combination(rule, seen, groups)
        if met:
            grouped = rule.per_file or rule.per_function
            path, hit = (
                group_first.get((met[0], met[-1]), first_hit[met[0]])
                if grouped
                else (first_hit[met[0]])
            )
            excerpt = " + ".join(met[:-1] if grouped else met)
            findings.append(
                Finding(rule.id, rule.severity, path, hit.line, f"{excerpt}: {hit.excerpt}"[:240])
            )
            capabilities.add(f"combination:{rule.id}")
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    findings.sort(key=lambda f: (order[f.severity], f.rule, f.path, f.line or 0))
    return findings, frozenset(capabilities)


def scan_bytes(data: bytes, filename: str, config: Config) -> ScanReport:
    """Scan one archive given as bytes. Never raises for bad input: ``verdict="error"``."""
    started = time.perf_counter()
    try:
        contents = Reader(config.limits).read(data, filename)
    except ArchiveError as exc:
        return ScanReport(
            filename=filename,
            verdict="error",
            error=str(exc),
            seconds=time.perf_counter() - started,
        )
    collected = _Collected()
    layout = Layout.of(contents)
    links = _links(contents, layout, config)
    deadline = time.monotonic() + config.limits.max_seconds
    for member in contents.members:
        if time.monotonic() > deadline:
            contents.anomalies.append(Anomaly(member.path, "stopped analysing: time bound reached"))
            break
        try:
            _scan_member(member, config, layout, links, collected)
        except (
            RecursionError,
            MemoryError,
            ValueError,
        ) as exc:  # a pathological member: note it, go on
            collected.hits.append(
                (member.path, Hit("archive-anomaly", "install", None, f"not analysed: {exc}"[:160]))
            )
    compiled = [n for n in contents.names if n.endswith((".pyc", ".pyo")) and "!" not in n]
    if compiled:
        collected.hits.append(
            (compiled[0], Hit("compiled-code", "import", None, f"{len(compiled)} .pyc files"))
        )
    placeholder = _placeholder(contents)
    if placeholder:
        collected.hits.append((placeholder[0], Hit("placeholder", "install", None, placeholder[1])))
    native = _native_in_sdist(contents, layout)
    if native:
        collected.hits.append((native, Hit("native-in-sdist", "import", None, _inner(native))))
    for anomaly in contents.anomalies:
        collected.hits.append(
            (anomaly.path, Hit("archive-anomaly", "install", None, anomaly.message))
        )
    findings, capabilities = _findings(collected, config)
    return ScanReport(
        filename=filename,
        verdict=verdict(findings, config.thresholds, config.rules.capped),
        findings=findings,
        capabilities=capabilities,
        seconds=time.perf_counter() - started,
    )


def _links(contents: Contents, layout: Layout, config: Config) -> Links:
    """What setup.py and the packages' ``__init__`` files import and call (see ``links``)."""
    sources = {
        m.path: m.data
        for m in contents.members
        if "!" not in m.path
        and m.path.endswith(PYTHON_SUFFIXES)
        and len(m.data) <= config.limits.max_parse_size
    }
    setup_files = [
        p for p in sources if p.endswith("setup.py") and layout.top_context(p) == "install"
    ]
    init_files = [
        p for p in sources if p.endswith("/__init__.py") and layout.top_context(p) == "import"
    ]
    return find_links(sources, setup_files, init_files)


def _placeholder(contents: Contents) -> tuple[str, str] | None:
    """``(path, what)`` when the distribution ships (almost) no code and nothing else.

    Only Python files count as package content; with a data file, a binary or a stub
    (``.pyi``) it is no placeholder. Tests, docs and packaging files are not looked at.
    """
    sizes = {m.path: len(m.data) for m in contents.members}
    content = [
        n
        for n in contents.names
        if "!" not in n and not BOILERPLATE.search(n) and not NOT_SHIPPED_CODE.search(n)
    ]
    if any(not n.endswith(PYTHON_SUFFIXES) for n in content):
        return None
    total = sum(sizes.get(n, 0) for n in content)
    if total > PLACEHOLDER_MAX:
        return None
    metadata = [n for n in contents.names if n.endswith(("PKG-INFO", "METADATA")) and "!" not in n]
    where = content[0] if content else (metadata[0] if metadata else "")
    return where, f"{len(content)} Python files of {total} bytes and nothing else"


def _native_in_sdist(contents: Contents, layout: Layout) -> str | None:
    """A prebuilt native library among a source distribution's package files, if any."""
    if layout.wheel:
        return None
    for name in contents.names:
        if (
            "!" not in name
            and NATIVE_LIBRARY.search(name)
            and not NOT_SHIPPED_CODE.search(name)
            and not TOOLING_DIRS.search(name)
        ):
            return name
    return None


def scan_file(path: Path, filename: str, config: Config) -> ScanReport:
    """Scan an archive on disk (read whole into memory; uploads are size-limited before this)."""
    started = time.perf_counter()
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ScanReport(
            filename=filename,
            verdict="error",
            error=f"cannot read {filename}: {exc.strerror or exc}",
            seconds=time.perf_counter() - started,
        )
    return scan_bytes(data, filename, config)
