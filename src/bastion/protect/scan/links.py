"""Code another file runs: what setup.py and package ``__init__`` files import and call.

A payload is often kept out of the file that runs it: ``setup.py`` imports a helper module
(or the package itself) and calls a function from its install command; an ``__init__.py``
imports a function from a sibling module and calls it at import time. This module follows
those links one step (three from an install/develop command) so the analyser gives the
called code the context it really runs in:

- a module that setup.py imports runs its top level at install time;
- a function that setup.py calls runs at install time, and so do the functions in other
  files that an install/develop/egg_info command calls, and those they call in turn;
- a function that import-time code of an ``__init__.py`` calls runs at import time.

Links are found in the module's ``ast`` (never imported) and resolved against the archive's
own member names; imports of anything the archive does not ship are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from bastion.protect.scan import pyast

INSTALL_DEPTH = 3  # files followed from an install command: hook -> helper -> payload


@dataclass
class Links:
    """Per member path: whether install-time code imports it, and functions others call."""

    install_modules: set[str] = field(default_factory=set)
    functions: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> name -> ctx
    trees: dict[str, ast.Module] = field(default_factory=dict)  # parsed once, reused

    def call(self, path: str, name: str, context: str) -> None:
        known = self.functions.setdefault(path, {})
        if known.get(name) != "install":  # install time is the earlier, stronger context
            known[name] = context


@dataclass(frozen=True)
class _Binding:
    level: int
    module: str
    attribute: str | None  # ``from module import attribute``; None for ``import module``


def _bind(
    node: ast.Import | ast.ImportFrom, names: dict[str, _Binding], stars: list[_Binding]
) -> None:
    """Record the names one import statement binds (and its star imports)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                names[alias.asname] = _Binding(0, alias.name, None)
            else:
                head = alias.name.split(".")[0]
                names[head] = _Binding(0, head, None)
        return
    module = node.module or ""
    for alias in node.names:
        if alias.name == "*":
            stars.append(_Binding(node.level, module, None))
        else:
            names[alias.asname or alias.name] = _Binding(node.level, module, alias.name)


def _top_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The module's own imports: at top level and in top-level ``if`` / ``try`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.If, ast.Try)):
            pending.extend([*node.body, *node.orelse])
            if isinstance(node, ast.Try):
                pending.extend(node.finalbody)
                for handler in node.handlers:
                    pending.extend(handler.body)
    return found


