"""Arrows point down (../DESIGN.md, ARCHITECTURE.md): no import cycle among vigcv's modules or
its packages, the library never imports the command line, scoring touches no disk or model, and
the exports and the review page meet only in vigcv.results.

grimp reads every ``import`` statement in the source, those inside functions included (an
import placed in a function to dodge a cycle is a cycle all the same); imports guarded by
``TYPE_CHECKING`` are left out, since they never run.
"""

from __future__ import annotations

from collections import defaultdict

import grimp
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("vigcv", exclude_type_checking_imports=True, cache_dir=None)


def _edges(graph: grimp.ImportGraph, name) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = name(module), name(imported)
            if a != b:
                edges[a].add(b)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (each holds a cycle)."""
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})
    index = {n: i for i, n in enumerate(nodes)}
    rows = [index[a] for a, targets in edges.items() for _ in targets]
    cols = [index[b] for targets in edges.values() for b in targets]
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, list[str]] = defaultdict(list)
    for node in nodes:
        groups[int(labels[index[node]])].append(node)
    return [group for group in groups.values() if len(group) > 1]


def _package(module: str) -> str:
    """``vigcv.review.server`` -> ``vigcv.review``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_import_cycle_among_modules(graph: grimp.ImportGraph) -> None:
    assert _cycles(_edges(graph, lambda m: m)) == []


def test_no_import_cycle_among_packages(graph: grimp.ImportGraph) -> None:
    edges = _edges(graph, _package)
    edges.pop("vigcv", None)  # the package's __init__ imports nothing at run time
    assert _cycles(edges) == []


def test_the_library_never_imports_the_command_line(graph: grimp.ImportGraph) -> None:
    front = {"vigcv.cli", "vigcv.commands"}
    offenders = {
        (module, imported)
        for module in graph.modules
        if _package(module) not in front
        for imported in graph.find_modules_directly_imported_by(module)
        if _package(imported) in front
    }
    assert offenders == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("vigcv.scoring", {"vigcv.io", "vigcv.results", "vigcv.vision", "vigcv.audio"}),
        ("vigcv.export", {"vigcv.review"}),
        ("vigcv.review", {"vigcv.export"}),
        ("vigcv.results", {"vigcv.export", "vigcv.review", "vigcv.pipeline"}),
    ],
)
def test_arrows_point_down(graph: grimp.ImportGraph, package: str, forbidden: set[str]) -> None:
    offenders = {
        (module, imported)
        for module in graph.modules
        if _package(module) == package
        for imported in graph.find_modules_directly_imported_by(module)
        if _package(imported) in forbidden
    }
    assert offenders == set()
