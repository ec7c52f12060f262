"""The layers of the package point one way: a test that parses every import.

    rank 0  registry, rng, viz, image metrics, distributions  (nothing of ae_jax below)
    rank 1  data, models, corruption, optimizers, parallel, checkpoints, metric writers,
            latent-space figures
    rank 2  objectives, state, loops (compiled loops), forward
    rank 3  families, runs (vmapped runs)
    rank 4  run (a workdir loaded once: ae_jax.load)
    rank 5  engine (the trainer) | evaluation (tasks): neither imports the other
    rank 6  sweeps
    rank 7  benchmark (the zoo benchmark)

A module may import modules of a lower rank, and modules of its own unit (the same entry of
the table); an import of a higher rank, of another unit of the same rank, of `configs` or of
`projects`, or any cycle, fails. Models never import objectives, training or evaluation;
evaluation never the trainer; configs nothing of ae_jax.
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "ae_jax")

RANKS = {
    "ae_jax": 0, "ae_jax.registry": 0, "ae_jax.rng": 0, "ae_jax.viz": 0,
    "ae_jax.distributions": 0, "ae_jax.files": 0, "ae_jax.errors": 0,
    "ae_jax.signals": 0, "ae_jax.faults": -1, "ae_jax.compilation_cache": 0, "ae_jax.cli": 0,
    "ae_jax.image_metrics": 0,
    "ae_jax.viz_latent": 1, "ae_jax.data": 1, "ae_jax.models": 1, "ae_jax.corruption": 1,
    "ae_jax.optimizers": 1,
    "ae_jax.parallel": 1, "ae_jax.checkpoints": 1, "ae_jax.metric_writers": 1,
    "ae_jax.objectives": 2, "ae_jax.state": 2, "ae_jax.loops": 2, "ae_jax.forward": 2,
    "ae_jax.families": 3, "ae_jax.runs": 3,
    "ae_jax.run": 4,
    "ae_jax.engine": 5, "ae_jax.evaluation": 5,
    "ae_jax.sweeps": 6, "ae_jax.benchmark": 7,
}


def module_files() -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            out[rel.removesuffix(".__init__")] = path
    return out


def imports_of(path: str, modules: dict) -> set[str]:
    """Every module `path` imports (anywhere in the file), resolved to module names."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def unit(module: str) -> str:
    """The entry of RANKS a module belongs to (the longest prefix)."""
    best = ""
    for name in RANKS:
        prefix = name != "ae_jax" and module.startswith(name + ".")
        if (module == name or prefix) and len(name) > len(best):
            best = name
    return best


def graph() -> dict[str, set[str]]:
    modules = module_files()
    return {m: imports_of(p, modules) for m, p in modules.items()}


def test_every_module_has_a_rank():
    unranked = sorted(m for m in module_files() if not unit(m))
    assert not unranked, f"add these modules to RANKS in {__file__}: {unranked}"


def test_imports_point_down():
    bad = []
    for module, imported in graph().items():
        for other in imported:
            top = other.split(".")[0]
            if top in ("configs", "projects", "tests"):
                bad.append(f"{module} imports {other}")
            if top != "ae_jax" or other == "ae_jax":
                continue
            a, b = unit(module), unit(other)
            if not b:
                bad.append(f"{module} imports {other}, which does not exist")
            elif RANKS[b] > RANKS[a] or (RANKS[b] == RANKS[a] and a != b):
                bad.append(f"{module} (rank {RANKS[a]}) imports {other} (rank {RANKS[b]})")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(m, path):
        state[m] = 1
        for other in sorted(g.get(m, ())):
            if other not in g or other == m:
                continue
            if state.get(other) == 1:
                pytest.fail("import cycle: " + " -> ".join(path + [m, other]))
            if not state.get(other):
                visit(other, path + [m])
        state[m] = 2

    for m in sorted(g):
        if not state.get(m):
            visit(m, [])


def test_configs_import_nothing_of_the_package():
    bad = []
    for name in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        if name.endswith(".py"):
            path = os.path.join(ROOT, "configs", name)
            bad += [f"configs/{name} imports {m}" for m in imports_of(path, {})
                    if m.split(".")[0] == "ae_jax"]
    assert not bad, "\n".join(bad)


def test_the_checker_catches_an_upward_import(tmp_path):
    """The rule itself: an evaluation module importing the trainer is flagged."""
    path = tmp_path / "task.py"
    path.write_text("from ae_jax.engine.trainer import train_and_evaluate\n")
    imported = imports_of(str(path), module_files())
    assert "ae_jax.engine.trainer" in imported
    a, b = unit("ae_jax.evaluation.task"), unit("ae_jax.engine.trainer")
    assert RANKS[a] == RANKS[b] and a != b  # same rank, other unit: refused


def test_no_function_is_longer_than_60_lines():
    """Small functions: the house rule, kept by a test (docstrings count)."""
    long = []
    for module, path in module_files().items():
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert not long, "\n".join(long)
