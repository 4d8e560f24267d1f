"""The competition spec: its digest (what proofs are bound to), its JSON form, and the
exact-fraction acceptance threshold."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from fractions import Fraction

import pytest

from zkproofs.competition import (
    MAX_CLASSES,
    MAX_SAMPLES,
    SPEC_VERSION,
    CompetitionSpec,
    SpecError,
    parse_threshold,
)

SPEC = CompetitionSpec(
    competition_id=uuid.UUID("12345678-1234-4234-8234-123456789abc"),
    test_set_digest=bytes(range(32)),
    num_samples=360,
    num_classes=10,
    input_shape=(8, 8),
    input_scale=16,
    threshold=Fraction(19, 20),
    input_range=(0, 16),
)
# Computed once from the code: any change to the canonical encoding shows here (and would
# silently invalidate every proof bound to an existing competition).
SPEC_DIGEST_HEX = "6eac3693ea5833bf8fea5d414a6af4bd9666aa638f1735129c6c9c249515d90a"


def spec_dict(spec: CompetitionSpec = SPEC) -> dict:
    return json.loads(spec.to_json())


# ------------------------------------------------------------------ digest


def test_digest_is_pinned():
    assert SPEC.digest().hex() == SPEC_DIGEST_HEX
    assert len(SPEC.digest()) == 32


def test_digest_is_stable_across_equal_specs():
    twin = CompetitionSpec(
        competition_id=uuid.UUID(str(SPEC.competition_id)),
        test_set_digest=bytes(SPEC.test_set_digest),
        num_samples=360,
        num_classes=10,
        input_shape=(8, 8),
        input_scale=16,
        threshold=Fraction("0.95"),
        input_range=(0, 16),
    )
    assert twin == SPEC
    assert twin.digest() == SPEC.digest()
    assert twin.canonical_bytes() == SPEC.canonical_bytes()


@pytest.mark.parametrize(
    "changes",
    [
        {"competition_id": uuid.UUID("12345678-1234-4234-8234-123456789abd")},
        {"test_set_digest": bytes(range(1, 33))},
        {"num_samples": 361},
        {"num_samples": 1},
        {"num_classes": 11},
        {"num_classes": 2},
        {"input_shape": (64,)},  # same number of inputs, other shape
        {"input_shape": (8, 8, 1)},
        {"input_shape": (8, 9)},
        {"input_scale": 17},
        {"input_range": (0, 15)},
        {"input_range": (-1, 16)},
        {"input_range": (-16, 0)},
    ],
    ids=lambda c: next(iter(c)) + "=" + str(next(iter(c.values()))),
)
def test_digest_changes_with_every_field_in_it(changes):
    other = dataclasses.replace(SPEC, **changes)
    assert other.digest() != SPEC.digest()
    assert other.canonical_bytes() != SPEC.canonical_bytes()


@pytest.mark.parametrize("threshold", [Fraction(1, 2), Fraction(1), Fraction(1, 360)])
def test_digest_does_not_depend_on_the_threshold(threshold):
    """The threshold is a server acceptance rule (c ≥ ⌈t·N⌉), not part of the statement a
    proof makes: a proof shows "my committed model gets c right on this test set", and the
    server decides whether c is enough. Keeping it out of the digest means the same proof
    stays valid if an organiser adjusts the threshold."""
    other = dataclasses.replace(SPEC, threshold=threshold)
    assert other.digest() == SPEC.digest()
    assert other.canonical_bytes() == SPEC.canonical_bytes()
    assert other.required_correct != SPEC.required_correct


def test_canonical_bytes_start_with_the_domain_and_version():
    data = SPEC.canonical_bytes()
    assert data.startswith(b"zkarena/competition\x00\x01")
    assert SPEC.competition_id.bytes in data
    assert SPEC.test_set_digest in data


# ------------------------------------------------------------------ JSON


def test_json_round_trip():
    text = SPEC.to_json()
    d = json.loads(text)
    assert d["version"] == SPEC_VERSION == 1
    assert d["digest"] == SPEC_DIGEST_HEX
    assert d["threshold"] == "19/20"  # exact, never a float
    assert d["competition_id"] == "12345678-1234-4234-8234-123456789abc"
    again = CompetitionSpec.from_json(text)
    assert again == SPEC
    assert isinstance(again.threshold, Fraction)
    assert again.input_shape == (8, 8) and isinstance(again.input_shape, tuple)
    assert again.to_json() == text


@pytest.mark.parametrize(
    "spec",
    [
        dataclasses.replace(SPEC, threshold=Fraction(1, 3), input_shape=(1, 28, 28)),
        dataclasses.replace(SPEC, num_samples=MAX_SAMPLES, num_classes=MAX_CLASSES),
        dataclasses.replace(SPEC, input_range=(-(2**31), 2**31 - 1), threshold=Fraction(1)),
    ],
)
def test_json_round_trip_at_the_bounds(spec):
    assert CompetitionSpec.from_json(spec.to_json()) == spec


def _tampered_digests():
    good = SPEC_DIGEST_HEX
    flipped = ("0" if good[0] != "0" else "1") + good[1:]
    other = dataclasses.replace(SPEC, num_samples=361).digest().hex()
    return {"one hex digit": flipped, "another spec's": other, "empty": "", "truncated":
            good[:-2], "null": None, "number": 0}


@pytest.mark.parametrize("name", sorted(_tampered_digests()))
def test_from_json_refuses_a_tampered_digest(name):
    d = spec_dict()
    d["digest"] = _tampered_digests()[name]
    with pytest.raises(SpecError, match="digest"):
        CompetitionSpec.from_json(json.dumps(d))


@pytest.mark.parametrize(
    "key, value",
    [
        ("num_samples", 361),
        ("num_classes", 11),
        ("input_shape", [64]),
        ("input_scale", 15),
        ("input_range", [0, 255]),
        ("test_set_digest", bytes(32).hex()),
        ("competition_id", "12345678-1234-4234-8234-123456789abd"),
    ],
)
def test_from_json_refuses_content_that_does_not_match_its_digest(key, value):
    d = spec_dict()
    d[key] = value
    with pytest.raises(SpecError, match="digest"):
        CompetitionSpec.from_json(json.dumps(d))


def test_from_json_accepts_another_threshold_under_the_same_digest():
    d = spec_dict()
    d["threshold"] = "1/2"
    spec = CompetitionSpec.from_json(json.dumps(d))
    assert spec.threshold == Fraction(1, 2)
    assert spec.digest() == SPEC.digest()


@pytest.mark.parametrize("version", [0, 2, "1", None, -1, 65536])
def test_from_json_refuses_another_version(version):
    d = spec_dict()
    d["version"] = version
    with pytest.raises(SpecError, match="version"):
        CompetitionSpec.from_json(json.dumps(d))


# The budget may be absent (files written before budgets existed get the default; see
# tests/zkproofs/test_budget.py); every other field is required.
@pytest.mark.parametrize("key", sorted(set(spec_dict()) - {"digest", "budget"}))
def test_from_json_refuses_missing_fields(key):
    d = spec_dict()
    del d[key]
    with pytest.raises(SpecError):
        CompetitionSpec.from_json(json.dumps(d))


@pytest.mark.parametrize(
    "key, value",
    [
        ("competition_id", "not-a-uuid"),
        ("test_set_digest", "zz" * 32),
        ("test_set_digest", "00" * 31),
        ("num_samples", 0),
        ("num_samples", MAX_SAMPLES + 1),
        ("num_samples", "many"),
        ("num_samples", None),
        ("num_classes", 1),
        ("input_shape", []),
        ("input_shape", [0, 8]),
        ("input_shape", [1, 1, 1, 1, 1]),
        ("input_shape", None),
        ("input_scale", 0),
        ("input_range", [16, 0]),
        ("input_range", [0, 2**31]),
        ("input_range", 7),
        ("threshold", "0"),
        ("threshold", "1.5"),
        ("threshold", "abc"),
        ("threshold", None),
    ],
)
def test_from_json_refuses_malformed_values(key, value):
    d = spec_dict()
    d[key] = value
    d.pop("digest")
    with pytest.raises(SpecError):
        CompetitionSpec.from_json(json.dumps(d))


@pytest.mark.parametrize("text", ["", "{", "not json", "{}"])
def test_from_json_refuses_garbage(text):
    with pytest.raises(SpecError):
        CompetitionSpec.from_json(text)


@pytest.mark.parametrize("text", ["[]", "null", "1", '"spec"', "[1, 2]"])
def test_from_json_refuses_json_that_is_not_an_object(text):
    """BUG (reported): d.get(...) on a list/None/int raises AttributeError, which escapes
    as a crash instead of a SpecError."""
    with pytest.raises(SpecError):
        CompetitionSpec.from_json(text)


@pytest.mark.parametrize(
    "key, value",
    [
        ("input_range", [0]),  # IndexError escapes today
        ("input_range", []),
        ("input_range", [0, 16, 99]),  # a third bound silently dropped today
        ("num_samples", 360.5),  # truncated to 360 today
        ("num_samples", "360"),
        ("num_samples", True),  # bool is an int subclass: read as N = 1
        ("input_scale", 16.0),
        ("input_shape", "88"),  # a string is iterated digit by digit: (8, 8)
        ("input_shape", [8.5, 8]),
        ("version", True),  # True == 1 in Python
        ("version", 1.0),
        ("competition_id", 12),  # uuid.UUID(12) raises AttributeError, which escapes
    ],
)
def test_from_json_refuses_values_of_the_wrong_type(key, value):
    """BUG (reported): the integer fields go through int(), so floats are truncated, strings
    parsed and booleans read as 0/1; a short input_range raises IndexError and a non-string
    id AttributeError, both escaping as crashes. A spec file is an interchange format: a
    value of the wrong JSON type is malformed."""
    d = spec_dict()
    d[key] = value
    d.pop("digest")  # so the digest check cannot be what rejects it
    with pytest.raises(SpecError):
        CompetitionSpec.from_json(json.dumps(d))


# ------------------------------------------------------------------ spec validation


@pytest.mark.parametrize(
    "changes",
    [
        {"test_set_digest": bytes(31)},
        {"test_set_digest": bytes(33)},
        {"num_samples": 0},
        {"num_samples": MAX_SAMPLES + 1},
        {"num_classes": 1},
        {"num_classes": MAX_CLASSES + 1},
        {"input_shape": ()},
        {"input_shape": (8, 0)},
        {"input_shape": (8, -8)},
        {"input_shape": (1, 1, 1, 1, 1)},
        {"input_scale": 0},
        {"threshold": Fraction(0)},
        {"threshold": Fraction(-1, 10)},
        {"threshold": Fraction(101, 100)},
        {"input_range": (1, 0)},
        {"input_range": (-(2**31) - 1, 0)},
        {"input_range": (0, 2**31)},
    ],
    ids=lambda c: next(iter(c)) + "=" + str(next(iter(c.values()))),
)
def test_out_of_range_specs_are_refused(changes):
    with pytest.raises(SpecError):
        dataclasses.replace(SPEC, **changes)


# ------------------------------------------------------------------ thresholds


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.9", Fraction(9, 10)),
        ("9/10", Fraction(9, 10)),
        (" 0.9 ", Fraction(9, 10)),
        ("1", Fraction(1)),
        ("1.0", Fraction(1)),
        ("0.95", Fraction(19, 20)),
        ("1/3", Fraction(1, 3)),
        ("0.07", Fraction(7, 100)),
        ("1e-1", Fraction(1, 10)),
        (Fraction(9, 10), Fraction(9, 10)),
        (Fraction(1), Fraction(1)),
    ],
)
def test_parse_threshold_accepts(text, expected):
    t = parse_threshold(text)
    assert isinstance(t, Fraction)
    assert t == expected


@pytest.mark.parametrize(
    "text",
    ["0", "0.0", "0/5", "1.5", "3/2", "1.0000001", "-0.1", "-1", "abc", "", "  ", "1/0",
     "nan", "inf", "0.9.1", "9//10", Fraction(0), Fraction(3, 2), Fraction(-1, 2)],
)
def test_parse_threshold_refuses(text):
    with pytest.raises(SpecError):
        parse_threshold(text)


def test_parse_threshold_is_exact_where_binary_floats_are_not():
    # 0.1 + 0.2 is not 0.3 in binary floating point; in fractions it is.
    assert parse_threshold("0.3") == parse_threshold("0.1") + parse_threshold("0.2")
    assert parse_threshold("0.07") * 100 == 7
    assert 0.07 * 100 != 7  # the trap parse_threshold avoids


@pytest.mark.parametrize(
    "threshold, n, expected",
    [
        ("0.95", 360, 342),
        ("19/20", 360, 342),
        ("1/3", 3, 1),
        ("0.9", 10, 9),
        ("9/10", 10, 9),
        ("0.07", 100, 7),  # math.ceil(0.07 * 100) is 8 in floats
        ("0.9", 11, 10),  # 9.9 rounds up
        ("0.5", 1, 1),
        ("1", 360, 360),
        ("1/1000000", 1, 1),  # any positive threshold needs at least one correct answer
        ("999999/1000000", MAX_SAMPLES, MAX_SAMPLES - 1),  # 1048574.95…
        ("2/3", 999, 666),  # exactly on the boundary: no rounding up
        ("2/3", 1000, 667),
    ],
)
def test_required_correct_is_the_exact_ceiling(threshold, n, expected):
    spec = dataclasses.replace(SPEC, threshold=parse_threshold(threshold), num_samples=n)
    assert spec.required_correct == expected
    assert isinstance(spec.required_correct, int)
    t = Fraction(threshold)
    assert (expected - 1) < t * n <= expected  # the ceiling, by its definition
    assert expected == -(-t.numerator * n // t.denominator)


def test_a_float_threshold_never_enters_the_spec():
    """BUG (reported): the spec accepts a float threshold and then computes ⌈t·N⌉ in
    floating point: 0.07 gives ⌈7.000000000000001⌉ = 8 for N = 100. Either refusing
    non-Fraction thresholds or converting them exactly would pass this test."""
    try:
        spec = dataclasses.replace(SPEC, threshold=0.07, num_samples=100)
    except SpecError:
        return
    assert isinstance(spec.threshold, Fraction)
    assert spec.required_correct == 7
    assert math.ceil(0.07 * 100) == 8  # what the float path computes
