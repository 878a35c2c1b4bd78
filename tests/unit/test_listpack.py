"""Listpack: byte-exact golden blobs from Redis 7.0.15, a model-based state
machine, and corruption handling."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from helpers import examples
from omakase.encodings.listpack import (
    EMPTY_LISTPACK,
    Listpack,
    backlen_bytes,
    d2string,
    double2ll,
    encode_entry,
    entry_to_score,
    format_double,
    string_to_int64,
    zset_score_entry,
)

# --- golden blobs (DUMP payloads of redis-server 7.0.15) ---------------------

# HSET h f0 0 f1 127 f2 128 f3 -1 f4 -4096 f5 4095 f6 4096 f7 -32768 f8 32768
#        f9 -8388608 f10 8388608 f11 -2147483648 f12 2147483648
#        f13 -9223372036854775808 f14 9223372036854775807 f15 0123 f16 +1
#        f17 -0 f18 "" f19 hello          (RDB type 16, hash listpack)
GOLDEN_HASH_VALUES = [
    b"0", b"127", b"128", b"-1", b"-4096", b"4095", b"4096", b"-32768", b"32768",
    b"-8388608", b"8388608", b"-2147483648", b"2147483648", b"-9223372036854775808",
    b"9223372036854775807", b"0123", b"+1", b"-0", b"", b"hello",
]
GOLDEN_HASH = bytes.fromhex(
    "c40000002800826630030001826631037f0182663203c0800282663303dfff0282663403d000"
    "0282663503cfff0282663603f100100382663703f100800382663803f20080000482663903f2"
    "000080048366313004f300008000058366313104f300000080058366313204f4000000800000"
    "0000098366313304f40000000000000080098366313404f4ffffffffffffff7f098366313504"
    "8430313233058366313604822b31038366313704822d30038366313804800183663139048568"
    "656c6c6f06ff"
)

# ZADD z 0.1 a 1 b -0 c 1e20 d 2^62 e 2^62+1024 f inf g -inf h -2.5 i 3e-5 j
# (RDB type 17, zset listpack; members and scores alternate in score order)
GOLDEN_ZSET = bytes.fromhex(
    "900000001400816802842d696e6605816902842d322e35058163020001816a0296332e303030"
    "30303030303030303030303031652d30351781610293302e3130303030303030303030303030"
    "303031148162020101816502f400000000000000400981660296342e36313136383630313834"
    "323733383839652b3138178164028531652b32300681670283696e6604ff"
)
GOLDEN_ZSET_PAIRS = [
    (b"h", float("-inf")), (b"i", -2.5), (b"c", -0.0), (b"j", 3e-5), (b"a", 0.1),
    (b"b", 1.0), (b"e", 2.0 ** 62), (b"f", 2.0 ** 62 + 1024), (b"d", 1e20), (b"g", float("inf")),
]


def hash_pairs(values):
    out = []
    for i, v in enumerate(values):
        out += [b"f%d" % i, v]
    return out


def test_golden_hash_build_and_parse():
    elems = hash_pairs(GOLDEN_HASH_VALUES)
    assert Listpack(elems).to_bytes() == GOLDEN_HASH
    lp = Listpack.from_bytes(GOLDEN_HASH)
    assert lp.to_list() == elems
    assert list(reversed(lp)) == elems[::-1]
    assert len(lp) == 40 and lp.nbytes == len(GOLDEN_HASH)
    # integer accessor
    assert lp.get_value(1) == 0 and lp.get_value(27) == -(1 << 63) and lp.get_value(31) == b"0123"
    assert lp.canonical is True


def test_golden_hash_incremental_ops_match():
    lp = Listpack()
    for e in hash_pairs(GOLDEN_HASH_VALUES):
        lp.append(e)
    assert lp.to_bytes() == GOLDEN_HASH
    lp2 = Listpack()
    for e in reversed(hash_pairs(GOLDEN_HASH_VALUES)):
        lp2.prepend(e)
    assert lp2.to_bytes() == GOLDEN_HASH


def test_golden_zset_scores():
    elems = []
    for m, s in GOLDEN_ZSET_PAIRS:
        elems += [m, zset_score_entry(s)]
    assert Listpack(elems).to_bytes() == GOLDEN_ZSET
    vals = Listpack.from_bytes(GOLDEN_ZSET).to_values()
    scores = [entry_to_score(v) for v in vals[1::2]]
    assert scores == [s for _, s in GOLDEN_ZSET_PAIRS]
    assert vals[1::2][:4] == [b"-inf", b"-2.5", 0, b"3.0000000000000001e-05"]


def test_long_string_encodings_match_redis():
    # Headers / backlens observed in a Redis 7.0.15 hash listpack.
    cases = [
        (b"y" * 64, "e040", "42"),
        (b"z" * 126, "e07e", "0180"),
        (b"r" * 4096, "f000100000", "2085"),
        (b"q" * 16382, "f0fe3f0000", "018083"),
    ]
    for s, hdr, bl in cases:
        enc = encode_entry(s)
        h = bytes.fromhex(hdr)
        assert enc.startswith(h) and enc.endswith(bytes.fromhex(bl))
        assert len(enc) == len(h) + len(s) + len(bytes.fromhex(bl))
    lp = Listpack([c[0] for c in cases])
    assert Listpack.from_bytes(lp.to_bytes()).to_list() == [c[0] for c in cases]


def test_empty():
    lp = Listpack()
    assert lp.to_bytes() == EMPTY_LISTPACK
    assert len(lp) == 0 and lp.to_list() == [] and list(reversed(lp)) == []
    assert Listpack.from_bytes(EMPTY_LISTPACK).to_list() == []
    with pytest.raises(IndexError):
        lp.get(0)
    with pytest.raises(IndexError):
        lp.pop()


@pytest.mark.parametrize(
    "s,expected",
    [
        (b"0", 0), (b"123", 123), (b"-1", -1), (b"9223372036854775807", (1 << 63) - 1),
        (b"-9223372036854775808", -(1 << 63)), (b"9223372036854775808", None),
        (b"-9223372036854775809", None), (b"0123", None), (b"+1", None), (b" 1", None),
        (b"1 ", None), (b"-0", None), (b"-", None), (b"", None), (b"1_0", None), (b"00", None),
        (b"1e3", None), (b"12345678901234567890", None), ("١".encode(), None),
    ],
)
def test_string_to_int64(s, expected):
    assert string_to_int64(s) == expected


def test_backlen_thresholds():
    assert backlen_bytes(127) == b"\x7f"
    assert backlen_bytes(128) == bytes((1, 128))
    assert len(backlen_bytes(16382)) == 2
    assert len(backlen_bytes(16383)) == 3  # Redis uses a strict '<' here
    assert len(backlen_bytes(2097150)) == 3 and len(backlen_bytes(2097151)) == 4
    assert len(backlen_bytes(268435454)) == 4 and len(backlen_bytes(268435455)) == 5


def test_int_encoding_widths():
    widths = {0: 2, 127: 2, 128: 3, -4096: 3, 4095: 3, 4096: 4, -32768: 4, 32768: 5,
              -8388608: 5, 8388608: 6, 2147483647: 6, 2147483648: 10}
    for v, w in widths.items():
        assert len(encode_entry(v)) == w
        assert encode_entry(b"%d" % v) == encode_entry(v)
    with pytest.raises(OverflowError):
        encode_entry(1 << 63)


def test_double_helpers():
    assert format_double(1.0) == b"1"
    assert format_double(0.1) == b"0.10000000000000001"
    assert format_double(-0.0) == b"-0"
    assert format_double(float("inf")) == b"inf" and format_double(float("-inf")) == b"-inf"
    assert format_double(1e20) == b"1e+20"
    assert d2string(float("nan")) == b"nan"
    assert double2ll(2.0 ** 62) == 1 << 62 and double2ll(2.0 ** 62 + 1024) is None
    assert double2ll(-(2.0 ** 62)) == -(1 << 62) and double2ll(-0.0) == 0
    assert double2ll(0.5) is None and double2ll(float("inf")) is None and double2ll(float("nan")) is None
    assert zset_score_entry(-0.0) == 0 and zset_score_entry(1.5) == b"1.5"


def test_find_with_skip_on_pairs():
    lp = Listpack([b"a", b"b", b"b", b"a", b"c", b"1", b"1", b"c"])
    assert lp.find(b"a", skip=1) == 0
    assert lp.find(b"b", skip=1) == 2
    assert lp.find(b"c", skip=1) == 4
    assert lp.find(b"1", skip=1) == 6
    assert lp.find(1, skip=1) == 6
    assert lp.find(b"c", start=1, skip=1) == 7  # values only
    assert lp.find(b"zz", skip=1) == -1
    assert lp.find(b"a", start=1, skip=1) == 3
    assert lp.find(b"b", start=3) == -1
    # matches inside other entries' bytes must not count
    lp = Listpack([b"xa\x02y", b"a"])
    assert lp.find(b"a") == 1


def test_lookup_pairs():
    lp = Listpack([b"f1", b"v1", b"v1", b"f1", b"n", 42, b"odd"])
    assert lp.lookup(b"f1") == b"v1"
    assert lp.lookup(b"v1") == b"f1"
    assert lp.lookup(b"n") == b"42" and lp.lookup(b"n", values=True) == 42
    assert lp.lookup(b"odd") is None and lp.lookup(b"42") is None and lp.lookup(b"zz") is None
    big = Listpack([x for i in range(200) for x in (b"k%d" % i, b"v%d" % i)])
    assert big.lookup(b"k150") == b"v150" and big.lookup(b"v150") is None
    assert big._offs is not None  # > 64 entries: find keeps an index
    big.drop_index()
    assert big.get(250, build_index=False) == b"k125" and big._offs is None
    assert big.range(200, 203, build_index=False) == [b"k100", b"v100", b"k101"] and big._offs is None
    assert big.get(250) == b"k125" and big._offs is not None


def test_find_non_canonical_blob_falls_back():
    # "12" stored as a 6-bit string (Redis would store an int) and "ab" stored
    # with a 12-bit length: both still match by value, as lpCompare does.
    blob = bytearray(b"\x00\x00\x00\x00\x02\x00")
    blob += b"\x8212\x03" + b"\xe0\x02ab\x04" + b"\xff"
    blob[0:4] = len(blob).to_bytes(4, "little")
    lp = Listpack.from_bytes(bytes(blob))
    assert lp.canonical is False
    assert lp.to_list() == [b"12", b"ab"]
    assert lp.find(b"12") == 0 and lp.find(12) == 0 and lp.find(b"ab") == 1
    assert lp.may_contain(b"zz") is True
    assert lp.to_bytes() == bytes(blob)


def test_bulk_helpers_and_slices():
    elems = [b"%d" % i for i in range(300)] + [b"s%d" % i for i in range(300)]
    lp = Listpack()
    lp.extend(elems)
    assert lp.to_bytes() == Listpack(elems).to_bytes()
    assert lp.range(10, 20) == elems[10:20]
    assert lp.range(-5, 1000) == elems[-5:]
    assert lp.range(5, 2) == []
    assert list(lp.iter_from(590)) == elems[590:]
    assert list(lp.iter_from(5, reverse=True)) == elems[5::-1]
    assert lp.slice(100, 400).to_list() == elems[100:400]
    c = Listpack.concat(lp.slice(0, 7), lp.slice(7, 600))
    assert c.to_bytes() == lp.to_bytes()
    lp.insert_many(3, [b"x", 5, b"y"])
    assert lp.to_list() == elems[:3] + [b"x", b"5", b"y"] + elems[3:]


def test_numele_saturates():
    lp = Listpack([1] * 65534)
    assert lp.to_bytes()[4:6] == b"\xfe\xff"
    lp.append(1)
    assert lp.to_bytes()[4:6] == b"\xff\xff"
    lp.append(1)
    back = Listpack.from_bytes(lp.to_bytes())
    assert len(back) == 65536
    lp.delete_range(0, 10)
    assert lp.to_bytes()[4:6] == (65526).to_bytes(2, "little")


# --- corruption ----------------------------------------------------------------


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x07\x00\x00\x00\x00\x00",  # too short
        b"\x08\x00\x00\x00\x00\x00\xff",  # size mismatch
        b"\x07\x00\x00\x00\x00\x00\x00",  # no terminator
        b"\x07\x00\x00\x00\x01\x00\xff",  # count mismatch
        b"\x09\x00\x00\x00\x01\x00\x05\x02\xff",  # bad backlen
        b"\x09\x00\x00\x00\x01\x00\xf5\x01\xff",  # invalid encoding byte
        b"\x0a\x00\x00\x00\x01\x00\x85ab\xff",  # string runs past the end
        b"\x0b\x00\x00\x00\x02\x00\x01\x01\xff\xff\xff",  # early EOF with trailing junk
        b"\x0b\x00\x00\x00\x01\x00\xf0\xff\xff\xff\xff",  # huge 32-bit length
    ],
)
def test_corrupt_blobs_raise(blob):
    with pytest.raises(ValueError):
        Listpack.from_bytes(blob)


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_blobs_never_crash(data):
    elems = data.draw(st.lists(st.one_of(st.binary(max_size=80), st.integers(-(1 << 63), (1 << 63) - 1)), max_size=8))
    blob = bytearray(Listpack(elems).to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(blob)))
        blob = blob[:cut]
    try:
        lp = Listpack.from_bytes(bytes(blob))
    except ValueError:
        return
    # whatever was accepted must be fully usable
    vals = lp.to_list()
    assert len(vals) == len(lp)
    assert list(reversed(lp)) == vals[::-1]
    for v in vals:
        assert lp.find(v) >= 0


# --- model-based state machine ---------------------------------------------------

elements = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"0", b"1", b"-1", b"127", b"128", b"4096", b"-0", b"007", b"a", b"\x02", b"\x01"]),
    st.integers(-(1 << 63), (1 << 63) - 1).map(lambda v: b"%d" % v),
    st.integers(60, 140).map(lambda n: b"L" * n),
    st.integers(4090, 4100).map(lambda n: b"M" * n),
)


class ListpackMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.lp = Listpack()
        self.model = []

    @rule(e=elements)
    def append(self, e):
        self.lp.append(e)
        self.model.append(e)

    @rule(e=elements)
    def prepend(self, e):
        self.lp.prepend(e)
        self.model.insert(0, e)

    @rule(e=elements, head=st.booleans())
    def push_bytes(self, e, head):
        size = self.lp.push_bytes(e, head)
        if head:
            self.model.insert(0, e)
        else:
            self.model.append(e)
        assert size == self.lp.nbytes

    @precondition(lambda self: self.model)
    @rule(head=st.booleans())
    def pop_end(self, head):
        if head:
            assert self.lp.pop_head() == self.model.pop(0)
        else:
            assert self.lp.pop_tail() == self.model.pop()

    @rule(e=elements, i=st.integers(-30, 30))
    def insert(self, e, i):
        self.lp.insert(i, e)
        self.model.insert(i, e)

    @rule(es=st.lists(elements, max_size=6), i=st.integers(0, 30))
    def insert_many(self, es, i):
        self.lp.insert_many(i, es)
        self.model[i:i] = es

    @precondition(lambda self: self.model)
    @rule(i=st.integers(-30, 30))
    def delete(self, i):
        i %= len(self.model)
        self.lp.delete(i)
        del self.model[i]

    @rule(start=st.integers(-10, 30), count=st.integers(0, 8))
    def delete_range(self, start, count):
        n = len(self.model)
        removed = self.lp.delete_range(start, count)
        s = start + n if start < 0 else start
        if s < 0 or s >= n:
            assert removed == 0
            return
        assert removed == min(count, n - s)
        del self.model[s:s + removed]

    @precondition(lambda self: self.model)
    @rule(i=st.integers(-30, 30), e=elements)
    def replace(self, i, e):
        i %= len(self.model)
        self.lp.replace(i, e)
        self.model[i] = e

    @precondition(lambda self: self.model)
    @rule(head=st.booleans())
    def pop(self, head):
        if head:
            assert self.lp.pop(0) == self.model.pop(0)
        else:
            assert self.lp.pop() == self.model.pop()

    @precondition(lambda self: self.model)
    @rule(i=st.integers(-30, 30))
    def get(self, i):
        i %= len(self.model)
        assert self.lp.get(i) == self.model[i]
        assert self.lp.get(i - len(self.model)) == self.model[i]

    @rule(e=elements, start=st.integers(0, 5), skip=st.integers(0, 2))
    def find(self, e, start, skip):
        exp = -1
        for j in range(start, len(self.model), skip + 1):
            if self.model[j] == e:
                exp = j
                break
        assert self.lp.find(e, start, skip) == exp

    @rule(a=st.integers(-15, 30), b=st.integers(-15, 30))
    def range(self, a, b):
        assert self.lp.range(a, b) == self.model[a:b]

    @rule()
    def drop_index(self):
        self.lp.drop_index()

    @invariant()
    def consistent(self):
        lp = self.lp
        assert len(lp) == len(self.model)
        assert lp.to_list() == self.model
        blob = lp.to_bytes()
        assert blob == Listpack(self.model).to_bytes()
        if lp._offs is not None:
            real = [o - lp._bias for o in lp._offs]
            fresh = Listpack.from_bytes(blob)
            fresh._index()
            assert real == list(fresh._offs)

    def teardown(self):
        assert list(reversed(self.lp)) == self.model[::-1]
        Listpack.from_bytes(self.lp.to_bytes())


TestListpackMachine = ListpackMachine.TestCase
TestListpackMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_random_bulk_against_model():
    rnd = random.Random(7)
    model = [b"%d" % rnd.randint(-70000, 70000) if rnd.random() < 0.5 else b"v" * rnd.randint(0, 70) for _ in range(2000)]
    lp = Listpack(model)
    for _ in range(500):
        i = rnd.randrange(len(model))
        op = rnd.random()
        if op < 0.3:
            v = b"n%d" % rnd.randrange(100)
            lp.insert(i, v)
            model.insert(i, v)
        elif op < 0.6:
            lp.delete(i)
            del model[i]
        else:
            v = b"%d" % rnd.randrange(1000)
            lp.replace(i, v)
            model[i] = v
        j = rnd.randrange(len(model))
        assert lp.get(j) == model[j]
    assert lp.to_list() == model
    assert lp.to_bytes() == Listpack(model).to_bytes()


ALPHABET = [b"", b"a", b"\x02", b"\x01", b"1", b"12", b"-1", b"a\x02", b"\x81a", b"aa", b"300"]


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2 ** 32), st.integers(65, 160))
def test_find_indexed_path_matches_model(seed, n):
    rnd = random.Random(seed)
    model = [rnd.choice(ALPHABET) for _ in range(n)]
    lp = Listpack(model)
    small = Listpack(model[:60])
    for _ in range(25):
        e, start, skip = rnd.choice(ALPHABET), rnd.randrange(0, 170), rnd.randrange(0, 4)
        for m, target in ((model, lp), (model[:60], small)):
            exp = next((j for j in range(start, len(m), skip + 1) if m[j] == e), -1)
            assert target.find(e, start, skip) == exp
    assert small._offs is None  # small listpacks never keep an index
    assert lp.find(model[-1], 1) >= 0 and lp._offs is not None
    # mutations keep the index coherent
    lp.insert(40, b"zz")
    lp.delete(3)
    lp.replace(len(model) - 5, b"longer-value-here")
    model.insert(40, b"zz")
    del model[3]
    model[len(model) - 5] = b"longer-value-here"
    assert lp.to_list() == model
    assert lp.find(b"longer-value-here") == len(model) - 5 and lp.find(b"zz") == 39


def test_push_pop_hot_paths_match_generic_ones():
    """push_bytes/pop_head/pop_tail (the quicklist hot path) write the same
    blob as append/prepend/pop, with and without an offset index."""
    rnd = random.Random(11)
    pool = [b"xxx", b"", b"0", b"-1", b"127", b"128", b"-0", b"01", b"+1", b"a" * 63,
            b"a" * 64, b"b" * 4095, b"b" * 4096, b"9223372036854775807",
            b"9223372036854775808", b"-9223372036854775808", b"x" * 20, b"1" * 21]
    for indexed in (False, True):
        a, b = Listpack(), Listpack()
        for _ in range(400):
            if rnd.random() < 0.65 or not len(a):
                v = rnd.choice(pool)
                head = rnd.random() < 0.5
                size = a.push_bytes(v, head)
                b.prepend(v) if head else b.append(v)
                assert size == a.nbytes
            elif rnd.random() < 0.5:
                assert a.pop_head() == b.pop(0)
            else:
                assert a.pop_tail() == b.pop()
            if indexed and len(a) > 70:
                a.get(len(a) // 2)          # builds the offset index
            assert a.to_bytes() == b.to_bytes()
        assert a.to_list() == b.to_list()
    with pytest.raises(IndexError):
        Listpack().pop_head()
    with pytest.raises(IndexError):
        Listpack().pop_tail()