def _chain(node: ast.AST) -> list[str]:
    """``a.b.c`` -> ["a", "b", "c"]; [] when the expression is not a dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return []
    parts.append(node.id)
    return parts[::-1]


def imported_calls(
    tree: ast.Module, run: list[ast.AST]
) -> tuple[set[tuple[int, str]], set[tuple[int, str, str]]]:
    """Modules imported and ``(level, module, function)`` called by the code in ``run``
    (names are bound by the module's own imports and those in ``run``)."""
    names: dict[str, _Binding] = {}
    stars: list[_Binding] = []
    for statement in _top_imports(tree):
        _bind(statement, names, stars)
    running: dict[str, _Binding] = {}
    running_stars: list[_Binding] = []
    called: list[ast.Call] = []
    for root in run:
        for node in ast.walk(root):
            if isinstance(node, ast.Call):
                called.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                _bind(node, running, running_stars)
    names.update(running)
    stars.extend(running_stars)
    modules: set[tuple[int, str]] = set()
    for bound in [*running.values(), *running_stars]:
        modules.add((bound.level, bound.module))
        if bound.attribute:
            modules.add((bound.level, _join(bound.module, bound.attribute)))
    local = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    calls: set[tuple[int, str, str]] = set()
    for node in called:
        targets = [node.func, *node.args, *(k.value for k in node.keywords)]
        for index, target in enumerate(targets):
            parts = _chain(target)
            if not parts or (index and len(parts) > 1):
                continue  # arguments count as called only as bare names (thread targets)
            binding = names.get(parts[0])
            if binding is None:
                if len(parts) == 1 and parts[0] not in local:
                    calls.update((star.level, star.module, parts[0]) for star in stars)
            elif len(parts) > 1:  # module.function() or package.module.function()
                base = _join(binding.module, binding.attribute or "")
                calls.add((binding.level, _join(base, *parts[1:-1]), parts[-1]))
            elif binding.attribute:  # from module import function; function()
                calls.add((binding.level, binding.module, binding.attribute))
    return modules, calls


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


class _Resolver:
    """Finds the archive member a module name stands for (relative to the importing file)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self.by_suffix: dict[str, str] = {}
        for path in sorted(self.paths, key=len):
            parts = path[: -len(".py")].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            for start in range(len(parts)):
                self.by_suffix.setdefault("/".join(parts[start:]), path)

    def resolve(self, importer: str, level: int, module: str) -> str | None:
        relative = module.replace(".", "/")
        if level:
            base = importer.split("/")[:-level]
            if len(base) < 1:
                return None
            stem = "/".join([*base, relative] if relative else base)
            for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                if candidate in self.paths:
                    return candidate
            return None
        return self.by_suffix.get(relative) if relative else None


def _run_code(tree: ast.Module, whole: bool, functions: set[str]) -> list[ast.AST]:
    """The parts of a module that run: all of it (setup.py), or its top level (not class
    bodies or a ``__main__`` block) and ``functions`` (and the top-level functions they
    call)."""
    if whole:
        return [tree]
    run: list[ast.AST] = [
        n
        for n in tree.body
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not pyast.is_main_guard(n)
    ]
    return run + _functions(tree, pyast.import_time_functions(tree, functions, scripts=False))


def _functions(tree: ast.Module, names: set[str]) -> list[ast.AST]:
    """The module's top-level functions named ``names`` and those they call."""
    called = pyast.called_functions(tree, names)
    return [
        n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in called
    ]


def _hook_classes(tree: ast.Module) -> list[ast.AST]:
    """Command classes that run when pip installs (install, develop, egg_info ...)."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(pyast.POST_INSTALL_BASES.search(".".join(_chain(b))) for b in node.bases)
    ]


def find_links(sources: dict[str, bytes], setup_files: list[str], init_files: list[str]) -> Links:
    """Follow ``setup_files`` (install time) and ``init_files`` (import time) into ``sources``.

    ``sources`` maps member paths of the archive's Python files to their bytes.
    """
    links = Links()
    resolver = _Resolver(sources)
    hooks: dict[str, set[str]] = {}  # functions an install/develop command calls, per path

    def tree_of(path: str) -> ast.Module | None:
        tree = links.trees.get(path)
        if tree is None:
            tree = pyast.parse(sources[path])
            if tree is not None:
                links.trees[path] = tree
        return tree

    def resolve(path: str, level: int, module: str) -> str | None:
        target = resolver.resolve(path, level, module)
        return target if target != path else None

    def record(
        path: str, tree: ast.Module, run: list[ast.AST], context: str, hook: bool
    ) -> set[str]:
        """Note the functions ``run`` calls in other files; the files reached from a hook."""
        reached: set[str] = set()
        for level, module, name in imported_calls(tree, run)[1]:
            target = resolve(path, level, module)
            if target is not None:
                links.call(target, name, context)
                if hook and name not in hooks.setdefault(target, set()):
                    hooks[target].add(name)
                    reached.add(target)
        return reached

    # setup.py: the modules it imports run their top level at install time, and the
    # functions it calls in other files run at install time. Deeper calls are followed only
    # from install/develop commands (INSTALL_DEPTH files): build helpers (setup.py -> helper
    # -> library download) are tooling, a post-install hook has nothing to build.
    pending = [(path, 0) for path in setup_files]
    while pending:
        path, depth = pending.pop(0)
        tree = tree_of(path)
        if tree is None:
            continue
        if depth == 0:
            record(path, tree, [tree], "install", hook=False)
            reached = record(path, tree, _hook_classes(tree), "install", hook=True)
            for level, module in imported_calls(tree, [tree])[0]:
                target = resolve(path, level, module)
                if target is not None:
                    links.install_modules.add(target)
        else:
            reached = record(path, tree, _functions(tree, hooks[path]), "install", hook=True)
        if depth < INSTALL_DEPTH:
            pending.extend((target, depth + 1) for target in reached)
    for path in init_files:
        tree = tree_of(path)
        if tree is not None and path not in links.install_modules:
            record(path, tree, _run_code(tree, False, set()), "import", hook=False)
    return links
