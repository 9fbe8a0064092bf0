"""Runs of True (vigcv.intervals) on arrays whose runs are known."""

from __future__ import annotations

import numpy as np
import pytest

from vigcv.intervals import true_runs


def _by_diff(mask: np.ndarray) -> list[tuple[int, int]]:
    """The numpy idiom the modules used before, as an independent reference."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, dtype=int), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ([], []),
        ([False], []),
        ([True], [(0, 1)]),
        ([False] * 5, []),
        ([True] * 5, [(0, 5)]),
        ([True, False, False, True], [(0, 1), (3, 4)]),
        ([True, True, False, True, True], [(0, 2), (3, 5)]),
        ([False, True, False, True, False], [(1, 2), (3, 4)]),
        ([False, True, True, True, False, False, True], [(1, 4), (6, 7)]),
    ],
)
def test_runs_of_known_arrays(mask: list[bool], expected: list[tuple[int, int]]) -> None:
    runs = true_runs(np.array(mask, dtype=bool))
    assert runs == expected
    assert all(type(a) is int and type(b) is int for a, b in runs)


def test_runs_match_the_numpy_idiom_on_random_flags() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 1000):
        for share in (0.1, 0.5, 0.9):
            mask = rng.random(n) < share
            assert true_runs(mask) == _by_diff(mask)


def test_non_boolean_input_counts_non_zero_as_true() -> None:
    assert true_runs(np.array([0, 2, 1, 0, -1])) == [(1, 3), (4, 5)]
    assert true_runs([True, False, True]) == [(0, 1), (2, 3)]


def test_two_dimensional_input_is_refused() -> None:
    with pytest.raises(ValueError, match="1-D"):
        true_runs(np.ones((2, 2), dtype=bool))
