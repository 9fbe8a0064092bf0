"""Speaker embeddings (d-vectors) from Resemblyzer's GE2E voice encoder, run with onnxruntime.

The model (``resemblyzer/pretrained.pt`` inside ``resemblyzer==0.1.4``, Apache-2.0) is a 3-layer
LSTM (256 units) over a 40-band mel power spectrogram (25 ms windows, 10 ms hop, 16 kHz, audio
at -30 dBFS), followed by a linear layer, ReLU and L2 normalisation: the final hidden state of
a stretch of speech becomes a 256-d unit vector, and two stretches of the same voice point the
same way (Wan et al. 2018, "Generalized end-to-end loss for speaker verification").

Resemblyzer's own code needs torch. Here the checkpoint (torch's legacy serialisation: pickles
followed by raw little-endian storages) is read with a restricted unpickler that accepts only
tensors and dicts, and the network is rebuilt as an ONNX graph in memory (ONNX ``LSTM`` nodes;
PyTorch's gate order i, f, g, o becomes ONNX's i, o, f, c), so only numpy, onnx and onnxruntime
are needed (and librosa for the mel spectrogram, as Resemblyzer computes it). The graph
reproduces torch's output to within 1e-6.
"""

from __future__ import annotations

import codecs
import collections
import importlib
import pickle
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from vigcv.audio.librosa_env import import_librosa
from vigcv.errors import ModelError
from vigcv.models import model_path, onnx_model, onnx_session

RATE = 16000
MEL_HOP = 160  # samples (10 ms)
MEL_HOP_S = MEL_HOP / RATE
N_MELS = 40
HIDDEN = 256
LAYERS = 3
TARGET_DBFS = -30.0  # loudness the encoder was trained at
BATCH = 256

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


_SCALAR = importlib.import_module("numpy._core.multiarray").scalar  # numpy >= 1.26
_NUMBERS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "scalar"): _SCALAR,  # how numpy 1 pickled it
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


