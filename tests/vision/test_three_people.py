"""Families of three and a teenager (synthetic sessions with known answers, real models): every
person found with the right adult/child guess and a stable id, the right pair, and who looks at
whom (issue 24)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigcv.config import load_config
from vigcv.evaluation.people import score_people
from vigcv.io import probe
from vigcv.vision import extract_vision

SCRIPTS = {  # script: (roles scripted, the pair's parent may be any of, the pair's child)
    "siblings": ({"parent", "child", "sibling"}, {"parent"}, "child"),
    "two_parents": ({"parent", "parent2", "child"}, {"parent", "parent2"}, "child"),
    "older_child": ({"parent", "child"}, {"parent"}, "child"),
}


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def family(request):
    from vigcv.synth import cached_session

    session = cached_session(request.param)
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    truth = pd.read_csv(session.video.with_suffix(".truth.csv"))
    return request.param, features, truth, score_people(features, truth)


def test_everyone_is_found_with_a_stable_id_and_the_right_guess(family):
    name, features, _, scores = family
    people = scores["people"]
    roles, parents, child = SCRIPTS[name]
    print(name, people.to_string())
    assert set(people["role"]) == roles and people["role"].is_unique
    assert (people["swapped_share"] <= 0.02).all()  # no id moves to another face
    # a third person seen as steadily as the others is looked for again when the detector
    # misses her (the siblings' mother turned towards the sibling: found 13.8 of 18 s when
    # only two faces were re-looked for, all 18 s now; measured lowest share 0.88)
    assert (people["found_share"] >= 0.8).all()
    assert people["guess_right"].all()  # adults adult, children child (the teenager too)
    pair = dict(zip(people["pair_role"], people["role"], strict=True))
    assert pair["parent"] in parents and pair["child"] == child
    written = features.people.set_index("person")
    assert (written.loc[people["person"], "seconds_visible"] >= 10.0).all()


def _alone_on_its_side(truth: pd.DataFrame, looker: str, target: str) -> bool:
    """Whether ``target`` is the only other person on its side of ``looker`` in the image."""
    x = truth.groupby("role").apply(lambda r: float(np.median(r["x"] + r["w"] / 2)))
    side = np.sign(x[target] - x[looker])
    others = [r for r in x.index if r not in (looker, target)]
    return all(np.sign(x[r] - x[looker]) != side for r in others)


def test_a_look_at_the_only_person_on_that_side_is_right(family):
    # Where the looker has one person on that side, which way the head turns tells who is
    # looked at: a "yes" is right (precision), and the probability ranks the scripted looks
    # above the rest (threshold-free AUC; frames where the face is not measured count as no).
    # Measured: precision 1.0 wherever a yes is said, AUC 0.69-1.0.
    name, _, truth, scores = family
    looks = scores["looks"]
    checked = 0
    for row in looks.itertuples(index=False):
        if not _alone_on_its_side(truth, row.looker, row.target):
            continue
        if not row.found or row.steady_positives < 10:
            continue
        checked += 1
        what = (name, row.looker, row.target)
        assert np.isnan(row.steady_precision) or row.steady_precision >= 0.9, what
        assert row.steady_auc >= 0.65, what
    assert checked >= 2


# Issue 24's target, not met with three people (steady-frame F1 per pair, December 2026):
# siblings 0.0-1.0 (parent -> child 0.71, child -> parent 0.41, child -> sibling 0.0, sibling ->
# parent 1.0), two_parents 0.0-0.62. The scripts' toy lies under the middle person, so the two
# at the ends turn the same way to the toy as to the middle person (22.6-22.8 deg against
# 22.8-24.0) and only the pitch, which vigcv does not use (it did not carry between the real
# families), tells them apart; a far turn reads short (the little one's 41 deg to her mother reads
# 26-31); neighbours turn about 24 deg, under the 30 deg towards-threshold the real clips' folds
# choose (docs/benchmarks.md, "People beyond two"). With two people (older_child: a teenager
# nearly the parent's size) it is met: 1.0 / 1.0.
THREE_NOT_MET = {"siblings", "two_parents"}


def test_who_looks_at_whom_reaches_the_issue_target(family, request):
    name, _, _, scores = family
    if name in THREE_NOT_MET:
        reason = "issue 24's per-pair target with three people (THREE_NOT_MET)"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    looks = scores["looks"]
    assert (looks["steady_f1"] >= 0.85).all()
