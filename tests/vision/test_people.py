"""People beyond two roles: adult/child guesses, the default pair, identity-aware tracks, who
looks at whom among three (constructed inputs with known answers)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.vision.extract import features_from_scan
from vigcv.vision.pairs import PairError, pair_features, parent_child_pairs
from vigcv.vision.people import choose_pair, guess_roles, target_weights
from vigcv.vision.scan import MEASURE_FIELDS, ScanResult
from vigcv.vision.track import link_identities, split_by_identity, summarise_tracks

FPS = 10.0
SETTINGS = dict(face_split=0.98, face_scale=0.05, face_prior_frames=5.0, size_scale=0.15)


def _guess(lower: dict[int, float], size: dict[int, float], seen: dict[int, int], n: int = 50):
    def series(value: float, k: int) -> np.ndarray:
        out = np.full(n, np.nan)
        out[: seen[k]] = value
        return out

    return guess_roles(
        lower_face={k: series(v, k) for k, v in lower.items()},
        size={k: series(v, k) for k, v in size.items()},
        detected={k: ~np.isnan(series(1.0, k)) for k in size},
        fps=FPS,
        **SETTINGS,
    )


def test_a_teenager_as_large_as_the_parent_is_told_by_face_proportions():
    # Same face size; the child's lower face is short for its eyes.
    g = _guess({0: 1.12, 1: 0.90}, {0: 100.0, 1: 100.0}, {0: 50, 1: 50})
    assert (g[0].role, g[1].role) == ("adult", "child")
    assert g[0].confidence > 0.75 and g[1].confidence > 0.75


def test_without_face_measures_the_smaller_face_is_the_child_and_unsure():
    g = _guess({}, {0: 100.0, 1: 85.0}, {0: 50, 1: 50})
    assert (g[0].role, g[1].role) == ("adult", "child")
    assert g[1].confidence < 0.8  # a size ratio of 0.85 is weak evidence


def test_a_failed_mesh_is_not_a_measurement():
    g = _guess({0: 0.0, 1: 0.0}, {0: 100.0, 1: 70.0}, {0: 50, 1: 50})
    assert g[0].face_measures == 0 and (g[0].role, g[1].role) == ("adult", "child")


def test_the_pair_is_the_most_visible_adult_and_child_not_a_small_stray():
    # Person 2 is tiny (a picture on the wall) and seen briefly: the most child-like by size,
    # but the index child is the child seen most.
    g = _guess({0: 1.10, 1: 0.90, 2: 0.92}, {0: 100.0, 1: 75.0, 2: 30.0}, {0: 50, 1: 45, 2: 12})
    pair = choose_pair(g)
    assert (pair.parent, pair.child, pair.method) == (0, 1, "role_guess")


def test_two_parents_and_a_child_pair_the_child_with_the_parent_seen_most():
    g = _guess({0: 1.08, 1: 1.15, 2: 0.88}, {0: 95, 1: 100, 2: 70}, {0: 50, 1: 30, 2: 50})
    assert [g[k].role for k in range(3)] == ["adult", "adult", "child"]
    assert (choose_pair(g).parent, choose_pair(g).child) == (0, 2)


def test_parent_side_decides_between_two_people_whatever_the_guesses():
    g = _guess({0: 1.10, 1: 0.90}, {0: 100.0, 1: 70.0}, {0: 50, 1: 50})
    cx = {0: np.full(50, 100.0), 1: np.full(50, 500.0)}
    pair = choose_pair(g, cx=cx, parent_side="right")
    assert (pair.parent, pair.child, pair.method) == (1, 0, "parent_side")


def test_the_target_nearest_the_gaze_claims_it():
    w = target_weights({1: np.array([5.0, 40.0, np.nan]), 2: np.array([40.0, 5.0, 10.0])},
                       softness_deg=8.0)  # fmt: skip
    assert w[1][0] > 0.95 and w[2][1] > 0.95
    assert w[1][2] == 0.0 and w[2][2] == 1.0  # an unknown target claims nothing
    single = target_weights({1: np.array([30.0, np.nan])}, softness_deg=8.0)[1]
    assert single[0] == 1.0 and np.isnan(single[1])


def _embedding(seed: int, n: int, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=128)
    centre *= 0.5 / np.linalg.norm(centre)  # two such centres lie about 0.7 apart
    return centre + rng.normal(scale=noise / np.sqrt(128), size=(n, 128))


def test_a_track_that_moves_onto_another_face_is_cut_there():
    frames = np.arange(40)
    track = np.zeros(40, dtype=int)
    emb = np.vstack([_embedding(1, 20), _embedding(2, 20)])
    emb[1::2] = np.nan  # descriptors on every other frame only
    emb[7] = _embedding(3, 1)[0]  # one odd descriptor (a blurred face) cuts nothing
    out = split_by_identity(frames, track, emb, max_distance=0.6)
    # The cut falls half-way between the last descriptor of one face and the first of the other.
    assert set(out[:19]) == {0} and set(out[19:]) == {1}


def test_tracks_that_never_meet_stay_apart_when_their_faces_differ():
    # Two people who are never on screen together, at the same place and size: only their
    # faces tell them apart (without descriptors they are chained into one person).
    frames = np.arange(60)
    track = np.repeat([0, 1, 2], 20)
    boxes = np.tile([100.0, 100.0, 180.0, 180.0], (60, 1))
    emb = np.vstack([_embedding(1, 20), _embedding(2, 20), _embedding(1, 20)])
    summaries = summarise_tracks(frames, track, boxes, emb)
    link = link_identities(summaries, max_people=4, min_frames=3, max_overlap=0.2,
                           max_size_ratio=10.0, max_distance=0.6)  # fmt: skip
    assert link[0] == link[2] != link[1]
    blind = link_identities(summarise_tracks(frames, track, boxes), max_people=4, min_frames=3,
                            max_overlap=0.2, max_size_ratio=10.0, max_distance=0.6)  # fmt: skip
    assert len(set(blind.values())) == 1


def _three_people_scan(n: int = 100) -> ScanResult:
    """Parent (large, left, x=120), child (small, middle, x=330), sibling (middle size, right,
    x=540), all at one height. The parent looks towards the right the whole time (both others
    are there); the child looks left at the
    parent for frames < 50 and right at the sibling after; the sibling looks left."""
    rows: dict[str, list[float]] = {}

    def add(frame: int, track: int, cx: float, size: float, yaw: float, lower: float) -> None:
        values = {
            "frame": frame, "track": track,
            "x0": cx - size / 2, "y0": 240 - size / 2, "x1": cx + size / 2, "y1": 240 + size / 2,
            "score": 0.9, "fp_yaw": yaw, "lm_tried": 1.0, "lm_ok": 1.0,
            **{name: 0.0 for name in MEASURE_FIELDS},
            "yaw": yaw, "smile": 0.01, "lower_face": lower, "presence": 0.99,
        }  # fmt: skip
        for key, value in values.items():
            rows.setdefault(key, []).append(float(value))

    for i in range(n):
        add(i, 0, 120.0, 90.0, -60.0, 1.12)
        add(i, 1, 330.0, 60.0, 60.0 if i < 50 else -60.0, 0.88)
        add(i, 2, 540.0, 80.0, 60.0, 0.93)
    faces = {k: np.asarray(v) for k, v in rows.items()}
    # Face-identity descriptors once a second: without them a third face is not a new person.
    faces["embedding"] = np.full((faces["frame"].size, 128), np.nan)
    for track in range(3):
        rows_of = np.flatnonzero((faces["track"] == track) & (faces["frame"] % 10 == 0))
        faces["embedding"][rows_of] = _embedding(track + 1, rows_of.size)
    return ScanResult(np.arange(n) / FPS, faces, 640, 480)


def test_a_third_face_must_be_clearly_a_face():
    # Without descriptors a third face elsewhere in the frame is still a person...
    scan = _three_people_scan()
    del scan.faces["embedding"]
    assert len(features_from_scan(scan, config=load_config(), rate=FPS).people) == 3
    # ... but not when the face mesh does not recognise it (a toy, a hand, a shadow).
    scan.faces["presence"] = np.where(scan.faces["track"] == 2, 0.1, 0.99)
    assert len(features_from_scan(scan, config=load_config(), rate=FPS).people) == 2


@pytest.fixture(scope="module")
def three():
    config = copy.deepcopy(load_config())
    return features_from_scan(_three_people_scan(), config=config, rate=FPS), config


def test_three_people_are_found_with_their_roles_and_the_pair(three):
    features, _ = three
    people = features.people.set_index("person")
    assert len(people) == 3
    assert list(people["role_guess"]) == ["adult", "child", "child"]
    assert list(people["pair_role"]) == ["parent", "child", ""]
    assert set(features.table["person"]) == {0, 1, 2}
    assert features.provenance["people"] == 3


def test_who_looks_at_whom_for_every_pair(three):
    features, _ = three
    looks = features.looks
    assert len(looks) == 6 * 100
    p = looks.pivot_table(index="t", columns=["person", "target"], values="looks_at")
    early, late = p.index < 4.5, p.index > 5.5
    assert (p[(1, 0)][early] > 0.5).mean() > 0.9 and (p[(1, 2)][early] < 0.5).mean() > 0.9
    assert (p[(1, 2)][late] > 0.5).mean() > 0.9 and (p[(1, 0)][late] < 0.5).mean() > 0.9
    # The parent turns towards both others (both on her right): one of them gets the look.
    assert ((p[(0, 1)] > 0.5) != (p[(0, 2)] > 0.5)).mean() > 0.9
    # The dyad (parent 0, child 1) carries the same looks.
    dyad = features.dyad.set_index("t")
    assert np.allclose(dyad["child_looks_at_parent"], p[(1, 0)], equal_nan=True)


def test_any_pair_gives_the_dyad_the_vision_stage_gives_the_default_pair(three):
    features, config = three
    same = pair_features(features, parent=0, child=1, config=config)
    for column in features.dyad.columns:
        assert np.allclose(
            same.dyad[column].to_numpy(float), features.dyad[column].to_numpy(float),
            equal_nan=True,
        ), column  # fmt: skip
    other = pair_features(features, parent=0, child=2, config=config)
    assert set(other.table.loc[other.table["person"] == 2, "role"]) == {"child"}
    assert set(other.table.loc[other.table["person"] == 1, "role"]) == {"unknown"}
    assert (other.dyad["child_visible"] == 1.0).all()
    assert parent_child_pairs(features) == [(0, 1), (0, 2)]
    with pytest.raises(PairError, match="not two people"):
        pair_features(features, parent=0, child=7, config=config)


def _pair_arrays(n: int = 60) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Parent (x 100-180, face 80 px, lower_face 1.10) and child (x 400-460, 60 px, 0.88),
    both found in every frame; the caller changes some frames."""

    def person(x: float, size: float, lower: float) -> dict[str, np.ndarray]:
        return {
            "x": np.full(n, x), "y": np.full(n, 100.0), "w": np.full(n, size),
            "h": np.full(n, size), "detected": np.ones(n), "visible": np.ones(n),
            "lower_face": np.full(n, lower),
        }  # fmt: skip

    return person(100.0, 80.0, 1.10), person(400.0, 60.0, 0.88)


