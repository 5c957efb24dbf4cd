"""The package layers of DESIGN.md, checked on every import statement of the source tree
(module-level and function-local alike), and at run time for the search core.

    nas.errors                         the bottom: the error type and the bounded parsers; imports
                                       nothing of the project
    search_spaces                      nas.errors and nothing else of the project
    nas.search (the search core)       NumPy, JAX, search_spaces and nas.errors only
    nas.{files,rundir,raycluster}      leaf utilities: nas.errors only
    nas.{data,train,latency,export,report}  libraries: never evaluators, the pipeline or the CLI
    evaluators                         libraries + search_spaces: never the pipeline or the CLI
    nas.{config,pipeline}              wire everything; never the CLI
    hardware_profiles                  data: no code that anything imports back
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("nas", "search_spaces", "evaluators", "hardware_profiles", "experiments")
STDLIB = set(sys.stdlib_module_names)
LIBRARIES = ("nas.data", "nas.train", "nas.latency", "nas.export", "nas.report")
LEAVES = ("nas.files", "nas.rundir", "nas.raycluster")

# package -> (project modules it may import, third-party top-level packages it may import; None: any)
RULES = {
    "nas.errors": ((), None),
    "search_spaces": (("search_spaces", "nas.errors"), None),
    "nas.search": (("nas.search", "search_spaces", "nas.errors"), ("numpy", "jax")),
    **{leaf: (("nas.errors",), None) for leaf in LEAVES},
    **{lib: (LIBRARIES + LEAVES + ("nas.errors", "search_spaces", "nas.search"), None) for lib in LIBRARIES},
    "evaluators": (("evaluators", "search_spaces", "nas.errors") + LIBRARIES + LEAVES, None),
    "nas.config": (("nas", "evaluators", "search_spaces"), None),
    "nas.pipeline": (("nas", "evaluators", "search_spaces"), None),
}
FORBIDDEN_EVERYWHERE_BUT_CLI = ("nas.cli",)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


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
                if _under(name, FORBIDDEN_EVERYWHERE_BUT_CLI) and not _under(mod, ("nas.cli",)):
                    violations.append(f"{mod} imports {name}")
                elif rule is not None and not _under(name, rule[0]):
                    violations.append(f"{mod} imports {name}")
            elif rule is not None and rule[1] is not None and top not in rule[1]:
                violations.append(f"{mod} imports third-party {name}")
    return violations


def test_every_import_respects_the_layers():
    assert layer_violations(_sources()) == []


def test_hardware_profiles_is_data_only():
    code = sorted(p.name for p in (ROOT / "hardware_profiles").rglob("*.py"))
    assert code == ["__init__.py"]
    tree = ast.parse((ROOT / "hardware_profiles" / "__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) for n in tree.body)  # a docstring, nothing else
    assert list((ROOT / "hardware_profiles").glob("*.yaml"))


def test_layer_rules_catch_violations(tmp_path):
    """The checker itself can fail: forbidden imports, local or not, are reported."""
    files = {"nas/search/bad.py": "def f():\n    from evaluators import CachedEvaluator\n    import flax\n",
             "nas/train/bad.py": "from nas.pipeline.search import run_stage\n",
             "evaluators/bad.py": "import nas.cli.main\n",
             "nas/search/good.py": "import numpy, jax, os\nfrom search_spaces import Arch\nimport nas.errors\n",
             "nas/errors.py": "import json\n\ndef f():\n    from search_spaces.arch import Arch\n",
             "search_spaces/bad.py": "from nas.errors import InputError\nfrom nas.files import read_json\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    got = layer_violations(sorted(tmp_path.rglob("*.py")), tmp_path)
    assert sorted(got) == ["evaluators.bad imports nas.cli.main", "nas.errors imports search_spaces.arch",
                           "nas.search.bad imports evaluators", "nas.search.bad imports third-party flax",
                           "nas.train.bad imports nas.pipeline.search", "search_spaces.bad imports nas.files"]


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
    (tmp_path / "m.py").write_text("from search_spaces.arch import ArchError, InputError\n"
                                   "from nas.errors import loads_json\n")
    assert misplaced_error_imports([tmp_path / "m.py"], tmp_path) == ["m.py: from search_spaces.arch import InputError"]


def test_the_error_module_loads_nothing_else():
    code = ("import sys\nbefore = set(sys.modules)\nimport nas.errors\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "['nas', 'nas.errors']"


def test_importing_the_search_core_loads_no_engine_parts():
    code = ("import sys, nas.search, nas.search.pareto\n"
            "heavy = ('evaluators', 'nas.train', 'nas.data', 'nas.pipeline', 'nas.latency', 'flax', 'ray', 'optax')\n"
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
    heavy = ("scipy", "ray", "flax", "optax", "orbax", "yaml", "onnx", "onnxruntime", "matplotlib", "evaluators")
    code = ("import sys, nas.cli.main\nnas.cli.main.build_parser()\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
