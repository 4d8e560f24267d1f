"""The public architecture: validation, layout, encodings, limits; the model's weight checks."""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs.ml.architecture import (
    MAX_ENCODED_BYTES,
    MAX_LAYERS,
    Architecture,
    ArchitectureDecodeError,
    ArchitectureError,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    ModelLimitError,
    QuantizedModel,
    Reshape,
)


def conv_arch() -> Architecture:
    return Architecture(
        (1, 8, 8),
        (0, 16),
        (
            Conv2d(1, 4, 3, stride=1, padding=1, weight_bits=6, bias_bits=20, shift=3, relu=True),
            MaxPool2d(2, 2),
            Conv2d(4, 3, 2, stride=1, padding=0, shift=2),
            AvgPool2d(3, 3),
            Flatten(),
            Dense(3, 5, shift=1, relu=True),
            Dense(5, 3, weight_bits=4, bias_bits=12),
        ),
    )


def reshape_arch() -> Architecture:
    """A flat competition input read as a 1×8×8 image (the Reshape layer, first only)."""
    return Architecture(
        (64,),
        (-8, 8),
        (Reshape(1, 8, 8), Conv2d(1, 2, 3, padding=1, shift=2, relu=True), MaxPool2d(2, 2),
         Flatten(), Dense(32, 10)),
    )  # fmt: skip


def mlp_arch() -> Architecture:
    return Architecture(
        (64,), (0, 16), (Dense(64, 32, shift=4, relu=True), Dense(32, 10, bias_bits=28))
    )


# --------------------------------------------------------------------------- shapes


def test_shapes_and_classes():
    arch = conv_arch()
    assert arch.shapes == ((4, 8, 8), (4, 4, 4), (3, 3, 3), (3, 1, 1), (3,), (5,), (3,))
    assert arch.num_classes == 3
    assert arch.input_shape_of(0) == (1, 8, 8)
    assert arch.input_shape_of(5) == (3,)


def test_layout_is_layer_by_layer_weights_then_bias():
    arch = conv_arch()
    names = [s.name for s in arch.layout]
    assert names == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "layers.5.weight", "layers.5.bias", "layers.6.weight", "layers.6.bias",
    ]  # fmt: skip
    offset = 0
    for slot in arch.layout:
        assert slot.offset == offset
        offset = slot.stop
    assert arch.weight_count == offset == (36 + 4) + (48 + 3) + (15 + 5) + (15 + 3)
    assert arch.slot("layers.0.weight").shape == (4, 1, 3, 3)
    assert arch.slot("layers.0.weight").bits == 6
    assert arch.slot("layers.0.bias").bits == 20
    assert arch.slot("layers.6.weight").shape == (3, 5)


@pytest.mark.parametrize(
    "input_shape, layers, message",
    [
        ((64,), (Dense(64, 10, shift=1),), "shift 0"),
        ((64,), (Dense(64, 10), Dense(10, 1)), "at least 2"),
        ((64,), (Dense(63, 10),), "expects 63"),
        ((1, 8, 8), (Dense(64, 10),), "Flatten"),
        ((1, 8, 8), (Conv2d(1, 2, 3), Flatten()), "logit layer"),
        ((64,), (Flatten(), Dense(64, 2)), "already flat"),
        ((1, 2, 2), (MaxPool2d(3, 1), Flatten(), Dense(1, 2)), "does not fit"),
        ((2, 8, 8), (Conv2d(1, 2, 3), Flatten(), Dense(72, 2)), "channels"),
        ((64,), (), "1 to 64 layers"),
        ((64,), (Reshape(1, 8, 7), Flatten(), Dense(56, 2)), "56 elements"),
        ((1, 8, 8), (Reshape(1, 8, 8), Flatten(), Dense(64, 2)), "flat input"),
        ((64,), (Dense(64, 16), Reshape(1, 4, 4), Flatten(), Dense(16, 2)), "first layer"),
        ((64,), (Reshape(1, 8, 8),), "logit layer"),
    ],
)
def test_inconsistent_architectures_are_refused(input_shape, layers, message):
    with pytest.raises(ArchitectureError, match=message):
        Architecture(input_shape, (0, 16), layers)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Dense(0, 2),
        lambda: Dense(2, 2, weight_bits=1),
        lambda: Dense(2, 2, weight_bits=33),
        lambda: Dense(2, 2, bias_bits=63),
        lambda: Dense(2, 2, shift=63),
        lambda: Dense(2, 2, relu=1),
        lambda: Dense(True, 2),
        lambda: Dense(2.0, 2),
        lambda: Conv2d(1, 1, 3, padding=3),
        lambda: Conv2d(1, 1, 0),
        lambda: MaxPool2d(2, 0),
        lambda: AvgPool2d(65, 1),
        lambda: Reshape(0, 8, 8),
        lambda: Reshape(1, 8, 1 << 17),
        lambda: Reshape(1, 8.0, 8),
    ],
)
def test_layer_fields_are_validated(make):
    with pytest.raises(ArchitectureError):
        make()


