"""CAM++ read without torch: its checkpoint reader, the filled graph, its filter bank and what
its embeddings tell apart (real model, synthetic and real voices)."""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from vigcv.audio import campplus
from vigcv.errors import ModelError
from vigcv.models import model_path


def _zip_checkpoint(path, tree, storages: dict[str, np.ndarray]) -> None:
    """A file laid out as ``torch.save`` writes one (``archive/data.pkl`` + ``archive/data/N``)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", tree)
        for key, values in storages.items():
            archive.writestr(f"archive/data/{key}", values.astype("<f4").tobytes())


class _Storage:
    def __init__(self, key: str) -> None:
        self.key = key


class _Pickler(pickle.Pickler):
    """Pickles as torch does: a float tensor as ``torch._utils._rebuild_tensor_v2(storage,
    offset, size, stride, ...)``, its storage as a persistent id naming ``torch.FloatStorage``."""

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", sys.modules["torch"].FloatStorage, obj.key, "cpu", 6)
        return None


def _tensor(key: str, size: tuple[int, ...]):
    stride = tuple(int(np.prod(size[i + 1 :])) for i in range(len(size)))
    rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
    return _Reduce(rebuild, (_Storage(key), 0, size, stride, False, {}))


class _Reduce:
    def __init__(self, func, args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _dumps(make_tree) -> bytes:
    """``make_tree()`` pickled with stand-ins for torch's two names (torch is not installed)."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only its name is pickled
        raise AssertionError

    class FloatStorage:  # pragma: no cover - only its name is pickled
        pass

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = (
        "torch._utils",
        "_rebuild_tensor_v2",
    )
    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=2).dump(make_tree())
        return buffer.getvalue()
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_zip_checkpoint_reader_reads_tensors_by_their_strides(tmp_path):
    weights = np.arange(6, dtype=np.float32)
    path = tmp_path / "tiny.pt"
    _zip_checkpoint(
        path, _dumps(lambda: {"layer.weight": _tensor("0", (2, 3)), "step": 7}), {"0": weights}
    )
    got = campplus.read_zip_checkpoint(path)
    assert got["step"] == 7
    assert got["layer.weight"].shape == (2, 3)
    assert got["layer.weight"] == pytest.approx(weights.reshape(2, 3))


def test_zip_checkpoint_reader_refuses_code_and_non_checkpoints(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    _zip_checkpoint(path, pickle.dumps({"w": Payload()}, protocol=2), {})
    with pytest.raises(ModelError, match=r"refusing to load \w+\.print"):
        campplus.read_zip_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="vigcv models fetch"):
        campplus.read_zip_checkpoint(path)


def test_the_shipped_graph_takes_every_weight_from_the_checkpoint():
    state = campplus.read_zip_checkpoint(model_path("speaker_campplus"))
    model = campplus.build_onnx(state)
    names = {i.name for i in model.graph.initializer}
    # the network's 6.9 million weights all come from the checkpoint, none from the graph file
    taken = [n for n in names if n in state]
    assert sum(int(np.prod(state[n].shape)) for n in taken) > 6_000_000
    del state["xvector.dense.linear.weight"]
    with pytest.raises(ModelError, match="lacks 1 weights"):
        campplus.build_onnx(state)


