"""`vigcv --help` answers without loading the pipeline; the package's public names still work."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vigcv

HEAVY = ("pandas", "av", "cv2", "onnxruntime", "mediapipe", "vigcv.pipeline")


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["score", "--help"]])
def test_help_does_not_import_the_pipeline(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from vigcv.cli import app\n"
        f"try:\n    app({argv!r})\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        f"print('loaded:', ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Usage" in done.stdout
    assert done.stdout.splitlines()[-1].rstrip() == "loaded:"


def test_public_names_resolve_on_first_use() -> None:
    from vigcv import FrameFeatures, load, score
    from vigcv.pipeline import load as pipeline_load

    assert load is pipeline_load
    assert FrameFeatures.__module__ == "vigcv.types"
    assert callable(score)
    assert set(vigcv.__all__) <= set(dir(vigcv))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = vigcv.nope  # type: ignore[attr-defined]