def _reassign(
    parent: dict[str, np.ndarray],
    child: dict[str, np.ndarray],
    smooth_frames: int = 11,
    no_face: tuple[np.ndarray, np.ndarray] | None = None,
) -> int:
    from vigcv.vision.extract import reassign_lone_faces

    return reassign_lone_faces(
        parent,
        child,
        margin=1.0,
        min_frames=5,
        size_scale=0.15,
        face_scale=0.05,
        smooth_frames=smooth_frames,
        no_face=no_face,
    )


def test_a_lone_face_at_the_childs_place_and_size_is_the_childs():
    # A hug: the child's track finds nothing for 2 s; the parent's track takes the child's face.
    parent, child = _pair_arrays()
    hug = slice(30, 50)
    child["detected"][hug], child["x"][hug] = 0.0, np.nan
    parent["x"][hug], parent["w"][hug], parent["h"][hug] = 405.0, 58.0, 58.0
    parent["lower_face"][hug] = np.nan  # the mesh did not run there
    assert _reassign(parent, child) == 20
    assert (child["x"][hug] == 405.0).all() and np.isnan(parent["x"][hug]).all()


def test_a_few_adult_readings_do_not_keep_the_childs_face_on_the_parent():
    # The hug of 3dC3SQ.joke5.rep3: the toddler smiles or has a hand at her mouth, and on every
    # fourth frame the face mesh reads adult proportions. Frame by frame those readings cut the
    # stretch into pieces shorter than min_frames, and nothing moved; the running median of the
    # fits moves the whole stretch.
    parent, child = _pair_arrays()
    hug = slice(30, 50)
    child["detected"][hug], child["x"][hug] = 0.0, np.nan
    # in her mother's arms, between the two usual places
    parent["x"][hug], parent["w"][hug], parent["h"][hug] = 330.0, 58.0, 58.0
    parent["lower_face"][hug] = np.nan
    parent["lower_face"][30:50:4] = 1.10
    frame_by_frame = [{k: v.copy() for k, v in person.items()} for person in (parent, child)]
    assert _reassign(*frame_by_frame, smooth_frames=1) == 0
    assert _reassign(parent, child) == 20
    assert (child["x"][hug] == 330.0).all() and np.isnan(parent["x"][hug]).all()


