"""The GE2E voice encoder read without torch, its speaker embeddings, and what they add to turns."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from vigcv.audio import voice_encoder
from vigcv.errors import ModelError
from vigcv.models import model_path


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def reference_embedding(state: dict, mel: np.ndarray) -> np.ndarray:
    """PyTorch's LSTM equations written out (gate order i, f, g, o), then linear, ReLU, L2."""
    x = mel.astype(np.float64)
    for layer in range(voice_encoder.LAYERS):
        w_ih, w_hh = state[f"lstm.weight_ih_l{layer}"], state[f"lstm.weight_hh_l{layer}"]
        bias = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
        h = np.zeros(voice_encoder.HIDDEN)
        c = np.zeros(voice_encoder.HIDDEN)
        out = []
        for frame in x:
            i, f, g, o = np.split(w_ih @ frame + w_hh @ h + bias, 4)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            out.append(h)
        x = np.array(out)
    e = np.maximum(state["linear.weight"] @ h + state["linear.bias"], 0.0)
    return e / np.linalg.norm(e)


def test_onnx_graph_reproduces_the_lstm():
    state = voice_encoder.read_legacy_checkpoint(model_path("voice_encoder"))["model_state"]
    rng = np.random.default_rng(3)
    mel = rng.gamma(0.5, 2.0, size=(2, 40, voice_encoder.N_MELS)).astype(np.float32)
    spans = np.array([[0, 40], [40, 80]])
    log_mels = np.log10(mel.reshape(80, voice_encoder.N_MELS) + 1e-10).astype(np.float16)
    got = voice_encoder.embed(log_mels, spans)
    stored = np.power(10.0, log_mels.astype(np.float64)).reshape(2, 40, voice_encoder.N_MELS)
    for k in range(2):
        assert got[k] == pytest.approx(reference_embedding(state, stored[k]), abs=1e-5)
    assert np.linalg.norm(got, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)


def test_checkpoint_reader_refuses_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    header = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {}))
    path.write_bytes(header + pickle.dumps({"model_state": Payload()}, protocol=2))
    with pytest.raises(ModelError, match=r"refusing to load \w+\.print"):
        voice_encoder.read_legacy_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="vigcv models fetch"):
        voice_encoder.read_legacy_checkpoint(path)


def test_checkpoint_reader_takes_the_numbers_kept_beside_the_weights(tmp_path):
    # Checkpoints saved during training keep e.g. the best validation loss as a numpy float
    # (pickled through numpy's scalar constructor and codecs.encode); those are data, not code.
    path = tmp_path / "trained.pth.tar"
    header = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {}))
    tree = {"epoch": 73, "best_val_loss": np.float64(0.448), "scale": np.float32(2.5)}
    path.write_bytes(header + pickle.dumps(tree, protocol=2) + pickle.dumps([], protocol=2))
    got = voice_encoder.read_legacy_checkpoint(path)
    assert got == {"epoch": 73, "best_val_loss": 0.448, "scale": 2.5}
    assert isinstance(got["best_val_loss"], np.float64)


def test_embeddings_tell_the_parent_from_the_child(synth_speech):
    audio, rate = sf.read(synth_speech.wav, dtype="float32")
    assert rate == voice_encoder.RATE
    mel = voice_encoder.log_mel(audio)
    spans, who = [], []
    for row in synth_speech.reference.itertuples():
        lo, hi = round(row.start * 100), round(row.end * 100)
        spans += [(a, a + 50) for a in range(lo, hi - 50, 20)]
        who += [row.speaker] * len(range(lo, hi - 50, 20))
    labels = np.array(who)
    assert {"parent", "child"} <= set(labels)
    gain = voice_encoder.loudness_gain(float(np.mean(audio**2)))
    emb = voice_encoder.embed(mel, np.array(spans), gain=gain)
    sim = emb @ emb.T
    same = (labels[:, None] == labels[None]) & ~np.eye(labels.size, dtype=bool)
    assert sim[same].mean() > sim[labels[:, None] != labels[None]].mean() + 0.1


def test_embeddings_find_the_short_replies_in_a_real_call(shared_eval, config):
    """pyannote's sample call has 0.8 s and 1.1 s replies inside long stretches of talk."""
    from vigcv.audio import extract_audio
    from vigcv.evaluation.speech import change_f1, diarization_error_rate, latency_errors, read_rttm

    wav = shared_eval / "speech" / "sample.wav"
    reference = read_rttm(shared_eval / "speech" / "sample.rttm")
    found = extract_audio(wav, config=config).segments
    mfcc_only = {**config, "audio": {**config["audio"], "speaker_embeddings": False}}
    without = extract_audio(wav, config=mfcc_only).segments
    assert change_f1(reference, found)["f1"] >= 0.8
    assert change_f1(reference, found)["f1"] > change_f1(reference, without)["f1"] + 0.1
    assert diarization_error_rate(reference, found)["der"] <= 0.15
    errors = latency_errors(reference, found, tolerance=1.0)["error_s"].abs()
    assert len(errors) >= 6 and errors.median() <= 0.15


