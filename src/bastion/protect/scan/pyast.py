"""What a Python file can do, found with ``ast`` (never imported or run).

Calls are resolved through the file's imports to dotted names and looked up in the rules'
capability table; ``exec``/``eval``/``compile`` arguments are classified (literal, dynamic,
decoded, remote); reads of key-like environment variables, the whole environment sent over
the network, setuptools command classes and long encoded literals are found here too. Each
hit carries the context its code runs in (install / import / runtime).
"""

from __future__ import annotations

import ast
import base64
import binascii
import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bastion.protect.scan.rules import RuleSet

EXEC_NAMES = frozenset(
    {
        "exec",
        "eval",
        "compile",
        "builtins.exec",
        "builtins.eval",
        "builtins.compile",
        "__builtin__.exec",
        "__builtin__.eval",
        "execfile",
    }
)
# Calls whose result hides code: the rules' "decode" capability plus these builtins/methods.
ASSEMBLERS = frozenset({"chr", "bytes", "bytearray"})
DECODER_NAMES = frozenset(
    {
        "b64decode",
        "b32decode",
        "b16decode",
        "b85decode",
        "a85decode",
        "decodebytes",
        "decompress",
        "unhexlify",
        "fromhex",
        "a2b_base64",
        "decrypt",
    }
)
COMMAND_BASES = re.compile(
    r"(^|\.)(install|develop|egg_info|build_py|build_ext|build|sdist|bdist_egg|bdist_wheel|install_lib"
    r"|install_scripts|easy_install|Command)$"
)
# Command classes that run when the package is installed (not when it is built).
POST_INSTALL_BASES = re.compile(r"(^|\.)(install|develop|egg_info|easy_install|bdist_egg)$")
KEY_LIKE = re.compile(
    r"(?i)(secret|token|passw|api_?key|access_?key|private_?key|credential|session|"
    r"^aws_|^gh_|github_|gitlab_|npm_|pypi|twine|azure_|gcp_|google_app|slack|discord|"
    r"webhook|ssh|cookie|auth)"
)
# Names of key material a library has no reason to send anywhere (wallet keys, seed phrases).
KEY_MATERIAL = re.compile(
    r"(?i)^_*(?:\w*_)?(?:private_?key|priv_?key|secret_?key|mnemonic|seed_?phrase|seed_?words|"
    r"recovery_?phrase|secret_?phrase|wallet_?key|keypair|wif)s?$"
)
# Name lookups: a literal host name resolved by install/import-time code is a DNS beacon.
DNS_CALLS = frozenset(
    {
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.getaddrinfo",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "dns.resolver.Resolver.resolve",
    }
)
B64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
# A short literal that is base64 or hex, and what its decoded text must hold to be hidden.
ENCODED_LITERAL = re.compile(r"^(?:[\w+/-]{4}){4,}(?:[\w+/-]{2}==|[\w+/-]{3}=)?$", re.ASCII)
HEX_LITERAL = re.compile(r"^(?:[0-9a-fA-F]{2}){10,}$")
HIDDEN_TEXT = re.compile(
    rb"(?i)^[\x20-\x7e\t\r\n]*(?:(?:https?|ftp|wss?)://|powershell|cmd(?:\.exe)? /c|"
    rb"/bin/(?:ba)?sh\b|\bcurl\s|\bwget\s)[\x20-\x7e\t\r\n]*$"
)
REVERSED_URL = ("//:ptth", "//:sptth")
PRINTABLE_CODES = range(9, 127)
HEX_CHARS = re.compile(r"^[0-9a-fA-Fx\\\s]+$")
BLOB_MIN = 256
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FOLLOW_DEPTH = 3  # names and local functions followed from a sink
# Base64 of the first bytes of a Windows PE ("MZ"), ELF and Mach-O executable.
EXECUTABLE_BASE64 = ("TVqQ", "TVpQ", "TVoA", "TVqA", "f0VMR", "z/rt/", "zvrt/")
# Command lines that reach the network or survey the host.
NETWORK_COMMAND = re.compile(
    r"(?i)(?:^|[\s\"'`(;|&/\\])(?:curl|wget|nc|ncat|netcat|powershell|pwsh|certutil|bitsadmin|mshta|"
    r"invoke-webrequest|iwr|tftp|scp)(?:\.exe)?(?=$|[\s\"'`;|&])|(?<!git clone )https?://|"
    r"\b\d{1,3}(?:\.\d{1,3}){3}:\d{2,5}\b"
)
PIP_INSTALL = re.compile(
    r"(?i)(?:^|[\s\"'`(;|&/\\])pip[\d.]*(?:\.exe)?\s+install\b|(?:^|\s)-m\s+pip\s+install\b"
)
PYTHON_PROGRAM = re.compile(r"(?i)^\s*(?:\S*[/\\])?python[w\d.]*(?:\.exe)?(?:\s|$)")
RECON_COMMAND = re.compile(
    r"(?i)(?:^|[\s\"'`(;|&])(?:whoami|hostname|ipconfig|ifconfig|systeminfo|net\s+user|uname\s+-a|"
    r"cat\s+/etc/passwd|env|printenv|ps\s+aux)(?=$|[\s\"'`;|&])"
)


