"""Intset: golden blobs from Redis 7.0.15 and a model-based state machine."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from omakase.encodings.intset import Intset, value_encoding

# DUMP payloads of redis-server 7.0.15 (RDB type 11, set intset)
GOLDEN = {
    # SADD s16 5 -3 100 32767
    "0200000004000000fdff05006400ff7f": [-3, 5, 100, 32767],
    # SADD s32 1 2 -40000
    "0400000003000000c063ffff0100000002000000": [-40000, 1, 2],
    # SADD s64 1 2 1099511627776 -9223372036854775808
    "08000000040000000000000000000080010000000000000002000000000000000000000000010000":
        [-(1 << 63), 1, 2, 1 << 40],
}
# SADD sdown 1 1099511627776; SREM sdown 1099511627776 -> stays 64-bit
GOLDEN_NO_DOWNGRADE = "08000000010000000100000000000000"


@pytest.mark.parametrize("hexblob,values", list(GOLDEN.items()))
def test_golden(hexblob, values):
    blob = bytes.fromhex(hexblob)
    s = Intset.from_bytes(blob)
    assert list(s) == values and s.to_bytes() == blob and s.nbytes == len(blob)
    assert Intset(values).to_bytes() == blob
    t = Intset()
    for v in values:  # insertion order of the SADD call
        t.add(v)
    assert t.to_bytes() == blob


def test_upgrade_order_and_no_downgrade():
    s = Intset()
    for v in (1, 1 << 40):
        s.add(v)
    assert s.remove(1 << 40)
    assert s.to_bytes() == bytes.fromhex(GOLDEN_NO_DOWNGRADE)
    assert s.encoding == 8
    s = Intset([1, 2, 3])
    assert s.encoding == 2
    assert s.add(-70000) and s.encoding == 4 and list(s) == [-70000, 1, 2, 3]
    assert s.add(1 << 35) and s.encoding == 8 and list(s) == [-70000, 1, 2, 3, 1 << 35]
    assert not s.add(2)


def test_basic_ops():
    s = Intset()
    assert len(s) == 0 and not s.contains(5) and s.min() is None
    assert s.to_bytes() == struct.pack("<II", 2, 0)
    for v in (5, 3, 9, 3):
        s.add(v)
    assert list(s) == [3, 5, 9] and s.get(0) == 3 and s[-1] == 9
    assert 5 in s and 4 not in s and "5" not in s and (1 << 70) not in s
    assert not s.remove(1 << 70) and not s.remove(4)
    assert s.search(4) == (False, 1) and s.search(5) == (True, 1)
    assert s.random() in (3, 5, 9)
    assert s.pop_random() in (3, 5, 9) and len(s) == 2
    with pytest.raises(OverflowError):
        s.add(1 << 63)
    assert value_encoding(-32768) == 2 and value_encoding(32768) == 4 and value_encoding(-(1 << 31) - 1) == 8


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x02\x00\x00\x00",
        b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00",  # bad encoding
        b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00",  # length mismatch
        b"\x02\x00\x00\x00\x00\x00\x00\x00",  # empty
        b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00",  # unsorted
        b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00",  # duplicate
        b"\x02\x00\x00\x00\xff\xff\xff\xff\x01\x00",  # huge length
    ],
)
def test_corrupt(blob):
    with pytest.raises(ValueError):
        Intset.from_bytes(blob)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_never_crashes(blob):
    try:
        s = Intset.from_bytes(blob)
    except ValueError:
        return
    vals = list(s)
    assert vals == sorted(set(vals)) and s.to_bytes() == blob


ints = st.one_of(
    st.integers(-40, 40),
    st.integers(-(1 << 15) - 2, (1 << 15) + 2),
    st.integers(-(1 << 31) - 2, (1 << 31) + 2),
    st.integers(-(1 << 63), (1 << 63) - 1),
)


class IntsetMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.s = Intset()
        self.model = set()
        self.width = 2

    @rule(v=ints)
    def add(self, v):
        assert self.s.add(v) == (v not in self.model)
        self.model.add(v)
        self.width = max(self.width, value_encoding(v))

    @rule(v=ints)
    def remove(self, v):
        assert self.s.remove(v) == (v in self.model)
        self.model.discard(v)

    @rule(v=ints)
    def contains(self, v):
        assert self.s.contains(v) == (v in self.model)

    @invariant()
    def consistent(self):
        assert list(self.s) == sorted(self.model)
        assert self.s.encoding == self.width  # only ever widens
        blob = self.s.to_bytes()
        assert len(blob) == self.s.nbytes == 8 + len(self.model) * self.width
        if self.model:
            assert list(Intset.from_bytes(blob)) == sorted(self.model)


TestIntsetMachine = IntsetMachine.TestCase
TestIntsetMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
