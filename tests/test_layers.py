"""The package layers of DESIGN.md, checked on every import statement of the source tree
(module-level and function-local alike), and at run time for the search core.

Every package installs under the one import name ``nas`` (the folders beside ``nas/`` as
``nas.search_spaces``, ``nas.evaluators``, ``nas.hardware_profiles``, ``nas.experiments``: see
pyproject.toml); importing them by their folder names would load a second copy of each module,
so no file does.

    nas.errors                         the bottom: the error type and the bounded parsers; imports
                                       nothing of the project
    nas.search_spaces                  nas.errors and nothing else of the project
    nas.search (the search core)       NumPy, JAX, nas.search_spaces and nas.errors only
    nas.{files,rundir,raycluster}      leaf utilities: nas.errors only
    nas.{data,train,latency,export,report}  libraries: never evaluators, the pipeline or the CLI
    nas.evaluators                     nas.search_spaces + leaf utilities only: what they score (a scoring
                                       function, a loaded profile) is handed in by the pipeline
    nas.{config,pipeline,api,checks}   wire everything; never the CLI
    nas.hardware_profiles              data: no code that anything imports back

and no circle of files: the import graph of the project's modules has no cycle. An edge goes
from a module to each project module one of its import statements names (module-level or
function-local; those under ``if TYPE_CHECKING:`` never run and are left out):

- ``import a.b`` names ``a.b``; ``from a.b import n`` names ``a.b.n`` when that is a module,
  else ``a.b``: a name taken from a package through its ``__init__`` (a re-export) depends on
  the ``__init__`` and so on everything the ``__init__`` imports;
- the parent packages Python runs first (``a`` for ``a.b``) are not edges: a package's own
  modules import one another while its ``__init__`` is loading, and that is no circle;
- ``importlib.import_module`` with a string (the lazy names of ``nas.search_spaces``) is no edge.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("nas", "search_spaces", "evaluators", "hardware_profiles", "experiments")
# folder -> the import name it installs as (pyproject.toml's package-dir); only experiments/'s own
# files are installed (its benchmarks/ and tools/ are a checkout's scripts)
INSTALLED_AS = {folder: name for name, folder in
                tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].items()}
STDLIB = set(sys.stdlib_module_names)
LIBRARIES = ("nas.data", "nas.train", "nas.latency", "nas.accuracy", "nas.export", "nas.report")
LEAVES = ("nas.files", "nas.rundir", "nas.raycluster", "nas.quiet")

# package -> (project modules it may import, third-party top-level packages it may import; None: any)
RULES = {
    "nas.errors": ((), None),
    "nas.search_spaces": (("nas.search_spaces", "nas.errors"), None),
    "nas.search": (("nas.search", "nas.search_spaces", "nas.errors"), ("numpy", "jax")),
    **{leaf: (("nas.errors", "nas.quiet"), None) for leaf in LEAVES},  # nas.quiet: what libraries print
    **{lib: (LIBRARIES + LEAVES + ("nas.errors", "nas.search_spaces", "nas.search"), None) for lib in LIBRARIES},
    "nas.evaluators": (("nas.evaluators", "nas.search_spaces", "nas.errors") + LEAVES, None),
    "nas.config": (("nas",), None),
    "nas.pipeline": (("nas",), None),
    "nas.api": (("nas",), None),
    "nas.checks": (("nas",), None),
}
FORBIDDEN_EVERYWHERE_BUT_CLI = ("nas.cli",)


def _module_name(path: Path, root: Path) -> str:
    """The import name of the source file ``path`` once installed."""
    parts = path.relative_to(root).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    top, _, rest = name.partition(".")
    return ".".join(filter(None, (INSTALLED_AS.get(top, top), rest)))


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _sources():
    for pkg in ("nas", "search_spaces", "evaluators", "hardware_profiles"):
        yield from sorted((ROOT / pkg).rglob("*.py"))


def _write_tree(root: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: source}`` under ``root`` (a planted source tree for the checkers)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def layer_violations(paths, root: Path = ROOT) -> list[str]:
    """``"<module> imports <name>"`` for every import that breaks :data:`RULES`."""
    violations = []
    for path in paths:
        mod = _module_name(path, root)
        rule = next((RULES[k] for k in sorted(RULES, key=len, reverse=True) if _under(mod, (k,))), None)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "__future__" or top in STDLIB:
                continue
            if top in PROJECT:
                if top in INSTALLED_AS:  # a folder's name: no such package once installed
                    violations.append(f"{mod} imports {name} (installed as {INSTALLED_AS[top]})")
                elif _under(name, FORBIDDEN_EVERYWHERE_BUT_CLI) and not _under(mod, ("nas.cli",)):
                    violations.append(f"{mod} imports {name}")
                elif rule is not None and not _under(name, rule[0]):
                    violations.append(f"{mod} imports {name}")
            elif rule is not None and rule[1] is not None and top not in rule[1]:
                violations.append(f"{mod} imports third-party {name}")
    return violations


def test_every_import_respects_the_layers():
    assert layer_violations(_sources()) == []


def test_tests_and_scripts_import_the_installed_names():
    """Tests and the checkout's scripts import jaxnas by its installed names: ``search_spaces``
    beside ``nas.search_spaces`` would load every module of the folder a second time."""
    folders = set(INSTALLED_AS) - {"experiments"}  # experiments.benchmarks/.tools: checkout scripts
    found = [f"{path.relative_to(ROOT)}: {name}"
             for path in sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "experiments").rglob("*.py"))
             for name in _imports(path) if name.split(".")[0] in folders]
    assert found == []


def _run_time_imports(tree: ast.AST):
    """Import statements of ``tree``, local ones included, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(paths, root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports, by the rule of the module docstring."""
    modules = {_module_name(p, root): p for p in paths}
    graph = {}
    for mod, path in modules.items():
        edges = set()
        for node in _run_time_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif node.module in modules and node.level == 0:
                edges.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                             for a in node.names)
        graph[mod] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[str]:
    """One ``"a -> b -> ... -> a"`` per group of modules that import one another in a circle
    (a strongly connected component of ``graph``), shortest circle through its first module."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):  # Tarjan; the graph has a few hundred modules, far below the recursion limit
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while v not in group:
                group.add(stack.pop())
            on_stack.difference_update(group)
            if len(group) > 1 or v in graph[v]:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:
        start = min(group)
        paths, seen = [[start]], set()
        while paths:  # breadth-first back to start inside the group
            path = paths.pop(0)
            nxt = sorted(w for w in graph[path[-1]] if w in group)
            if start in nxt:
                cycles.append(" -> ".join(path + [start]))
                break
            for w in nxt:
                if w not in seen:
                    seen.add(w)
                    paths.append(path + [w])
    return sorted(cycles)


def test_no_module_imports_itself_back():
    cycles = import_cycles(import_graph(_sources()))
    assert cycles == [], "modules that import themselves back:\n" + "\n".join(cycles)


def test_import_cycle_check_catches_circles(tmp_path):
    """The checker itself can fail: a circle through a local import and a submodule named by
    ``from pkg import mod``, and one through a package ``__init__`` re-export, are found; a
    ``TYPE_CHECKING`` import and a module importing its own package's sibling are not circles."""
    files = {"nas/__init__.py": "",
             "nas/a.py": "from nas.b import f\n",
             "nas/b.py": "def f():\n    import nas.c\n",
             "nas/c.py": "from nas import a\n",
             "nas/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nas.e import E\n",
             "nas/e.py": "from nas.d import D\n",
             "search_spaces/__init__.py": "from nas.search_spaces.x import X\n",
             "search_spaces/x.py": "from nas.search_spaces.y import Y\n",
             "search_spaces/y.py": "import numpy\nfrom nas.search_spaces import X\n",
             "search_spaces/z.py": "from nas.search_spaces.x import X\n"}
    _write_tree(tmp_path, files)
    graph = import_graph(sorted(tmp_path.rglob("*.py")), tmp_path)
    assert import_cycles(graph) == ["nas.a -> nas.b -> nas.c -> nas.a",
                                    "nas.search_spaces -> nas.search_spaces.x -> nas.search_spaces.y -> "
                                    "nas.search_spaces"]


def test_hardware_profiles_is_data_only():
    code = sorted(p.name for p in (ROOT / "hardware_profiles").rglob("*.py"))
    assert code == ["__init__.py"]
    tree = ast.parse((ROOT / "hardware_profiles" / "__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) for n in tree.body)  # a docstring, nothing else
    assert list((ROOT / "hardware_profiles").glob("*.yaml"))


def test_layer_rules_catch_violations(tmp_path):
    """The checker itself can fail: forbidden imports, local or not, are reported."""
    files = {"nas/search/bad.py": "def f():\n    from nas.evaluators import CachedEvaluator\n    import flax\n",
             "nas/train/bad.py": "from nas.pipeline.search import run_stage\n",
             "evaluators/bad.py": "import nas.cli.main\n",
             "evaluators/scoring.py": "def f():\n    from nas.train.evaluate import subnet_accuracy\n"
                                      "    import nas.data\n    from nas.latency import load_profile\n",
             "evaluators/good.py": "from nas.files import read_text\nfrom nas.errors import InputError\n"
                                   "from nas.search_spaces import Arch\nfrom nas.evaluators.base import Evaluator\n",
             "nas/search/good.py": "import numpy, jax, os\nfrom nas.search_spaces import Arch\nimport nas.errors\n",
             "nas/errors.py": "import json\n\ndef f():\n    from nas.search_spaces.arch import Arch\n",
             "nas/cli/old.py": "from search_spaces import Arch\n",
             "search_spaces/bad.py": "from nas.errors import InputError\nfrom nas.files import read_json\n"}
    _write_tree(tmp_path, files)
    got = layer_violations(sorted(tmp_path.rglob("*.py")), tmp_path)
    assert sorted(got) == ["nas.cli.old imports search_spaces (installed as nas.search_spaces)",
                           "nas.errors imports nas.search_spaces.arch",
                           "nas.evaluators.bad imports nas.cli.main", "nas.evaluators.scoring imports nas.data",
                           "nas.evaluators.scoring imports nas.latency",
                           "nas.evaluators.scoring imports nas.train.evaluate",
                           "nas.search.bad imports nas.evaluators", "nas.search.bad imports third-party flax",
                           "nas.search_spaces.bad imports nas.files", "nas.train.bad imports nas.pipeline.search"]


ERROR_NAMES = ("InputError", "UnknownNameError", "loads_json", "loads_yaml", "json_depth", "MAX_JSON_DEPTH",
               "MAX_JSON_NODES")


def misplaced_error_imports(paths, root: Path = ROOT) -> list[str]:
    """``"<file>: from <module> import <name>"`` for every name of :mod:`nas.errors` imported
    from anywhere else (a module that merely passes it on)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module != "nas.errors":
                found += [f"{path.relative_to(root)}: from {node.module} import {a.name}"
                          for a in node.names if a.name in ERROR_NAMES and node.module.split(".")[0] in PROJECT]
    return found


def test_the_error_type_is_imported_from_its_one_module(tmp_path):
    tests = sorted((ROOT / "tests").rglob("*.py"))
    assert misplaced_error_imports(list(_sources()) + sorted((ROOT / "experiments").rglob("*.py")) + tests) == []
    (tmp_path / "m.py").write_text("from nas.search_spaces.arch import ArchError, InputError\n"
                                   "from nas.errors import loads_json\n")
    assert misplaced_error_imports([tmp_path / "m.py"], tmp_path) == [
        "m.py: from nas.search_spaces.arch import InputError"]


def test_the_error_module_loads_nothing_else():
    code = ("import sys\nbefore = set(sys.modules)\nimport nas.errors\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "['nas', 'nas.errors']"


def test_importing_the_search_core_loads_no_engine_parts():
    code = ("import sys, nas.search, nas.search.pareto\n"
            "heavy = ('nas.evaluators', 'nas.train', 'nas.data', 'nas.pipeline', 'nas.latency',\n"
            "         'flax', 'ray', 'optax')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_project_import_resolves():
    """Every ``import X`` / ``from X import Y`` of a project module, local imports included,
    names something that exists (a lazily imported typo would otherwise surface mid-run)."""
    import importlib

    missing = []
    for path in list(_sources()) + sorted((ROOT / "experiments").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                pairs = [(node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                pairs = [(a.name, None) for a in node.names]
            else:
                continue
            for module, name in pairs:
                if module.split(".")[0] not in PROJECT:
                    continue
                try:
                    mod = importlib.import_module(module)
                    if name is not None and not hasattr(mod, name):
                        importlib.import_module(f"{module}.{name}")
                except ImportError:
                    missing.append(f"{path.relative_to(ROOT)}: {module}" + (f".{name}" if name else ""))
    assert missing == []


def test_building_the_cli_parser_stays_light():
    """``nas --help`` and every command's start-up do not pay for SciPy, Ray, Flax, YAML, ONNX
    or plotting: commands import those when they run."""
    heavy = ("scipy", "ray", "flax", "optax", "orbax", "yaml", "onnx", "onnxruntime", "matplotlib")
    code = ("import sys, nas.cli.main\nnas.cli.main.build_parser()\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))"
            " + sorted(m for m in sys.modules if m.startswith('nas.evaluators')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