@dataclass(frozen=True)
class Hit:
    capability: str
    context: str
    line: int | None
    excerpt: str
    scope: str = ""  # the function ("name" or "Class.method") it is in; "" at module level


@dataclass(frozen=True)
class Analysis:
    """A Python file's hits, where each line runs, and which local functions each one calls."""

    hits: list[Hit]
    context_at: Callable[[int], str]
    scope_at: Callable[[int], str]
    calls: dict[str, frozenset[str]] = field(default_factory=dict)  # scope -> names it calls


def entropy(text: str | bytes) -> float:
    """Shannon entropy in bits per symbol."""
    if not text:
        return 0.0
    counts = Counter(text)
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def is_encoded_blob(value: str | bytes) -> bool:
    """A long literal that looks like base64 / hex / packed bytes / XOR-ed text, not text."""
    if len(value) < 64:
        return False
    sample = value[:4096]
    control = CONTROL.search(sample) is not None if isinstance(sample, str) else False
    if control and len(CONTROL.findall(sample)) > len(sample) // 5:  # type: ignore[arg-type]
        return True  # XOR-ed or packed text kept in a str
    if len(value) < BLOB_MIN:
        return False
    if isinstance(sample, bytes):
        return entropy(sample) > 5.5
    if B64_CHARS.match(sample) and " " not in sample.strip():
        return entropy(sample) > 4.5 or bool(HEX_CHARS.match(sample))
    return sample.count("\\x") > len(sample) // 5


def hides_address(value: str) -> bool:
    """A base64 / hex / reversed literal whose text is a URL or a shell command line."""
    if any(marker in value for marker in REVERSED_URL):
        return True
    if len(value) > 4096:
        return False
    decoded = b""
    if HEX_LITERAL.match(value):
        decoded = bytes.fromhex(value)
    elif ENCODED_LITERAL.match(value):
        try:
            decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_")
        except (binascii.Error, ValueError):
            return False
    return bool(decoded) and HIDDEN_TEXT.match(decoded) is not None