def _rebuild_tensor(storage: str, offset: int, size: tuple, stride: tuple, *_: Any) -> tuple:
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint's object tree, allowing tensors, dicts and numpy numbers and
    nothing else."""

    def __init__(self, fh: BinaryIO, storages: dict[str, str]) -> None:
        super().__init__(fh)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        # Plain numbers some checkpoints keep beside the weights (a numpy float for the best
        # validation loss): a dtype and its bytes, nothing callable beyond that.
        if (module, name) in _NUMBERS:
            return _NUMBERS[module, name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def persistent_load(self, pid: Any) -> str:
        _, storage_type, key = pid[:3]
        self.storages[str(key)] = storage_type.name
        return str(key)


def rebuild_tensors(tree: Any, data: dict[str, np.ndarray]) -> Any:
    """A checkpoint's unpickled object tree with each tensor (a ``("tensor", storage, offset,
    size, stride)`` tuple of :class:`_CheckpointUnpickler`) made a numpy array from the flat
    ``data`` of its storage."""
    if isinstance(tree, tuple) and tree and tree[0] == "tensor":
        _, key, offset, size, stride = tree
        flat = data[key]
        view = np.lib.stride_tricks.as_strided(
            flat[offset:], size, [s * flat.itemsize for s in stride]
        )
        return np.array(view)
    if isinstance(tree, dict):
        return {k: rebuild_tensors(v, data) for k, v in tree.items()}
    return tree


def state_dict(tree: Any, data: dict[str, np.ndarray], path: Path, *, fetch: str) -> dict:
    """:func:`rebuild_tensors` of a checkpoint that must hold a dict of weights; otherwise a
    :class:`ModelError` naming ``path`` and the ``fetch`` command that replaces it."""
    result = rebuild_tensors(tree, data)
    if not isinstance(result, dict):
        raise ModelError(f"{path}: unexpected checkpoint contents; run '{fetch}'")
    return result


def read_legacy_checkpoint(path: Path) -> dict[str, Any]:
    """The object stored in a torch legacy-format checkpoint, tensors as numpy arrays.

    Raises
    ------
    ModelError
        If the file is not a legacy torch checkpoint or holds anything but tensors and dicts.
    """
    storages: dict[str, str] = {}
    try:
        with Path(path).open("rb") as fh:
            for _ in range(3):  # magic number, protocol version, system info
                _CheckpointUnpickler(fh, storages).load()
            tree = _CheckpointUnpickler(fh, storages).load()
            keys = _CheckpointUnpickler(fh, storages).load()
            data = {}
            for key in keys:
                (count,) = struct.unpack("<q", fh.read(8))
                dtype = np.dtype(_STORAGE_DTYPES[storages[str(key)]])
                raw = fh.read(count * dtype.itemsize)
                if len(raw) != count * dtype.itemsize:
                    raise EOFError("storage cut short")
                data[str(key)] = np.frombuffer(raw, dtype=dtype)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, struct.error, ValueError) as exc:
        raise ModelError(
            f"{path}: not a readable voice-encoder checkpoint ({exc}); run 'vigcv models fetch'"
        ) from None
    return state_dict(tree, data, path, fetch="vigcv models fetch")


def _onnx_gates(w: np.ndarray) -> np.ndarray:
    """PyTorch LSTM gate blocks (i, f, g, o) reordered to ONNX's (i, o, f, c)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def build_onnx(state: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The GE2E encoder as an ONNX model: input ``mels`` (T, N, 40) -> ``embedding`` (N, 256)."""
    inits, nodes = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    x = "mels"
    for layer in range(LAYERS):
        w = _onnx_gates(state[f"lstm.weight_ih_l{layer}"])[None].astype(np.float32)
        r = _onnx_gates(state[f"lstm.weight_hh_l{layer}"])[None].astype(np.float32)
        b = np.concatenate(
            [
                _onnx_gates(state[f"lstm.bias_ih_l{layer}"]),
                _onnx_gates(state[f"lstm.bias_hh_l{layer}"]),
            ]
        )[None].astype(np.float32)
        names = [const(f"{p}{layer}", v) for p, v in (("W", w), ("R", r), ("B", b))]
        nodes.append(
            helper.make_node("LSTM", [x, *names], [f"y{layer}", f"h{layer}"], hidden_size=HIDDEN)
        )
        if layer < LAYERS - 1:  # (T, 1, N, H) -> (T, N, H)
            axis = const(f"axis{layer}", np.array([1], np.int64))
            nodes.append(helper.make_node("Squeeze", [f"y{layer}", axis], [f"x{layer + 1}"]))
            x = f"x{layer + 1}"
    last = const("axis_h", np.array([0], np.int64))
    weight = const("linear_w", state["linear.weight"].T.astype(np.float32).copy())
    bias = const("linear_b", state["linear.bias"].astype(np.float32))
    nodes += [
        helper.make_node("Squeeze", [f"h{LAYERS - 1}", last], ["hidden"]),
        helper.make_node("MatMul", ["hidden", weight], ["projected"]),
        helper.make_node("Add", ["projected", bias], ["biased"]),
        helper.make_node("Relu", ["biased"], ["positive"]),
        helper.make_node("LpNormalization", ["positive"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "ge2e_voice_encoder",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["T", "N", N_MELS])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", HIDDEN])],
        inits,
    )
    return onnx_model(graph, opset=17)


@lru_cache(maxsize=1)
def encoder_session() -> ort.InferenceSession:
    """The voice encoder's onnxruntime session (one thread, like the other audio models)."""
    state = read_legacy_checkpoint(model_path("voice_encoder")).get("model_state")
    if not isinstance(state, dict) or "linear.weight" not in state:
        raise ModelError("voice encoder checkpoint has no model_state; run 'vigcv models fetch'")
    return onnx_session(build_onnx(state).SerializeToString())


def mel_power(samples: np.ndarray) -> np.ndarray:
    """The encoder's input features of 16 kHz audio: mel power, shape (len // 160, 40), float32.

    Frame ``k`` is centred at ``k * 0.01`` s. Loudness is not normalised here (see
    :func:`embed`'s ``gain``), so blocks of a stream can be computed separately.
    """
    n = samples.size // MEL_HOP
    if n == 0:
        return np.zeros((0, N_MELS), np.float32)
    librosa = import_librosa()
    mel = librosa.feature.melspectrogram(
        y=samples.astype(np.float32), sr=RATE, n_fft=400, hop_length=MEL_HOP, n_mels=N_MELS
    )
    return mel[:, :n].T.astype(np.float32)


def loudness_gain(mean_power: float) -> float:
    """Factor on mel power that brings audio of mean sample power ``mean_power`` to -30 dBFS."""
    return float(10 ** (TARGET_DBFS / 10) / max(mean_power, 1e-12))


def log_mel(samples: np.ndarray) -> np.ndarray:
    """``log10`` of :func:`mel_power` in half precision (0.2% error in power), shape (n, 40).

    This is what :func:`embed` reads: a two-hour recording's takes 58 MB.
    """
    return np.log10(mel_power(samples) + 1e-10).astype(np.float16)


def embed(log_mels: np.ndarray, spans: np.ndarray, *, gain: float = 1.0) -> np.ndarray:
    """Embeddings of stretches of a recording.

    Parameters
    ----------
    log_mels : ndarray, shape (n, 40)
        :func:`log_mel` frames of the whole recording (converted to power a batch at a time).
    spans : ndarray, shape (k, 2), int
        ``[start, stop)`` mel frame ranges (at least 5 frames each; 80-160 work well).
    gain : float
        Multiplies the mel power (see :func:`loudness_gain`).

    Returns
    -------
    ndarray, shape (k, 256), float32
        Unit vectors; the cosine of two is their similarity.
    """
    out = np.zeros((len(spans), HIDDEN), np.float32)
    spans = np.asarray(spans, dtype=int).reshape(-1, 2)
    for batch in same_length_batches(spans, BATCH):
        session = encoder_session()  # loaded at the first batch (none when there is no span)
        x = np.stack([log_mels[spans[i, 0] : spans[i, 1]] for i in batch], axis=1)
        power = np.maximum(np.power(10.0, x.astype(np.float32)) - 1e-10, 0.0) * gain
        out[batch] = session.run(None, {"mels": power.astype(np.float32)})[0]
    return out


def same_length_batches(spans: np.ndarray, batch: int) -> list[np.ndarray]:
    """Row indices of ``spans`` (``[start, stop)`` pairs) in batches of at most ``batch`` rows of
    equal length, which a network can take as one array."""
    spans = np.asarray(spans, dtype=int).reshape(-1, 2)
    lengths = spans[:, 1] - spans[:, 0]
    out = []
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        out += [rows[lo : lo + batch] for lo in range(0, rows.size, batch)]
    return out