def test_input_range_and_shape_are_validated():
    with pytest.raises(ArchitectureError):
        Architecture((64,), (5, 4), (Dense(64, 2),))
    with pytest.raises(ArchitectureError):
        Architecture((64,), (0, 1 << 40), (Dense(64, 2),))
    with pytest.raises(ArchitectureError):
        Architecture((1, 1, 1, 64), (0, 1), (Flatten(), Dense(64, 2)))
    with pytest.raises(ArchitectureError):
        Architecture((0,), (0, 1), (Dense(1, 2),))


def test_architecture_is_immutable_and_hashable():
    arch = mlp_arch()
    with pytest.raises(AttributeError):
        arch.layers = ()  # type: ignore[misc]
    assert hash(arch) == hash(mlp_arch())
    assert arch == mlp_arch()
    assert Architecture([64], [0, 16], [Dense(64, 2)]).input_shape == (64,)


# ------------------------------------------------------------------------- limits


def test_competition_limits():
    arch = mlp_arch()
    arch.check_limits(max_parameters=2410, max_layers=2)
    with pytest.raises(ModelLimitError, match="2410 parameters"):
        arch.check_limits(max_parameters=2409)
    with pytest.raises(ModelLimitError, match="2 layers"):
        arch.check_limits(max_layers=1)


def test_hard_limits():
    with pytest.raises(ModelLimitError, match="parameters"):
        Architecture((4096,), (0, 1), (Dense(4096, 4096), Dense(4096, 2)))
    too_many = tuple(Dense(4, 4) for _ in range(MAX_LAYERS)) + (Dense(4, 2),)
    with pytest.raises(ModelLimitError, match="layers"):
        Architecture((4,), (0, 1), too_many)
    with pytest.raises(ModelLimitError, match="elements"):
        Architecture((1, 256, 256), (0, 1), (Conv2d(1, 128, 1), Flatten(), Dense(4, 2)))


# ----------------------------------------------------------------------- encodings


@pytest.mark.parametrize("make", [conv_arch, mlp_arch, reshape_arch])
def test_binary_and_json_round_trips(make):
    arch = make()
    data = arch.to_bytes()
    assert data.startswith(b"ZKAR\x00\x01")
    assert Architecture.from_bytes(data) == arch
    assert Architecture.from_bytes(data).to_bytes() == data
    assert arch.digest() == hashlib.sha256(data).digest()
    assert Architecture.from_json(arch.to_json()) == arch
    assert Architecture.from_json(arch.to_json()).digest() == arch.digest()


def test_known_encoding_of_a_tiny_architecture():
    arch = Architecture((3,), (-1, 2), (Dense(3, 2, weight_bits=8, bias_bits=16, relu=False),))
    expected = (
        b"ZKAR" + struct.pack(">H", 1) + b"\x01" + struct.pack(">I", 3)
        + struct.pack(">qq", -1, 2) + struct.pack(">H", 1)
        + b"\x01" + struct.pack(">IIBBBB", 3, 2, 8, 16, 0, 0)
    )  # fmt: skip
    assert arch.to_bytes() == expected