def _char_codes(node: ast.AST) -> bool:
    """A list or tuple literal of at least eight character codes, mostly printable."""
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) < 8:
        return False
    codes = [e.value for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
    if len(codes) != len(node.elts):
        return False
    return sum(c in PRINTABLE_CODES for c in codes) >= 0.9 * len(codes)


def _maps_chr(node: ast.Call) -> bool:
    """``map(chr, ...)``: a sequence of character codes turned into text."""
    return (
        isinstance(node.func, ast.Name)
        and node.func.id == "map"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "chr"
    )


class _Analyser(ast.NodeVisitor):
    def __init__(
        self,
        rules: RuleSet,
        lines: list[str],
        top_context: str,
        function_context: Callable[[str], str],
        whole_install: bool = False,
    ) -> None:
        self.rules = rules
        self.lines = lines
        self.hits: list[Hit] = []
        self.aliases: dict[str, str] = {}
        self.context = top_context
        self.function_context = function_context
        # setup.py and build backends: every function runs at install time. A module that
        # install-time code imports runs its top level at install, its functions when called.
        self.whole_install = whole_install
        self.seen: set[tuple[str, str, str]] = set()
        self.scope = ""  # the enclosing module-level function or "Class.method"
        self.class_name = ""
        self.classes: set[str] = set()
        self.calls: dict[str, set[str]] = {}  # scope -> local function names it calls
        # Local functions (calls to a decoding / fetching helper count as decoding / fetching)
        # and the last expression assigned to each name: followed on demand, at the sinks.
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.function_memo: dict[str, set[str]] = {}
        self.assigned: dict[str, ast.AST] = {}

    def prepare(self, tree: ast.Module) -> None:
        """Imports first (used anywhere in the file), then its decoding / fetching helpers."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.visit_Import(node)
            elif isinstance(node, ast.ImportFrom):
                self.visit_ImportFrom(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, node)
            elif isinstance(node, ast.ClassDef):
                self.classes.add(node.name)

    def function_kinds(self, name: str, depth: int) -> set[str]:
        """What a local function returns or does (decode / remote), computed once, on demand."""
        known = self.function_memo.get(name)
        if known is None:
            self.function_memo[name] = set()  # recursion guard
            known = set()
            for statement in self.functions[name].body:
                known |= self.kinds_in(statement, depth + 1) & {"decode", "remote"}
            self.function_memo[name] = known
        return known

    # -- helpers
    def hit(self, capability: str, node: ast.AST) -> None:
        key = (capability, self.context, self.scope)
        if key in self.seen:
            return
        self.seen.add(key)
        line = getattr(node, "lineno", None)
        excerpt = ""
        if line and line <= len(self.lines):
            text = self.lines[line - 1]
            column = getattr(node, "col_offset", 0)
            excerpt = (text.strip() if column < 60 else text[max(0, column - 20) :].strip())[:160]
        self.hits.append(Hit(capability, self.context, line, excerpt, self.scope))

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else node.attr
        if isinstance(node, ast.Call):
            func = self.dotted(node.func)
            if func in ("__import__", "importlib.import_module") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    return first.value
            if func == "getattr" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    base = self.dotted(node.args[0])
                    if base in ("__builtins__", "builtins", "__builtin__"):
                        return name.value
                    return f"{base}.{name.value}" if base else name.value
        return None

    def kinds_in(self, node: ast.AST, depth: int = 0) -> set[str]:
        """What an expression is made of: decode / remote / environ (following names a little)."""
        found: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                name = self.dotted(sub.func) or ""
                capability = self.rules.capability_of(name)
                last = name.rsplit(".", 1)[-1]
                near = name in ASSEMBLERS and depth <= 1  # chr()/bytes() count near the sink only
                if capability == "decode" or last in DECODER_NAMES or near or _maps_chr(sub):
                    found.add("decode")
                if capability == "network" or last in ("recv", "recvfrom"):
                    found.add("remote")
                if name in self.functions and depth < FOLLOW_DEPTH:
                    found |= self.function_kinds(name, depth)
            elif isinstance(sub, ast.Name):
                value = self.assigned.get(sub.id)
                if value is not None and value is not node and depth < FOLLOW_DEPTH:
                    found |= self.kinds_in(value, depth + 1)
            elif isinstance(sub, ast.Attribute):
                if sub.attr == "environ" and self.dotted(sub) == "os.environ":
                    found.add("environ")
            elif isinstance(sub, ast.Subscript):
                if isinstance(sub.slice, ast.Slice) and isinstance(sub.slice.step, ast.UnaryOp):
                    found.add("decode")  # s[::-1]
            elif (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, (str, bytes))
                and is_encoded_blob(sub.value)
            ):
                found.add("decode")
        return found

    # -- imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = (
                f"{module}.{alias.name}" if module else alias.name
            )

    # -- scopes
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, outer_scope = self.context, self.scope
        assigned = self.assigned
        self.assigned = dict(assigned)
        if not outer_scope:
            self.scope = f"{self.class_name}.{node.name}" if self.class_name else node.name
        if outer != "install" or (not outer_scope and not self.whole_install):
            self.context = self.function_context(node.name)
        # else: a function inside install-time code runs at install time too
        for child in node.body:
            self.visit(child)
        self.context, self.scope = outer, outer_scope
        self.assigned = assigned

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        outer_context, outer_class = self.context, self.class_name
        if not self.scope and not outer_class:
            self.class_name = node.name
        bases = [self.dotted(base) or "" for base in node.bases]
        # Command classes run at install time when setup.py (or a build backend) defines them.
        command = self.context == "install" and any(COMMAND_BASES.search(base) for base in bases)
        outer_scope = self.scope
        if command:
            # A command class is one scope: its methods run together when pip installs.
            self.context, self.scope = "install", self.scope or node.name
            self.hit("custom-command", node)
            if any(POST_INSTALL_BASES.search(base) for base in bases):
                self.hit("post-install-hook", node)
        for child in node.body:
            if command and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for grandchild in child.body:
                    self.visit(grandchild)
            else:
                self.visit(child)
        self.context, self.class_name, self.scope = outer_context, outer_class, outer_scope

    # -- data flow (in source order, by name)
    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.assigned[target.id] = node.value
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.assigned[node.target.id] = node.value
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if isinstance(item.optional_vars, ast.Name):
                self.assigned[item.optional_vars.id] = item.context_expr
        self.generic_visit(node)

    # -- calls, environment, literals
    def note_call(self, node: ast.Call) -> None:
        """Record the local functions (and methods) this scope calls or hands to a thread."""
        func = node.func
        called = self.calls.setdefault(self.scope, set())
        if isinstance(func, ast.Name) and func.id in self.functions:
            called.add(func.id)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and (func.value.id in ("self", "cls") or func.value.id in self.classes)
        ):
            called.add(func.attr)
        for value in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(value, ast.Name) and value.id in self.functions:
                called.add(value.id)

    def visit_Call(self, node: ast.Call) -> None:
        self.note_call(node)
        name = self.dotted(node.func) or ""
        if (_maps_chr(node) and _char_codes(node.args[1])) or (
            name in ("bytes", "bytearray") and node.args and _char_codes(node.args[0])
        ):
            self.hit("char-codes", node)
        if name in EXEC_NAMES or (
            name.endswith((".exec", ".eval")) and name.split(".")[0] in ("builtins", "__builtin__")
        ):
            self.exec_call(node)
        else:
            capability = self.rules.capability_of(name)
            if capability:
                self.hit(capability, node)
            if capability == "process":
                self.process_call(node)
            if capability == "network":
                endpoint = [
                    *node.args[:1],
                    *(k.value for k in node.keywords if k.arg in ("url", "host")),
                ]
                if any("decode" in self.kinds_in(arg) for arg in endpoint):
                    self.hit("hidden-endpoint", node)
            if name in DNS_CALLS and node.args and self.names_a_host(node.args[0]):
                self.hit("dns-beacon", node)
            if capability == "network" and any(
                self.carries_key_material(arg)
                for arg in [*node.args[1:], *(k.value for k in node.keywords if k.arg != "url")]
            ):
                self.hit("key-exfil", node)
            if capability == "network" and any(
                "environ" in self.kinds_in(arg)
                for arg in [*node.args, *(k.value for k in node.keywords)]
            ):
                self.hit("env-exfil", node)
            if name in ("os.environ.get", "os.getenv", "os.environ.__getitem__") and node.args:
                self.environment_key(node.args[0], node)
            if name == "open" and len(node.args) >= 2:
                mode = node.args[1]
                if (
                    isinstance(mode, ast.Constant)
                    and isinstance(mode.value, str)
                    and ("w" in mode.value or "a" in mode.value)
                ):
                    self.hit("file-write", node)
        self.generic_visit(node)

    def process_call(self, node: ast.Call) -> None:
        """What a started program is told: decoded data, network tools or URLs, host recon."""
        arguments = [*node.args, *(k.value for k in node.keywords if k.arg in (None, "args"))]
        kinds: set[str] = set()
        for argument in arguments:
            kinds |= self.kinds_in(argument)
        if kinds & {"decode", "remote"}:
            self.hit("process-decoded", node)
        if any(self.decodes_literal(argument) for argument in arguments):
            self.hit("process-hidden", node)
        text = " ".join(self.strings_in(argument) for argument in arguments)
        if NETWORK_COMMAND.search(text):
            self.hit("process-network", node)
        if RECON_COMMAND.search(text):
            self.hit("host-info", node)
        if PIP_INSTALL.search(text):
            self.hit("pip-install", node)
        elif self.runs_python(arguments):
            self.hit("spawn-python", node)

    def strings_in(self, node: ast.AST, depth: int = 0) -> str:
        """The string literals of an expression and of the names it uses (a command line
        built in a variable first)."""
        parts: list[str] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                parts.append(sub.value)
            elif isinstance(sub, ast.Name) and depth < FOLLOW_DEPTH:
                value = self.assigned.get(sub.id)
                if value is not None and value is not node:
                    parts.append(self.strings_in(value, depth + 1))
        return " ".join(parts)

    def runs_python(self, arguments: list[ast.expr]) -> bool:
        """Is the program started a Python interpreter (``sys.executable``, ``python3 -c``)?"""
        first: ast.AST | None = arguments[0] if arguments else None
        if isinstance(first, (ast.List, ast.Tuple)):
            first = first.elts[0] if first.elts else None
        if first is None:
            return False
        if self.dotted(first) in ("sys.executable", "sys._base_executable"):
            return True
        if isinstance(first, ast.JoinedStr) and first.values:
            first = first.values[0]
            if isinstance(first, ast.FormattedValue):
                return self.dotted(first.value) == "sys.executable"
        return (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and PYTHON_PROGRAM.match(first.value) is not None
        )

    def exec_call(self, node: ast.Call) -> None:
        if not node.args:
            return
        argument = node.args[0]
        if isinstance(argument, ast.Constant):
            if isinstance(argument.value, (str, bytes)) and is_encoded_blob(argument.value):
                self.hit("exec-decoded", node)
            return
        kinds = self.kinds_in(argument)
        if self.decodes_literal(argument):
            self.hit("exec-hidden", node)
        if "remote" in kinds:
            self.hit("exec-remote", node)
        elif "decode" in kinds:
            self.hit("exec-decoded", node)
        else:
            self.hit("exec-dynamic", node)

    def names_a_host(self, node: ast.AST) -> bool:
        """A literal (or f-string) host name with a dot that is not localhost or an address."""
        if isinstance(node, ast.Name):
            value = self.assigned.get(node.id)
            return value is not None and value is not node and self.names_a_host(value)
        parts = [node] if isinstance(node, ast.Constant) else []
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values if isinstance(v, ast.Constant)]
        text = "".join(p.value for p in parts if isinstance(p.value, str))
        return "." in text.strip(".") and not re.match(r"^[\d.:]*$|^localhost\b", text)

    def carries_key_material(self, node: ast.AST, depth: int = 0) -> bool:
        """Does ``node`` (or a name it uses) hold a variable named like wallet key material?"""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                if KEY_MATERIAL.match(sub.id):
                    return True
                value = self.assigned.get(sub.id)
                if (
                    value is not None
                    and value is not node
                    and depth < FOLLOW_DEPTH
                    and self.carries_key_material(value, depth + 1)
                ):
                    return True
        return False

    def decodes_literal(self, node: ast.AST, depth: int = 0) -> bool:
        """Is a decoding call applied straight to a literal in ``node`` (or names it uses)?"""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and depth < FOLLOW_DEPTH:
                value = self.assigned.get(sub.id)
                if (
                    value is not None
                    and value is not node
                    and self.decodes_literal(value, depth + 1)
                ):
                    return True
            if isinstance(sub, ast.Call) and sub.args:
                name = self.dotted(sub.func) or ""
                if (
                    self.rules.capability_of(name) == "decode"
                    or name.rsplit(".", 1)[-1] in DECODER_NAMES
                ):
                    first = sub.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, (str, bytes)):
                        return len(first.value) >= 16
        return False

    def environment_key(self, key: ast.AST, node: ast.AST) -> None:
        if (
            isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and KEY_LIKE.search(key.value)
        ):
            self.hit("secrets-env", node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.dotted(node.value) == "os.environ":
            self.environment_key(node.slice, node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, (str, bytes)) and is_encoded_blob(node.value):
            self.hit("encoded-blob", node)
            head = node.value[:8]
            if isinstance(head, str) and head.lstrip().startswith(EXECUTABLE_BASE64):
                self.hit("embedded-executable", node)
        elif isinstance(node.value, str) and hides_address(node.value):
            self.hit("encoded-url", node)

    def visit_comprehension_of(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp) -> None:
        """``[chr(c) for c in [104, 116, ...]]``: text spelled as character codes."""
        if any(_char_codes(g.iter) for g in node.generators) and any(
            isinstance(sub, ast.Call) and self.dotted(sub.func) == "chr"
            for sub in ast.walk(node.elt)
        ):
            self.hit("char-codes", node)
        self.generic_visit(node)

    visit_ListComp = visit_comprehension_of
    visit_GeneratorExp = visit_comprehension_of
    visit_SetComp = visit_comprehension_of


def is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``: runs as a script, not on import."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in sides) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in sides
    )


def _called_names(nodes: list[ast.stmt], scripts: bool = True) -> set[str]:
    """Names called in ``nodes`` (not in the functions and classes they define); with
    ``scripts`` False, not in an ``if __name__ == "__main__":`` block either."""
    names: set[str] = set()
    for statement in nodes:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or (
            not scripts and is_main_guard(statement)
        ):
            continue
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Call):
                func = sub.func
                if isinstance(func, ast.Name):
                    names.add(func.id)
                elif isinstance(func, ast.Attribute):
                    names.add(func.attr)
                for arg in sub.args:  # atexit.register(f), threading.Thread(target=f)
                    if isinstance(arg, ast.Name):
                        names.add(arg.id)
                for keyword in sub.keywords:
                    if isinstance(keyword.value, ast.Name):
                        names.add(keyword.value.id)
    return names


def import_time_functions(
    tree: ast.Module, extra: Iterable[str] = (), scripts: bool = True
) -> set[str]:
    """Top-level functions that module top-level code (or, ``extra``, another file) calls,
    directly or through each other. A module's ``__main__`` block counts (``scripts``):
    a module that runs itself is a script, run by an entry point without being called."""
    return called_functions(tree, _called_names(tree.body, scripts) | set(extra))


def called_functions(tree: ast.Module, start: set[str]) -> set[str]:
    """``start`` and the top-level functions they call, directly or through each other."""
    functions = {
        n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    called = start & functions.keys()
    pending = list(called)
    while pending:
        body = functions[pending.pop()].body
        for name in _called_names(body) & functions.keys():
            if name not in called:
                called.add(name)
                pending.append(name)
    return called


def parse(source: bytes) -> ast.Module | None:
    """The module's tree, or None when it does not parse as Python 3."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def line_info(source: bytes, top_context: str) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """The context and the scope (function) of each line of a module not analysed."""
    tree = parse(source)
    if tree is None:
        return (lambda _line: top_context), (lambda _line: "")
    at_import = import_time_functions(tree) if top_context == "import" else set()
    return _line_maps(tree, top_context, top_context == "install", set(), at_import)


def _docstrings(tree: ast.Module) -> list[tuple[int, int]]:
    """Line ranges of docstrings (module, classes, functions at the top two levels)."""
    ranges: list[tuple[int, int]] = []
    scopes: list[ast.AST] = [tree]
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            scopes.append(node)
            if isinstance(node, ast.ClassDef):
                scopes.extend(
                    c for c in node.body if isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef))
                )
    for scope in scopes:
        body = getattr(scope, "body", [])
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            ranges.append((first.lineno, first.end_lineno or first.lineno))
    return ranges


