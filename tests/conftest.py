"""Shared fixtures: a seeded rng, the optional real evaluation data, a scratch dir per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    """../shared/eval with real clips and labels; tests that use it skip when it is absent."""
    if not (SHARED_EVAL / "parent-child").is_dir():
        pytest.skip("../shared/eval is not here (a fresh clone): real-data test skipped")
    return SHARED_EVAL
