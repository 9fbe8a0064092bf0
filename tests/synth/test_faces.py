"""The real face landmarker sees both generated faces, their smiles, jaw and head turns."""

from __future__ import annotations

import numpy as np

from tests.synth.conftest import Seen


def test_both_faces_landmarked_in_95_percent_of_frontal_frames(seen: Seen) -> None:
    table = seen.table
    per_frame = table.groupby("t").agg(
        frontal=("yaw", lambda y: bool((np.abs(y) <= 45).all())),
        both=("found", "all"),
        n=("found", "size"),
    )
    frontal = per_frame[per_frame["frontal"] & (per_frame["n"] == 2)]
    assert len(frontal) >= 60  # measured 77 of 150 (the heads turn 50 deg to each other)
    rate = float(frontal["both"].mean())
    print(
        f"both faces landmarked (crops) in {rate:.1%} of {len(frontal)} frames; "
        f"whole-frame pass: {seen.whole_frame_rate:.1%}"
    )
    assert rate >= 0.95


def test_landmarks_fall_on_the_scripted_heads(seen: Seen) -> None:
    found = seen.table[seen.table["found"]]
    cx, cy = found["x"] + found["w"] / 2, found["y"] + found["h"] / 2
    err = np.hypot(found["lm_cx"] - cx, found["lm_cy"] - cy) / found["h"]
    print(
        f"landmark centre to scripted face-box centre: median {np.median(err):.3f}, "
        f"max {err.max():.3f} face heights"
    )
    assert float(np.median(err)) < 0.2
    assert float(err.max()) < 0.4


def test_blendshapes_see_the_scripted_smile(seen: Seen) -> None:
    for role, rows in seen.table[seen.table["found"]].groupby("role"):
        smiling = rows.loc[rows["smile"] > 0.6, "smile_bs"]
        neutral = rows.loc[rows["smile"] < 0.05, "smile_bs"]
        assert len(smiling) > 10 and len(neutral) > 10, role
        assert smiling.mean() > neutral.mean() + 0.2, (role, smiling.mean(), neutral.mean())


def test_mouth_opens_with_speech(seen: Seen) -> None:
    """The landmarks' inner-lip gap follows the scripted mouth opening (driven by the voice's
    loudness), and so do the mouthLowerDown blendshapes. (jawOpen hardly moves at speech-sized
    openings, on these renders as on real talking faces, so it is only printed.)"""
    for role, rows in seen.table[seen.table["found"]].groupby("role"):
        speaking = rows.loc[rows["mouth_open"] > 0.2]
        quiet = rows.loc[rows["speaking"] == 0]
        assert len(speaking) > 5 and len(quiet) > 20, role
        gap_open, gap_quiet = speaking["lip_gap"].mean(), quiet["lip_gap"].mean()
        assert gap_open > gap_quiet + 0.03, (role, gap_open, gap_quiet)
        r_gap = np.corrcoef(rows["mouth_open"], rows["lip_gap"])[0, 1]
        r_lower = np.corrcoef(rows["mouth_open"], rows["lower_lip_bs"])[0, 1]
        print(f"{role}: lip gap r={r_gap:.2f}, mouthLowerDown r={r_lower:.2f}")
        # Both speak while turned 50 deg to each other: the lip gap follows less closely there
        # (measured r 0.53-0.72 over three renders of this scene, both people; 0.7+ while the
        # heads turned 32 deg).
        assert r_gap > 0.5, role
        assert r_lower > 0.6, role
        jaw_r = np.corrcoef(rows["mouth_open"], rows["jaw_bs"])[0, 1]
        print(f"{role}: jawOpen vs scripted opening r={jaw_r:.2f}")


def test_head_pose_follows_scripted_yaw(seen: Seen) -> None:
    found = seen.table[seen.table["found"]]
    # Both people together span yaw from about -40 (parent looks at the child) to +40.
    assert found["yaw"].min() < -25 and found["yaw"].max() > 25
    r = np.corrcoef(found["yaw"], found["mp_yaw"])[0, 1]
    slope = np.polyfit(found["yaw"], found["mp_yaw"], 1)[0]
    assert r > 0.85, r
    assert 0.3 < slope < 1.5, slope
    turned = found[np.abs(found["yaw"]) > 20]
    assert (np.sign(turned["yaw"]) == np.sign(turned["mp_yaw"])).mean() > 0.95
