"""One scan: read the archive, analyse its members, apply the rules, weigh the verdict."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.protect.scan import pyast
from bastion.protect.scan.archive import Anomaly, ArchiveError, Contents, Limits, Member, Reader
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
            hits = result[0] if result else pyast.analyse_text(line, config.rules, "install")[0]
            for hit in hits:
                out.hits.append((member.path, Hit(hit.capability, "install", number, hit.excerpt)))


def _scan_member(member: Member, config: Config, layout: Layout, out: _Collected) -> None:
    path = member.path
    inner = _inner(path)
    base = inner.rsplit("/", 1)[-1]
    lower = base.lower()
    context = layout.top_context(path)
    context_at: Callable[[int], str] = lambda _line: context  # noqa: E731
    if lower.endswith(PYTHON_SUFFIXES) and context != "runtime":
        if base in STARTUP_NAMES:
            out.hits.append((path, Hit("site-hook", "install", 1, base)))
        if len(member.data) > config.limits.max_parse_size:
            size = f"{len(member.data)} bytes of Python"
            out.hits.append((path, Hit("oversized-code", context, None, size)))
        if _worth_parsing(member, base, context, config):
            result = pyast.analyse(member.data, config.rules, context)
            if result is None:
                text = member.data.decode("utf-8", "replace")
                out.hits.append(
                    (path, Hit("unparsable", context, None, "does not parse as Python 3"))
                )
                hits, context_at = pyast.analyse_text(text, config.rules, context)
            else:
                hits, context_at = result
            out.hits.extend((path, hit) for hit in hits)
        else:
            context_at = _lazy_contexts(member.data, context)
    elif lower.endswith(".pth"):
        _pth_hits(member, config, out)
    elif base in ("PKG-INFO", "METADATA") and inner.count("/") <= 1 and "!" not in path:
        # the distribution's own metadata, not that of archives it carries (test fixtures)
        for capability, excerpt in metadata_hints(member.data.decode("utf-8", "replace")):
            out.hits.append((path, Hit(capability, "install", 1, excerpt)))
    _pattern_hits(member, config, context_at, out)


def _lazy_contexts(source: bytes, context: str) -> Callable[[int], str]:
    """Line contexts of a file not analysed, parsed only if a pattern rule needs them."""
    found: list[Callable[[int], str]] = []

    def context_at(line: int) -> str:
        if not found:
            found.append(pyast.line_contexts(source, context))
        return found[0](line)

    return context_at


def _worth_parsing(member: Member, base: str, context: str, config: Config) -> bool:
    if len(member.data) > config.limits.max_parse_size:
        return False
    if context == "install" or base == "__init__.py":
        return True
    data = member.data
    if any(token in data for token in WORTH_PARSING):
        return True
    return b"\nimport " in data and TOP_LEVEL_CALL.search(data) is not None


def _pattern_hits(
    member: Member, config: Config, context_at: Callable[[int], str], out: _Collected
) -> None:
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
        out.pattern_hits.append(
            (rule, member.path, Hit(rule.capability or rule.id, context_at(line), line, snippet))
        )


def _combination(rule: Rule, seen: frozenset[str], per_path: dict[str, set[str]]) -> list[str]:
    """The capabilities meeting a combination (for a per-file one: the file's path last)."""
    if not rule.per_file:
        met = [requirement.met_by(seen) for requirement in rule.requires]
        return [m for m in met if m] if all(met) else []
    for path, keys in per_path.items():
        frozen = frozenset(keys)
        met = [requirement.met_by(frozen) for requirement in rule.requires]
        if all(met):
            return [m for m in met if m] + [path]
    return []


def _findings(collected: _Collected, config: Config) -> tuple[list[Finding], frozenset[str]]:
    findings: list[Finding] = []
    per_rule: dict[str, int] = {}
    first_hit: dict[str, tuple[str, Hit]] = {}
    capabilities: set[str] = set()
    per_path: dict[str, set[str]] = {}
    per_path_first: dict[tuple[str, str], tuple[str, Hit]] = {}

    def note(path: str, hit: Hit) -> None:
        key = f"{hit.context}:{hit.capability}"
        capabilities.add(key)
        first_hit.setdefault(key, (path, hit))
        per_path.setdefault(path, set()).add(key)
        per_path_first.setdefault((key, path), (path, hit))

    def add(rule: Rule, path: str, hit: Hit) -> None:
        count = per_rule.get(rule.id, 0)
        if count >= FINDINGS_PER_RULE:
            return
        per_rule[rule.id] = count + 1
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
    for rule in config.rules.combinations:
        met = _combination(rule, seen, per_path)
        if met:
            path, hit = (
                first_hit[met[0]] if not rule.per_file else per_path_first[(met[0], met[-1])]
            )
            excerpt = " + ".join(met[:-1] if rule.per_file else met)
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
    deadline = time.monotonic() + config.limits.max_seconds
    for member in contents.members:
        if time.monotonic() > deadline:
            contents.anomalies.append(Anomaly(member.path, "stopped analysing: time bound reached"))
            break
        try:
            _scan_member(member, config, layout, collected)
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
        verdict=verdict(findings, config.thresholds),
        findings=findings,
        capabilities=capabilities,
        seconds=time.perf_counter() - started,
    )


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