def test_known_encoding_of_the_reshape_layer():
    arch = reshape_arch()
    assert arch.shapes[0] == (1, 8, 8)
    data = arch.to_bytes()
    head = b"ZKAR" + struct.pack(">HBI", 1, 1, 64) + struct.pack(">qqH", -8, 8, 5)
    assert data.startswith(head + b"\x06" + struct.pack(">III", 1, 8, 8) + b"\x02")
    assert json.loads(arch.to_json())["layers"][0] == {
        "type": "reshape", "channels": 1, "height": 8, "width": 8,
    }  # fmt: skip
    assert "Reshape(channels=1, height=8, width=8) -> (1, 8, 8)" in arch.describe()
    # A Reshape decoded anywhere but first is refused, like one constructed there.
    dense = lambda i, o: b"\x01" + struct.pack(">IIBBBB", i, o, 8, 16, 0, 0)  # noqa: E731
    head = b"ZKAR" + struct.pack(">HBI", 1, 1, 64) + struct.pack(">qqH", -8, 8, 4)
    reshape = b"\x06" + struct.pack(">III", 1, 8, 8)
    ok = Architecture.from_bytes(head + reshape + b"\x05" + dense(64, 64) + dense(64, 2))
    assert isinstance(ok.layers[0], Reshape)
    with pytest.raises(ArchitectureDecodeError, match="only as the first layer"):
        Architecture.from_bytes(head + dense(64, 64) + reshape + b"\x05" + dense(64, 2))


def test_digest_depends_on_every_field():
    base = mlp_arch()
    variants = [
        Architecture((64,), (0, 15), base.layers),
        Architecture((64,), (0, 16), (Dense(64, 32, shift=5, relu=True), base.layers[1])),
        Architecture((64,), (0, 16), (Dense(64, 32, shift=4, relu=False), base.layers[1])),
        Architecture((64,), (0, 16), (base.layers[0], Dense(32, 10, bias_bits=27))),
        Architecture((64,), (0, 16), (base.layers[0], Dense(32, 10, weight_bits=7, bias_bits=28))),
    ]
    digests = {v.digest() for v in variants} | {base.digest()}
    assert len(digests) == len(variants) + 1


def test_strict_binary_decoding():
    data = conv_arch().to_bytes()
    with pytest.raises(ArchitectureDecodeError, match="trailing"):
        Architecture.from_bytes(data + b"\x00")
    with pytest.raises(ArchitectureDecodeError, match="magic"):
        Architecture.from_bytes(b"ZKAX" + data[4:])
    with pytest.raises(ArchitectureDecodeError, match="version"):
        Architecture.from_bytes(data[:4] + b"\x00\x02" + data[6:])
    for cut in range(len(data)):
        with pytest.raises(ArchitectureDecodeError):
            Architecture.from_bytes(data[:cut])
    with pytest.raises(ArchitectureDecodeError, match="exceeds"):
        Architecture.from_bytes(data + b"\x00" * MAX_ENCODED_BYTES)
    with pytest.raises(ArchitectureDecodeError):
        Architecture.from_bytes("not bytes")  # type: ignore[arg-type]


def test_decoding_rejects_bad_flags_tags_counts_and_semantics():
    arch = Architecture((3,), (0, 1), (Dense(3, 2),))
    data = bytearray(arch.to_bytes())
    relu_at = len(data) - 1
    bad = bytearray(data)
    bad[relu_at] = 2
    with pytest.raises(ArchitectureDecodeError, match="flag"):
        Architecture.from_bytes(bytes(bad))
    tag_at = len(data) - 1 - 12
    bad = bytearray(data)
    bad[tag_at] = 9
    with pytest.raises(ArchitectureDecodeError, match="tag"):
        Architecture.from_bytes(bytes(bad))
    count_at = tag_at - 2
    for count in (0, MAX_LAYERS + 1):
        bad = bytearray(data)
        bad[count_at : count_at + 2] = struct.pack(">H", count)
        with pytest.raises(ArchitectureDecodeError, match="layer count"):
            Architecture.from_bytes(bytes(bad))
    shift_at = relu_at - 1
    bad = bytearray(data)
    bad[shift_at] = 1  # a shift on the logit layer
    with pytest.raises(ArchitectureDecodeError, match="shift 0"):
        Architecture.from_bytes(bytes(bad))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_encodings_decode_canonically_or_fail_cleanly(data):
    original = conv_arch().to_bytes()
    buf = bytearray(original)
    pos = data.draw(st.integers(0, len(buf) - 1))
    buf[pos] = data.draw(st.integers(0, 255))
    try:
        decoded = Architecture.from_bytes(bytes(buf))
    except ArchitectureDecodeError:
        return
    # Whatever decodes must be the unique encoding of what it decoded to.
    assert decoded.to_bytes() == bytes(buf)