def test_short_turns_of_five_real_voices_are_not_merged_into_two(shared_eval, config, tmp_path):
    """The first 3.5 s of each speaker of the call and the meeting, one after another (0.3 s
    apart, levels matched): the BIC alone merges five voices into two; the voice check keeps
    pairs whose embedding windows differ more than one voice's do apart (issue 21)."""
    from vigcv.audio import extract_audio
    from vigcv.evaluation.conditions import single_speaker_stretches
    from vigcv.evaluation.speech import diarization_error_rate, read_rttm
    from vigcv.io import load_audio

    rate, gap = 16000, np.zeros(4800)
    pieces, rows, t = [gap], [], 0.3
    for wav, rttm in (
        ("sample.wav", "sample.rttm"),
        ("seriously/mixture.wav", "seriously/mixture.rttm"),
    ):
        audio = load_audio(shared_eval / "speech" / wav, rate=rate)
        stretches = single_speaker_stretches(read_rttm(shared_eval / "speech" / rttm), min_s=2.5)
        for speaker, turns in stretches.groupby("speaker"):
            first = turns.sort_values("start").iloc[0]
            y = audio[round(first.start * rate) : round(min(first.end, first.start + 3.5) * rate)]
            pieces += [y / (np.sqrt(np.mean(y**2)) + 1e-9) * 0.05, gap]
            rows.append((t, t + y.size / rate, speaker))
            t += y.size / rate + 0.3
    assert len(rows) == 5
    wav = tmp_path / "five.wav"
    sf.write(wav, np.concatenate(pieces).astype(np.float32), rate)
    reference = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    bic_only = {**config, "audio": {**config["audio"], "voice_merge_margin": 2.0}}
    found = extract_audio(wav, config=config).segments
    merged = extract_audio(wav, config=bic_only).segments
    der = diarization_error_rate(reference, found.assign(speaker=found["cluster"]))["der"]
    der_bic = diarization_error_rate(reference, merged.assign(speaker=merged["cluster"]))["der"]
    print(
        f"clusters {found['cluster'].nunique()} / {merged['cluster'].nunique()}, DER", der, der_bic
    )
    # measured: 3 clusters, DER 0.43; the BIC alone 2 clusters, DER 0.59
    assert merged["cluster"].nunique() == 2
    assert found["cluster"].nunique() >= 3
    assert der <= der_bic - 0.1


@pytest.mark.parametrize("cluster_on", ["mfcc", "embeddings", "campplus"])
def test_speaker_clusters_from_either_window_summary(synth_speech, config, cluster_on):
    """The synthetic parent and child come out as two clusters whether the clustering windows are
    summarised by MFCC statistics, by GE2E d-vectors or by CAM++ embeddings (``cluster_on``), with
    a low DER."""
    from vigcv.audio.diarize import cluster_speakers
    from vigcv.audio.features import acoustic_frames
    from vigcv.evaluation.speech import diarization_error_rate
    from vigcv.types import Segment

    audio, _ = sf.read(synth_speech.wav, dtype="float32")
    frames = acoustic_frames(audio, with_fbank=cluster_on == "campplus")
    ref = synth_speech.reference
    segments = [Segment(float(s), float(e)) for s, e in zip(ref["start"], ref["end"], strict=True)]
    table = cluster_speakers(frames, segments, config=config["audio"], cluster_on=cluster_on)
    assert table["cluster"].nunique() == 2
    der = diarization_error_rate(ref, table.assign(speaker=table["cluster"]))["der"]
    assert der < 0.15  # measured 0.086 (mfcc), 0.073 (embeddings), 0.073 (campplus)


def test_the_voice_check_compares_two_clusters_with_each_ones_own_spread():
    """Hand-made window vectors: two voices (windows 0.9 alike within, 0.6 across) are apart; one
    voice split in two by the path is not; a cluster with one window is never judged."""
    from vigcv.audio.diarize import _voices_apart

    rng = np.random.default_rng(0)
    base = np.linalg.qr(rng.normal(size=(256, 2)))[0].T  # two orthonormal directions

    def voice(direction: np.ndarray, n: int) -> np.ndarray:
        v = direction + rng.normal(scale=0.33 / 16, size=(n, 256))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    a = base[0]
    b = 0.6 * base[0] + 0.8 * base[1]  # cosine 0.6 with a
    vectors = np.concatenate([voice(a, 20), voice(a, 20), voice(b, 20), voice(b, 1)])
    # windows of 40 mel frames (20 grid frames) laid end to end; the path gives each its cluster
    spans = np.stack([np.arange(61) * 40, np.arange(61) * 40 + 40], axis=1)
    path = np.repeat([0] * 20 + [1] * 20 + [2] * 20 + [3], 20)
    apart = _voices_apart((vectors, spans), path, [0, 1, 2, 3], margin=0.10)
    assert not apart[0, 1]  # one voice, two clusters
    assert apart[0, 2] and apart[1, 2]  # two voices
    assert not apart[:, 3].any()  # one window: no judgement
    assert (apart == apart.T).all() and not apart.diagonal().any()
