"""The script language: sentences, validation, jitter, shipped scripts, labels from events."""

from __future__ import annotations

import numpy as np
import pytest

from vigcv.synth import ScriptError, load_script, parse_script, shipped_script
from vigcv.synth.script import jittered, parse_event
from vigcv.synth.timeline import gaze_target, label_frames

SHIPPED = (
    "textbook", "missed", "long_latency", "parallel_play", "mixed",
    "profile", "held_toy", "shaky", "leaves",
)  # fmt: skip


def test_sentences() -> None:
    ev = parse_event("child looks at parent 2.0-5.0")
    assert (ev.who, ev.action, ev.target, ev.start, ev.end) == ("child", "look", "parent", 2, 5)
    ev = parse_event("parent  turns away 8-11")
    assert (ev.action, ev.target, ev.start, ev.end) == ("look", "away", 8, 11)
    ev = parse_event("parent smiles 3.0-6.5")
    assert (ev.action, ev.start, ev.end) == ("smile", 3.0, 6.5)
    ev = parse_event('child says "ba ba" at 4.0')
    assert (ev.action, ev.text, ev.start, ev.is_answer) == ("say", "ba ba", 4.0, False)
    ev = parse_event('parent answers "yes, ball!" 0.6 s later')
    assert (ev.action, ev.text, ev.after, ev.is_answer) == ("say", "yes, ball!", 0.6, True)


@pytest.mark.parametrize(
    ("sentence", "message"),
    [
        ("child looks at child 1-2", "child can look at parent, toy, camera"),
        ("child smiles 3-2", "ends before it starts"),
        ("child dances 1-2", "cannot read event"),
        ("grandma smiles 1-2", "cannot read event"),
    ],
)
def test_bad_sentences(sentence: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_event(sentence)


def test_script_validation() -> None:
    with pytest.raises(ScriptError, match="answers nobody"):
        parse_script({"duration": 5, "events": ['parent answers "hi" 1 s later']})
    with pytest.raises(ScriptError, match="unknown keys"):
        parse_script({"duration": 5, "colour": "red"})
    with pytest.raises(ScriptError, match="duration"):
        parse_script({"events": []})
    with pytest.raises(ScriptError, match="ends after duration"):
        parse_script({"duration": 5, "events": ["child smiles 4-6"]})
    with pytest.raises(ScriptError, match="face"):
        parse_script({"duration": 5, "parent": {"face": "mona_lisa"}})
    with pytest.raises(ScriptError, match="strength"):
        parse_script({"duration": 5, "attuned_moments": [{"start": 1, "end": 2, "strength": 5}]})


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scripts_load(name: str) -> None:
    script = load_script(shipped_script(name))
    assert script.events
    assert all(0 <= m.start < m.end <= script.duration for m in script.attuned_moments)


def test_mixed_is_two_minutes_with_every_kind_of_stretch() -> None:
    script = load_script(shipped_script("mixed"))
    assert script.duration == 120
    assert {m.strength for m in script.attuned_moments} == {1, 2, 3}
    targets = {e.target for e in script.events if e.action == "look"}
    assert targets == {"parent", "child", "camera", "away"}
    assert sum(e.is_answer for e in script.events) >= 5


def test_jitter_is_small_and_seeded(rng: np.random.Generator) -> None:
    script = load_script(shipped_script("textbook"))
    a = jittered(script, np.random.default_rng(7))
    b = jittered(script, np.random.default_rng(7))
    c = jittered(script, np.random.default_rng(8))
    assert a == b and a != c
    for before, after in zip(script.events, a.events, strict=True):
        if before.is_answer:
            assert abs(after.after - before.after) <= script.jitter_s / 2 + 1e-9
        else:
            assert abs(after.start - before.start) <= script.jitter_s + 1e-9
            if after.action != "say":
                assert after.end - after.start >= 0.3 - 1e-9


def test_labels_from_known_events() -> None:
    script = parse_script(
        {
            "duration": 4,
            "events": [
                "parent looks at child 1.0-3.0",
                "child looks at parent 2.0-3.5",
                "child looks at camera 2.5-3.0",
                "child smiles 0.5-1.0",
            ],
            "jitter_s": 0,
        }
    )
    frames = label_frames(script, script.events)
    assert [f["t"] for f in frames] == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]
    assert [f["parent_looks_at_child"] for f in frames] == [0, 0, 1, 1, 1, 1, 0, 0]
    # the later-starting look (camera 2.5-3.0) wins while it lasts
    assert [f["child_looks_at_parent"] for f in frames] == [0, 0, 0, 0, 1, 0, 1, 0]
    assert [f["mutual_gaze"] for f in frames] == [0, 0, 0, 0, 1, 0, 0, 0]
    assert [f["child_smile"] for f in frames] == [0, 1, 0, 0, 0, 0, 0, 0]
    assert gaze_target(script.events, "child", 0.2, idle="toy") == "toy"


def test_turning_her_back_is_a_look_with_no_face_and_unknown_labels():
    ev = parse_event("child turns her back 2-4")
    assert (ev.who, ev.action, ev.target, ev.start, ev.end) == ("child", "look", "back", 2.0, 4.0)
    assert parse_event("parent turns his back 1-2").target == "back"
    with pytest.raises(ScriptError):
        parse_event("child looks at back 1-2")  # a turn, not a gaze target
    script = parse_script(
        {
            "duration": 6.0,
            "events": ["child looks at parent 0-6", "child smiles 0-6", "child turns her back 2-4"],
        }
    )
    frames = {f["t"]: f for f in label_frames(script, script.events)}
    assert frames[3.0]["child_visible"] is False
    assert frames[3.0]["child_looks_at_parent"] is None and frames[3.0]["child_smile"] is None
    assert frames[3.0]["mutual_gaze"] is None and frames[3.0]["parent_visible"] is True
    assert frames[1.0]["child_looks_at_parent"] == 1 and frames[5.0]["child_smile"] == 1


def test_leaving_the_frame_and_a_shaking_camera():
    ev = parse_event("child leaves 5-9")
    assert (ev.who, ev.action, ev.target, ev.start, ev.end) == ("child", "look", "out", 5.0, 9.0)
    with pytest.raises(ScriptError):
        parse_event("child looks at out 1-2")  # leaving is not a gaze target
    shake = parse_event("camera shakes 3-4.5")
    assert (shake.who, shake.action, shake.start, shake.end) == ("camera", "blur", 3.0, 4.5)
    script = parse_script(
        {
            "duration": 6.0,
            "events": ["child looks at parent 0-6", "child smiles 0-6", "child leaves 2-4",
                       "camera shakes 4.5-5.5"],
        }
    )  # fmt: skip
    frames = {f["t"]: f for f in label_frames(script, script.events)}
    assert frames[3.0]["child_visible"] is False and frames[3.0]["child_smile"] is None
    assert frames[3.0]["mutual_gaze"] is None and frames[3.0]["parent_visible"] is True
    # A shaking camera changes nothing that is true.
    assert frames[5.0]["child_looks_at_parent"] == 1 and frames[5.0]["child_smile"] == 1


def test_view_toy_and_blur_keys():
    base = {"duration": 5.0, "events": []}
    script = parse_script({**base, "view": "side", "toy": "held", "blur_px": 30})
    assert (script.view, script.toy, script.blur_px) == ("side", "held", 30.0)
    assert (parse_script(base).view, parse_script(base).toy) == ("front", "table")
    for bad in ({"view": "top"}, {"toy": "sofa"}, {"blur_px": 0}):
        with pytest.raises(ScriptError):
            parse_script({**base, **bad})