def _line_maps(
    tree: ast.Module, top_context: str, whole: bool, at_install: set[str], at_import: set[str]
) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """Line -> context (functions not run by installing or importing are runtime) and
    line -> scope (the module-level function or ``Class.method`` around it)."""
    ranges = [(start, end, "runtime") for start, end in _docstrings(tree)]  # never run
    scopes: list[tuple[int, int, str]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            end = node.end_lineno or node.lineno
            scopes.append((node.lineno, end, node.name))
            context = (
                "install"
                if node.name in at_install
                else "import"
                if node.name in at_import
                else "runtime"
            )
            if not whole and context != top_context:
                ranges.append((node.lineno, end, context))
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    end = child.end_lineno or child.lineno
                    scopes.append((child.lineno, end, f"{node.name}.{child.name}"))
                    if not whole:
                        ranges.append((child.lineno, end, "runtime"))

    def context_at(line: int) -> str:
        for start, end, context in ranges:
            if start <= line <= end:
                return context
        return top_context

    def scope_at(line: int) -> str:
        for start, end, scope in scopes:
            if start <= line <= end:
                return scope
        return ""

    return context_at, scope_at


def analyse(
    source: bytes,
    rules: RuleSet,
    top_context: str,
    *,
    whole_install: bool | None = None,
    entries: Mapping[str, str] | None = None,
    tree: ast.Module | None = None,
) -> Analysis | None:
    """Hits of one Python file, and the context of each line; None when it does not parse.

    ``whole_install`` (default: top context install): every function runs at install time
    (setup.py). ``entries``: functions other files call at install or import time (name ->
    context), so they and what they call run then.
    """
    tree = tree or parse(source)
    if tree is None:
        return None
    whole = top_context == "install" if whole_install is None else whole_install
    text = source.decode("utf-8", "replace")
    lines = text.splitlines()
    wanted = dict(entries or {})
    # A module imported by install-time code: its __main__ block does not run then.
    top_run = _called_names(tree.body, scripts=top_context != "install")
    at_install = called_functions(
        tree,
        {n for n, c in wanted.items() if c == "install"}
        | (top_run if top_context == "install" else set()),
    )
    at_import = (
        called_functions(
            tree,
            {n for n, c in wanted.items() if c == "import"}
            | (top_run if top_context == "import" else set()),
        )
        - at_install
    )

    def function_context(name: str) -> str:
        if name in at_install:
            return "install"
        return "import" if name in at_import else "runtime"

    analyser = _Analyser(rules, lines, top_context, function_context, whole)
    analyser.prepare(tree)
    with contextlib.suppress(RecursionError):  # absurdly deep code: keep what was found
        analyser.visit(tree)
    context_at, scope_at = _line_maps(tree, top_context, whole, at_install, at_import)
    calls = {scope: frozenset(names) for scope, names in analyser.calls.items()}
    return Analysis(analyser.hits, context_at, scope_at, calls)


DOTTED_CALL = re.compile(r"\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\(")
EXEC_TEXT = re.compile(r"\b(exec|eval)\s*\(\s*([^\n]{0,200})")
ENV_TEXT = re.compile(r"""(?:os\.environ(?:\.get)?\s*[\[(]|os\.getenv\s*\()\s*['"]([^'"]+)['"]""")


def analyse_text(text: str, rules: RuleSet, top_context: str) -> Analysis:
    """The text fallback for Python that does not parse: the same capabilities, by regex."""
    hits: list[Hit] = []
    seen: set[tuple[str, str]] = set()
    lines = text.splitlines()

    def context_of(number: int) -> str:
        if top_context != "import" or number > len(lines):
            return top_context
        line = lines[number - 1]
        return "import" if line[:1] not in (" ", "\t") else "runtime"

    def add(capability: str, number: int, line: str) -> None:
        context = context_of(number)
        if (capability, context) not in seen:
            seen.add((capability, context))
            hits.append(Hit(capability, context, number, line.strip()[:160]))

    for number, line in enumerate(lines, 1):
        if "(" not in line and "environ" not in line and len(line) < BLOB_MIN:
            continue
        for match in DOTTED_CALL.finditer(line):
            name = match.group(1)
            parts = name.split(".")
            capability = rules.capability_of(name) or (
                rules.capability_of(".".join(parts[-2:])) if len(parts) > 1 else None
            )
            if capability:
                add(capability, number, line)
        for match in EXEC_TEXT.finditer(line):
            argument = match.group(2)
            if re.match(r"""\s*[rbu]?['"]""", argument) and not is_encoded_blob(argument):
                continue
            if re.search(
                r"(?i)urlopen|requests\.|\.read\(\)\s*\)", argument
            ) and "open(" not in argument.replace("urlopen(", ""):
                add("exec-remote", number, line)
            elif re.search(
                r"(?i)decode|decompress|loads|b64|unhexlify|fromhex|chr\(|join\(|\[::-1\]", argument
            ):
                add("exec-decoded", number, line)
            else:
                add("exec-dynamic", number, line)
        for match in ENV_TEXT.finditer(line):
            if KEY_LIKE.search(match.group(1)):
                add("secrets-env", number, line)
        if len(line) >= BLOB_MIN:
            for literal in re.findall(r"""['"]([A-Za-z0-9+/=]{256,})['"]""", line):
                if is_encoded_blob(literal):
                    add("encoded-blob", number, line)
                    break
        if re.search(r"(?:^|\s)class\s+\w+\s*\([^)]*\b(install|develop|egg_info|build_py)\b", line):
            add("custom-command", number, line)
    return Analysis(hits, context_of, lambda _line: "")