def test_strict_json():
    obj = json.loads(mlp_arch().to_json())
    for mutate in [
        lambda o: o.update(extra=1),
        lambda o: o.pop("input_range"),
        lambda o: o.update(version=2),
        lambda o: o["layers"][0].update(relu=1),
        lambda o: o["layers"][0].update(shift=True),
        lambda o: o["layers"][0].update(type="lstm"),
        lambda o: o["layers"][0].update(unknown=3),
        lambda o: o["layers"][0].pop("bias_bits"),
        lambda o: o.update(layers={}),
    ]:
        bad = json.loads(json.dumps(obj))
        mutate(bad)
        with pytest.raises(ArchitectureDecodeError):
            Architecture.from_json(json.dumps(bad))
    with pytest.raises(ArchitectureDecodeError, match="parse"):
        Architecture.from_json("{")
    with pytest.raises(ArchitectureDecodeError, match="larger"):
        Architecture.from_json(" " * 70000)


# -------------------------------------------------------------------------- models


def random_tensors(arch: Architecture, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for slot in arch.layout:
        lo, hi = -(1 << (slot.bits - 1)), (1 << (slot.bits - 1)) - 1
        out[slot.name] = rng.integers(lo, hi, size=slot.shape, endpoint=True)
    return out


def test_flat_weights_round_trip_in_layout_order():
    arch = conv_arch()
    tensors = random_tensors(arch)
    model = QuantizedModel(arch, tensors)
    flat = model.flat_weights()
    assert flat.dtype == np.int64 and flat.shape == (arch.weight_count,)
    for slot in arch.layout:
        np.testing.assert_array_equal(flat[slot.offset : slot.stop], tensors[slot.name].ravel())
    again = QuantizedModel.from_flat(arch, flat)
    assert again == model
    np.testing.assert_array_equal(again.weight(0), tensors["layers.0.weight"])
    np.testing.assert_array_equal(again.bias(6), tensors["layers.6.bias"])
    with pytest.raises(ArchitectureError, match="length"):
        QuantizedModel.from_flat(arch, flat[:-1])
    with pytest.raises(ArchitectureError, match="length"):
        QuantizedModel.from_flat(arch, flat.reshape(1, -1))


def test_weights_are_checked_against_their_widths():
    arch = Architecture((2,), (0, 1), (Dense(2, 2, weight_bits=4, bias_bits=6),))
    ok = {"layers.0.weight": [[-8, 7], [0, 1]], "layers.0.bias": [-32, 31]}
    QuantizedModel(arch, {k: np.array(v) for k, v in ok.items()})
    for name, value in [
        ("layers.0.weight", [[-9, 7], [0, 1]]),
        ("layers.0.weight", [[-8, 8], [0, 1]]),
        ("layers.0.bias", [-33, 0]),
        ("layers.0.bias", [0, 32]),
    ]:
        bad = dict(ok, **{name: value})
        with pytest.raises(ArchitectureError, match="declared"):
            QuantizedModel(arch, {k: np.array(v) for k, v in bad.items()})
    huge = np.array([0, 1 << 63], dtype=np.uint64)  # would wrap to a negative int64
    with pytest.raises(ArchitectureError, match="declared"):
        QuantizedModel(
            arch, {"layers.0.weight": np.array(ok["layers.0.weight"]), "layers.0.bias": huge}
        )
    with pytest.raises(ArchitectureError, match="integer"):
        QuantizedModel(
            arch, {"layers.0.weight": np.zeros((2, 2)), "layers.0.bias": np.zeros(2, int)}
        )
    with pytest.raises(ArchitectureError, match="shape"):
        QuantizedModel(
            arch, {"layers.0.weight": np.zeros((2, 3), int), "layers.0.bias": np.zeros(2, int)}
        )
    with pytest.raises(ArchitectureError, match="missing"):
        QuantizedModel(arch, {"layers.0.weight": np.zeros((2, 2), int)})


def test_model_arrays_are_private_copies_and_repr_hides_weights():
    arch = mlp_arch()
    tensors = random_tensors(arch, seed=3)
    model = QuantizedModel(arch, tensors)
    tensors["layers.0.bias"][:] = 0
    assert model.bias(0).any()
    with pytest.raises(ValueError):
        model.weight(0)[0, 0] = 1
    with pytest.raises(TypeError):
        model.tensors["layers.0.bias"] = np.zeros(32, int)  # type: ignore[index]
    text = repr(model)
    assert "2410 parameters" in text
    assert str(int(model.weight(0)[0, 0])) + "," not in text
    assert "[" not in text