def test_a_box_that_is_no_face_does_not_keep_the_childs_face_on_the_parent():
    # The same hug a second later: the parent's track holds the toddler's face, the child's
    # track a box on her hand that neither face model takes for a face. The hand box does not
    # count as the child found; her face moves to her, and the hand box is dropped.
    parent, child = _pair_arrays()
    hug = slice(30, 50)
    parent["x"][hug], parent["w"][hug], parent["h"][hug] = 330.0, 58.0, 58.0
    parent["lower_face"][hug] = np.nan
    child["x"][hug], child["w"][hug], child["h"][hug] = 420.0, 25.0, 25.0
    hand = np.zeros(60, dtype=bool)
    hand[hug] = True
    kept = [{k: v.copy() for k, v in person.items()} for person in (parent, child)]
    assert _reassign(*kept) == 0  # both "found": nothing moves
    assert _reassign(parent, child, no_face=(np.zeros(60, dtype=bool), hand)) == 20
    assert (child["x"][hug] == 330.0).all()
    assert np.isnan(parent["x"][hug]).all() and (parent["visible"][hug] == 0).all()


def test_a_lone_face_with_adult_proportions_stays_the_parents():
    # The parent bends over the child (at the child's place), whose face is hidden: the face
    # mesh reads adult proportions, so the face stays the parent's.
    parent, child = _pair_arrays()
    hug = slice(30, 50)
    child["detected"][hug], child["x"][hug] = 0.0, np.nan
    parent["x"][hug], parent["lower_face"][hug] = 405.0, 1.08
    assert _reassign(parent, child) == 0


