"""The synthetic family with known change, run for real: progress.csv, the indicators of a visit
alone and with its family, the referrer's report (HTML, PDF, in Chromium from disk) and the
parent's journey."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.family.conftest import FAMILY, FamilyRun, vigcv
from tests.review.browser import chromium
from vigcv.family.indicators import PROGRESS_COLUMNS, visit_indicators
from vigcv.results import PROGRESS_FILE, PROGRESS_PLOT, list_sessions, read_moments
from vigcv.results.decisions import open_store

PRIVATE = "PRIVATE-NOTE-never-shared"
SET_ASIDE_NOTE = "SET-ASIDE-NOTE"


def test_progress_has_the_visits_in_date_order_and_the_scripted_growth(
    family_run: FamilyRun,
) -> None:
    sessions = list_sessions(family_run.out)
    assert sessions == [f"{FAMILY}/2026-01-10", f"{FAMILY}/2026-02-07", f"{FAMILY}/2026-03-06"]
    progress = pd.read_csv(family_run.family / PROGRESS_FILE)
    assert list(progress.columns) == list(PROGRESS_COLUMNS)
    assert list(progress["date"]) == ["2026-01-10", "2026-02-07", "2026-03-06"]
    assert set(progress["date_source"]) == {"file name"}
    assert progress["comparable"].all()  # both faces are in view all along
    gaze = progress["mutual_gaze_min_per_10min"].tolist()
    answered = progress["answered_share"].tolist()
    # the scripts: mutual gaze about 2 s, then about 9 s, then about 19 s of 30 s; at visit 1 the
    # mother answers one of the child's three calls late and misses one, at visit 3 she answers
    # every call within a second. The share also counts the child's looks and smiles as
    # initiatives (answered when the mother already looks at her), which the scripts do not fix,
    # so what the scenes guarantee is the rise and the unanswered calls of visit 1.
    assert gaze[0] < gaze[1] < gaze[2], gaze
    assert gaze[2] > 3 * gaze[0]
    assert answered[0] < answered[2], answered
    assert answered[0] < 1.0 and answered[2] >= 0.8, answered
    counts = progress[["initiatives", "answered_2s"]].to_numpy()
    assert counts[0][1] <= counts[0][0] - 2  # visit 1: the late call and the missed one
    assert (family_run.family / PROGRESS_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_visit_has_the_same_indicators_alone_or_with_its_family(family_run: FamilyRun) -> None:
    assert list_sessions(family_run.alone) == ["2026-02-07"]  # given directly: the flat layout
    with_family = visit_indicators(family_run.family / "2026-02-07")
    alone = visit_indicators(family_run.alone / "2026-02-07")
    assert alone == pytest.approx(with_family, nan_ok=True)
    row = pd.read_csv(family_run.family / PROGRESS_FILE).set_index("visit").loc["2026-02-07"]
    assert row["mutual_gaze_min_per_10min"] == pytest.approx(
        alone["mutual_gaze_min_per_10min"], abs=1e-4
    )
    assert row["answered_2s"] == alone["answered_2s"]


def _review(out: Path) -> dict[str, list[tuple[float, float]]]:
    """Keep the best moment of each visit (with a note for the parent and a private note) and
    set the second aside; returns the set-aside bounds per session."""
    set_aside: dict[str, list[tuple[float, float]]] = {}
    with open_store(out) as store:
        for session in list_sessions(out):
            moments = read_moments(out / session)
            assert moments, session
            best = moments[0].segment
            for field, value in (
                ("status", "accepted"),
                ("note", f"{PRIVATE} {session}"),
                ("parent_note", f"You waited for her at {session[-5:]}"),
            ):
                store.set_field(session, start=best.start, end=best.end, field=field, value=value)
            for m in moments[1:2]:
                seg = m.segment
                store.set_field(session, start=seg.start, end=seg.end, field="status",
                                value="rejected")  # fmt: skip
                store.set_field(session, start=seg.start, end=seg.end, field="note",
                                value=SET_ASIDE_NOTE)  # fmt: skip
                set_aside.setdefault(session, []).append((seg.start, seg.end))
    return set_aside


@pytest.fixture(scope="module")
def reviewed(family_run: FamilyRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reviewed") / "out"
    shutil.copytree(family_run.out, out)
    _review(out)
    return out


def test_the_referrer_report_from_disk_and_as_pdf(reviewed: Path) -> None:
    family = reviewed / FAMILY
    (family / "referrer_text.md").write_text(
        "# The work\n\nSix sessions of shared review with Ms Lee.\n", encoding="utf-8"
    )
    proc = vigcv("report", family)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (folder,) = (family / "reports").iterdir()
    page = folder / "report.html"
    text = page.read_text(encoding="utf-8")
    for date in ("10 January 2026", "7 February 2026", "6 March 2026"):
        assert date in text
    assert "Six sessions of shared review with Ms Lee." in text  # the guider's own text
    assert "Parent and child looked at each other for longer" in text
    assert "The parent answered more of the child" in text
    assert PRIVATE not in text and SET_ASIDE_NOTE not in text
    assert "You waited for her" not in text  # notes for the parent stay with the parent
    assert text.count("<img src='data:image/jpeg") == 3  # one kept moment per visit
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", text)  # nothing from the network
    assert "referrer_text.md" in text
    # the guider's text is kept between reports; the earlier report is not replaced
    proc = vigcv("report", family, "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    assert len(list((family / "reports").iterdir())) == 2
    assert (family / "referrer_text.md").read_text(encoding="utf-8").startswith("# The work")
    assert page.read_text(encoding="utf-8") == text

    with chromium() as browser:
        browser.get(page.as_uri())
        assert browser.title.startswith("VIG summary")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        images = browser.execute_script(
            "return [...document.images].map(i => i.complete && i.naturalWidth > 0)"
        )
        assert images and all(images)

    pdf = folder / "report.pdf"
    if not pdf.is_file():
        pytest.skip("no Chromium to print with: " + proc.stderr)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 1 <= pages <= 6
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not checked")
    printed = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for date in ("10 January 2026", "7 February 2026", "6 March 2026"):
        assert date in printed
    assert "Six sessions of shared review with Ms Lee." in printed  # the last text is there
    assert "Mutual gaze" in printed and PRIVATE not in printed
    width = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert f"Pages:{pages:>16}" in width or re.search(rf"Pages:\s+{pages}\b", width)


def test_the_parents_journey_shows_kept_moments_and_notes_only(reviewed: Path) -> None:
    proc = vigcv("report", reviewed / FAMILY, "--for", "parent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (page,) = (reviewed / FAMILY / "journey").glob("*/journey.html")
    text = page.read_text(encoding="utf-8")
    visits = [text.index(d) for d in ("10 January 2026", "7 February 2026", "6 March 2026")]
    assert visits == sorted(visits)  # side by side in date order
    for date in ("01-10", "02-07", "03-06"):
        assert f"You waited for her at {date}" in text
    assert PRIVATE not in text and SET_ASIDE_NOTE not in text
    assert text.count("<img src='data:image/jpeg") == 3
    shown = re.sub(r"<style>.*?</style>", "", text, flags=re.S).lower()
    for word in ("score", "%", "progress", "indicator", "<svg", "mutual gaze"):
        assert word not in shown
    with chromium() as browser:
        browser.get(page.as_uri())
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