def test_embeddings_are_unit_vectors_whatever_the_length_and_level():
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(16000 * 3) * 0.05).astype(np.float32)
    banks = campplus.fbank(audio)
    assert banks.shape == (300, campplus.N_BANDS) and banks.dtype == np.float16
    spans = np.array([[0, 100], [100, 250], [0, 300]])
    emb = campplus.embed(banks, spans)
    assert emb.shape == (3, campplus.DIM)
    assert np.linalg.norm(emb, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    # each band's mean is taken off each stretch: a 20 dB quieter copy embeds the same way
    quiet = campplus.embed(campplus.fbank(audio * 0.1), spans)
    assert np.sum(emb * quiet, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=0.02)


def test_embeddings_tell_three_synthetic_voices_apart():
    """espeak-ng's woman, man and child each say six sentences: every sentence's embedding is
    nearer the rest of its own voice's than any other voice's (measured: 0.41-0.52 within a
    voice, -0.23 to -0.36 across). (In 0.5 s windows of the mixed session's short words CAM++
    barely parts the synthetic mother from the child, 0.00 against -0.07, where the GE2E voice
    encoder does: one reason CAM++ is not the default; docs/benchmarks.md.)"""
    from vigcv.synth.voice import synthesize

    texts = [
        "look at the ball, where did it go",
        "shall we build a tower together",
        "oh that is a big red car",
        "can you find the little duck",
        "one two three and up it goes",
        "the dog says woof woof",
    ]
    voices = ("adult", "adult_male", "child")
    emb, who = [], []
    for voice in voices:
        for text in texts:
            audio = synthesize(text, voice=voice, rate=campplus.RATE)
            banks = campplus.fbank(audio)
            emb.append(campplus.embed(banks, np.array([[0, banks.shape[0]]]))[0])
            who.append(voice)
    e = np.array(emb, dtype=float)
    e -= e.mean(axis=0)  # as the clustering does
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sim, labels = e @ e.T, np.array(who)
    for i in range(labels.size):
        own = (labels == labels[i]) & (np.arange(labels.size) != i)
        for other in voices:
            if other != labels[i]:
                assert sim[i, own].mean() > sim[i, labels == other].mean() + 0.3, (i, other)


def test_one_voice_is_nearer_itself_than_another_in_a_real_call(shared_eval):
    """Windows of the two people of pyannote's sample call: every window is nearer the mean of
    its own speaker's other windows than the other speaker's (the GE2E encoder: AUC 0.94)."""
    from vigcv.evaluation.conditions import single_speaker_stretches
    from vigcv.evaluation.speech import read_rttm
    from vigcv.io import load_audio

    audio = load_audio(shared_eval / "speech" / "sample.wav", rate=16000)
    stretches = single_speaker_stretches(
        read_rttm(shared_eval / "speech" / "sample.rttm"), min_s=1.5
    )
    banks = campplus.fbank(audio)
    spans, who = [], []
    for row in stretches.itertuples():
        for a in np.arange(row.start, row.end - 1.5 + 1e-6, 0.75):
            spans.append((round(a * 100), round(a * 100) + 150))
            who.append(row.speaker)
    labels = np.array(who)
    emb = campplus.embed(banks, np.array(spans)).astype(float)
    emb -= emb.mean(axis=0)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    from sklearn.metrics import roc_auc_score

    iu = np.triu_indices(labels.size, 1)
    same = (labels[:, None] == labels[None])[iu]
    assert roc_auc_score(same, (emb @ emb.T)[iu]) >= 0.97  # measured 0.99


def test_clustering_on_campplus_needs_the_filter_bank(config):
    from vigcv.audio.diarize import cluster_speakers
    from vigcv.audio.features import acoustic_frames
    from vigcv.synth.voice import synthesize
    from vigcv.types import Segment

    audio = synthesize("one two three and up it goes", voice="adult", rate=campplus.RATE)
    frames = acoustic_frames(np.concatenate([audio, audio]))
    assert frames.fbank.shape == (0, campplus.N_BANDS)
    segments = [Segment(0.0, 2 * audio.size / campplus.RATE)]
    with pytest.raises(ValueError, match="cluster_on = 'campplus'"):
        cluster_speakers(frames, segments, config=config["audio"], cluster_on="campplus")


def test_the_real_call_clustered_on_campplus(shared_eval, config):
    """pyannote's sample call through the audio stage with CAM++ clustering windows at the
    settings all four real recordings choose (scripts/bench_speakers.py --grid campplus):
    measured DER 0.139, speaker-change F1 0.933, as the MFCC windows (0.144 / 0.933)."""
    from vigcv.audio import extract_audio
    from vigcv.audio.turns import fill_pauses
    from vigcv.evaluation.speech import change_f1, diarization_error_rate, read_rttm

    audio = {
        **config["audio"],
        "cluster_on": "campplus",
        "window_hop_s": 0.75,
        "cluster_threshold": 0.85,
        "change_penalty": 10.0,
        "embed_change_penalty": 20.0,
    }
    found = extract_audio(shared_eval / "speech" / "sample.wav", config={**config, "audio": audio})
    assert "CAM++" in found.provenance["speaker_windows"]
    table = found.segments
    hyp = fill_pauses(table.assign(speaker=table["cluster"]), max_gap_s=audio["fill_pause_s"])
    reference = read_rttm(shared_eval / "speech" / "sample.rttm")
    assert diarization_error_rate(reference, hyp)["der"] <= 0.16
    assert change_f1(reference, hyp)["f1"] >= 0.8
