"""The moments of a session's other parent-child pairs in the exports (issue 24 item 3): kept ones
go into the same report and folder with whose moment it is in the caption and the clip's name;
the guider's version and its decisions CSV hold every pair's decisions apart; faces are blurred
by the same rules as the session's own clips."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from pympi.Elan import Eaf

from tests.review.outdir import make_out
from tests.review.pairsdata import PAIR, write_three_people_session
from vigcv.export import export_out, pair_slug
from vigcv.io import probe
from vigcv.results import name_person
from vigcv.results.decisions import open_store

SESSION = "siblings"


@pytest.fixture(scope="module")
def pairs_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = make_out(tmp_path_factory.mktemp("pairs-export"), sessions=())
    write_three_people_session(out, SESSION, out.parent / "media" / "play.mp4")
    for person, name, parent, child in ((0, "Mum", True, False), (1, "Ellie", False, True),
                                        (2, "Sam", False, False)):  # fmt: skip
        name_person(out, SESSION, person, name=name, parent_figure=parent, index_child=child,
                    may_show=True, reviewer="Jo")  # fmt: skip
    return out


@pytest.fixture
def pairs_out(pairs_template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(pairs_template, out)
    return out


def _keep(out: Path, pair: str, start: float, end: float, note: str = "") -> None:
    with open_store(out) as store:
        store.set_field(SESSION, start=start, end=end, field="status", value="accepted", pair=pair)
        if note:
            store.set_field(SESSION, start=start, end=end, field="parent_note", value=note,
                            pair=pair)  # fmt: skip


def _clips(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "clips").glob("*.mp4"))


def test_the_parents_version_names_whose_moment_each_clip_is(pairs_out: Path) -> None:
    _keep(pairs_out, PAIR, 1.0, 4.0, note="Sam waited for you.")  # Mum and Sam's moment 1
    _keep(pairs_out, "", 5.0, 8.0)  # the session's own moment 2 (Mum and Ellie)
    result = export_out(pairs_out)
    (folder,) = result.folders
    assert result.clips == 2
    # numbered in film order across the pairs, each named by its pair
    assert _clips(folder) == [
        "siblings-moment1-00m01s-mum-and-sam.mp4",
        "siblings-moment2-00m05s-mum-and-ellie.mp4",
    ]
    assert probe(folder / "clips" / _clips(folder)[0]).duration == pytest.approx(3.0, abs=0.1)
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "2 moments from your film" in report
    captions = re.findall(r"<div class='whose'>([^<]+)</div>", report)
    assert captions == ["Mum and Sam", "Mum and Ellie"]
    assert "Sam waited for you." in report
    # the blur rules are the session's own: no face tracks here, so every face is blurred, told
    assert any("no face tracks" in w for w in result.warnings)


def test_only_the_sessions_own_pair_kept_exports_as_before(pairs_out: Path) -> None:
    _keep(pairs_out, "", 1.0, 4.0)
    (folder,) = export_out(pairs_out).folders
    assert _clips(folder) == ["siblings-moment1-00m01s.mp4"]
    assert "class='whose'" not in (folder / "report.html").read_text(encoding="utf-8")


def test_a_pair_with_nothing_kept_leaves_the_parents_version_out(pairs_out: Path) -> None:
    with open_store(pairs_out) as store:
        store.set_field(SESSION, start=1.0, end=4.0, field="status", value="rejected", pair=PAIR)
    with pytest.raises(Exception, match="nothing to share"):
        export_out(pairs_out)


def test_the_guiders_version_holds_every_pairs_decisions(pairs_out: Path) -> None:
    _keep(pairs_out, PAIR, 6.0, 9.5)
    with open_store(pairs_out) as store:
        store.set_field(SESSION, start=1.0, end=4.0, field="note", value="mine", pair="")
        store.set_field(SESSION, start=1.0, end=4.0, field="status", value="rejected", pair=PAIR)
        # a decision of the pair's that no current moment matches any more (after a re-score)
        store.set_field(SESSION, start=14.0, end=15.0, field="note", value="gone", pair=PAIR)
        # and one of a pair no longer found (the people were found again differently)
        store.set_field(SESSION, start=2.0, end=3.0, field="note", value="was 1-2", pair="1-2")
    result = export_out(pairs_out, audience="guider")
    (folder,) = result.folders
    assert _clips(folder) == ["siblings-m02-00m06s-mum-and-sam.mp4"]
    table = pd.read_csv(folder / "decisions.csv", keep_default_na=False, dtype={"pair": str})
    assert list(table["pair"]) == ["", "", "", PAIR, PAIR, PAIR, "1-2"]
    assert list(table["pair_names"][:3]) == ["Mum and Ellie"] * 3
    assert list(table["pair_names"][3:6]) == ["Mum and Sam"] * 3
    assert list(table["status"]) == ["", "", "", "rejected", "accepted", "", ""]
    assert list(table["note"]) == ["mine", "", "", "", "", "gone", "was 1-2"]
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert report.count("<div class='whose'>Mum and Sam</div>") == 2
    assert report.count("<div class='whose'>Mum and Ellie</div>") == 3
    # the timeline and the ELAN file are the session's own pair's
    eaf = Eaf(str(folder / "siblings.eaf"))
    moments = sorted(eaf.get_annotation_data_for_tier("Moments"))
    assert [(a, b) for a, b, _ in moments] == [(1000, 4000), (5000, 8000), (8500, 11500)]
    (everything,) = (pairs_out / "exports").glob("decisions-*.csv")
    assert len(pd.read_csv(everything)) == 7


def test_pair_slug() -> None:
    assert pair_slug("Mum and Sam (brother)") == "mum-and-sam-brother"
    assert pair_slug("the parent and child 2") == "the-parent-and-child-2"
    assert pair_slug("Zoë & Dad/..") == "zoë-dad"
