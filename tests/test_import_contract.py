"""Services never import each other; shared never imports a service; domain code does no I/O;
inside a service the rooms are layered (house style). The contracts live in pyproject.toml
([tool.importlinter]); import-linter checks them. And no module imports itself through others."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "services", "borgerting")


def lint(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env)


def copy_tree(tmp_path: Path) -> None:
    for part in (*PACKAGES, "pyproject.toml"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)


def lint_copy(tmp_path: Path) -> subprocess.CompletedProcess:
    return lint(tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})


def test_import_contracts_hold():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(contracts)} kept, 0 broken" in out.stdout


def test_a_service_importing_another_breaks_the_contract(tmp_path):
    copy_tree(tmp_path)
    bad = tmp_path / "services" / "voting" / "sneaky.py"
    bad.write_text("from services.recruitment import models\n")
    out = lint_copy(tmp_path)
    assert out.returncode != 0
    assert "Services never import each other BROKEN" in out.stdout


def test_an_upward_import_inside_a_service_breaks_its_layers(tmp_path):
    # the circle that was: the job worker importing the handlers that run its jobs
    copy_tree(tmp_path)
    jobs = tmp_path / "services" / "sortition" / "jobs.py"
    jobs.write_text(jobs.read_text() + "\n\ndef _steps():\n    from services.sortition import handlers  # noqa: F401\n")
    out = lint_copy(tmp_path)
    assert out.returncode != 0
    assert "Sortition's rooms are layered BROKEN" in out.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of the module graph with more than one module (Tarjan;
    iterative, the graph has a thousand modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_no_import_circle_anywhere():
    # imports inside functions count too: a circle hidden that way is still a circle
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_hidden_circle():
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.d", "p.e")):
        graph.add_import(importer=a, imported=b)
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]