def _reclaim(parent: dict[str, np.ndarray], child: dict[str, np.ndarray]) -> int:
    from vigcv.vision.extract import reclaim_handed_over_faces

    return reclaim_handed_over_faces(
        parent, child, max_frames=15, gap_frames=3, size_scale=0.15, face_scale=0.05
    )


def test_a_face_passed_to_the_other_track_for_a_moment_goes_back():
    # The hug of 3dC3SQ.joke5.rep3 at 29 s: the toddler's face (in her mother's arms, x 330)
    # is on her own track, then for three frames on her mother's while her own track jumps to
    # the print of her shirt (x 420, lower down), then back on hers.
    parent, child = _pair_arrays()
    parent["detected"][20:], parent["x"][20:] = 0.0, np.nan  # the mother's face is hidden
    child["x"][20:] = 330.0
    moment = slice(30, 33)
    parent["detected"][moment], parent["x"][moment] = 1.0, 333.0
    parent["w"][moment] = parent["h"][moment] = 60.0
    parent["lower_face"][moment] = np.nan
    child["x"][moment], child["y"][moment] = 420.0, 160.0
    assert _reclaim(parent, child) == 3
    assert (child["x"][moment] == 333.0).all()  # her face is hers
    assert np.isnan(parent["x"][moment]).all()  # and the shirt is no one's
    assert (parent["visible"][moment] == 0).all()


def test_a_face_the_other_track_took_after_jumping_to_it_goes_back():
    # The same hug at 26.5 s: the mother's track, lost, finds a face again a long way from where
    # it was (the toddler's face), keeps it for a second and the toddler's track takes it over.
    parent, child = _pair_arrays()
    parent["detected"][22:30], parent["x"][22:30] = 0.0, np.nan
    parent["detected"][38:], parent["x"][38:] = 0.0, np.nan
    child["detected"][22:38], child["x"][22:38] = 0.0, np.nan  # the toddler not found ...
    child["x"][38:] = 336.0  # ... then her face on her track
    parent["x"][30:38], parent["w"][30:38], parent["h"][30:38] = 330.0, 58.0, 58.0
    parent["lower_face"][30:38] = np.nan
    assert _reclaim(parent, child) == 8
    assert (child["x"][30:38] == 330.0).all() and np.isnan(parent["x"][30:]).all()
    assert (parent["x"][:22] == 100.0).all()  # the mother's own face before stays hers


def test_a_face_that_fits_its_own_track_stays_there():
    # A short run of the mother's own face (found again after 0.8 s), then the child's track
    # jumps onto it for three frames: the mother's run fits her place and size and stays hers;
    # the three frames are hers too.
    parent, child = _pair_arrays()
    parent["detected"][22:30], parent["x"][22:30] = 0.0, np.nan
    parent["detected"][38:], parent["x"][38:] = 0.0, np.nan
    child["x"][38:41], child["w"][38:41], child["h"][38:41] = 104.0, 80.0, 80.0
    assert _reclaim(parent, child) == 3
    assert (parent["x"][30:41] == np.r_[np.full(8, 100.0), np.full(3, 104.0)]).all()
    assert np.isnan(child["x"][38:41]).all() and (child["x"][41:] == 400.0).all()


def test_crossed_tracks_are_swapped_back():
    parent, child = _pair_arrays()
    crossed = slice(20, 30)
    for key in ("x", "w", "h", "lower_face"):
        mine = parent[key][crossed].copy()
        parent[key][crossed], child[key][crossed] = child[key][crossed], mine
    assert _reassign(parent, child) == 10
    assert (parent["x"] == 100.0).all() and (child["x"] == 400.0).all()
