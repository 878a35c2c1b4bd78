"""HashTable (omakase.hashtable) against a dict model.

* A hypothesis rule-based state machine inserts, overwrites, deletes and
  looks up keys while the table grows, shrinks and rehashes incrementally
  (BUCKET_LOAD is patched down to 2 so a few dozen keys cross many resizes),
  and checks the structure after every step: every key in exactly the bucket
  its hash says (t0 at or above rehashidx, t1 below), moved buckets empty,
  ``used`` exact.
* The same machine runs a SCAN alongside: keys present for the whole
  iteration must all be returned when the cursor comes back to 0, whatever
  was inserted or deleted (and however the table was resized) between
  cursor steps.
* random_item / sample: only present entries, sample never repeats one and
  returns min(count, len) entries from a dense table.

Keys in the state machine are ints: ``hash(int)`` is deterministic, so a
failing example replays exactly (bytes hashing is randomised per process).
A separate test uses bytes keys with explicit growth and shrink mid-scan.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from helpers import examples
from omakase import hashtable
from omakase.hashtable import HashTable


def check_structure(ht: HashTable, model: dict) -> None:
    assert ht.used == len(model) == len(ht)
    seen = {}
    for i, b in enumerate(ht.t0):
        for k, v in b.items():
            assert k not in seen
            seen[k] = v
            assert hash(k) & ht.mask0 == i
            if ht.rehashidx >= 0:
                assert i >= ht.rehashidx, "moved t0 bucket not empty"
    if ht.t1 is not None:
        assert ht.rehashidx >= 0
        n0, n1 = len(ht.t0), len(ht.t1)
        for i, b in enumerate(ht.t1):
            # a bucket of t1 exists once an old bucket feeding it was moved
            if n1 > n0:
                assert (b is None) == (i % n0 >= ht.rehashidx)
            elif b is None:
                assert not any(j & ht.mask1 == i for j in range(ht.rehashidx))
            if b is None:
                continue
            for k, v in b.items():
                assert k not in seen
                seen[k] = v
                assert hash(k) & ht.mask1 == i
    else:
        assert ht.rehashidx == -1
    assert seen == model
    assert len(ht.t0) & (len(ht.t0) - 1) == 0


def full_scan(ht: HashTable) -> list:
    out = []
    cursor = 0
    while True:
        cursor = ht.scan(cursor, lambda k, v: out.append(k))
        if cursor == 0:
            return out


keys_st = st.integers(min_value=-2**70, max_value=2**70) | st.integers(0, 300)


class HashTableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert hashtable.BUCKET_LOAD == 2, "runs with the _small fixture"
        self.ht = HashTable()
        self.model: dict = {}
        self.rng = random.Random(0)
        # the SCAN in progress
        self.cursor = 0
        self.scanning = False
        self.must_see: set = set()
        self.seen: set = set()

    @initialize(n=st.integers(0, 120))
    def fill(self, n):
        for i in range(n):
            self.ht.set(i * 7919, i)
            self.model[i * 7919] = i

    @rule(k=keys_st, v=st.integers())
    def insert(self, k, v):
        new = self.ht.set(k, v)
        assert new == (k not in self.model)
        self.model[k] = v

    @rule(ks=st.lists(keys_st, min_size=1, max_size=60))
    def insert_many(self, ks):
        for k in ks:
            if k not in self.model:
                self.ht.add(k, k)
                self.model[k] = k

    @rule(k=keys_st)
    def delete(self, k):
        got = self.ht.pop(k, None)
        assert got == self.model.pop(k, None)
        self.must_see.discard(k)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete_existing(self, data):
        k = data.draw(st.sampled_from(sorted(self.model)))
        assert self.ht.pop(k) == self.model.pop(k)
        self.must_see.discard(k)

    @precondition(lambda self: len(self.model) > 4)
    @rule(frac=st.floats(0.5, 1.0))
    def delete_most(self, frac):
        ks = sorted(self.model)
        for k in ks[:int(len(ks) * frac)]:
            assert self.ht.pop(k) == self.model.pop(k)
            self.must_see.discard(k)

    @rule(k=keys_st)
    def lookup(self, k):
        assert self.ht.get(k, None) == self.model.get(k)
        assert (k in self.ht) == (k in self.model)

    @rule(n=st.integers(1, 50))
    def rehash(self, n):
        self.ht.rehash_step(n)      # explicit steps move buckets even when paused

    @rule()
    def rehash_ms(self):
        self.ht.rehash_ms(1)

    @rule()
    def shrink(self):
        self.ht.try_shrink()

    @rule(allowed=st.booleans())
    def fork_child(self, allowed):
        self.ht.resize_allowed = allowed

    @rule()
    def clear(self):
        self.ht.clear()
        self.model.clear()
        self.must_see.clear()

    @rule()
    def freeze_toggle(self):
        # a paused rehash (safe iterator, fork) keeps both tables alive for
        # many operations and SCAN steps
        self.ht.pause_rehash = 0 if self.ht.pause_rehash else 1

    @rule()
    def paused_iteration(self):
        before = self.ht.pause_rehash
        assert sorted(self.ht.keys()) == sorted(self.model)
        assert dict(self.ht.items()) == self.model
        assert self.ht.pause_rehash == before

    # -- SCAN alongside ------------------------------------------------------
    @rule(steps=st.integers(1, 4))
    def scan_step(self, steps):
        if not self.scanning:
            self.scanning = True
            self.cursor = 0
            self.must_see = set(self.model)
            self.seen = set()
        for _ in range(steps):
            self.cursor = self.ht.scan(self.cursor, lambda k, v: self.seen.add(k))
            if self.cursor == 0:
                missing = self.must_see - self.seen
                assert not missing, f"SCAN missed {sorted(missing)[:10]}"
                self.scanning = False
                break

    # -- sampling ----------------------------------------------------------------
    @rule()
    def random_item(self):
        item = self.ht.random_item(self.rng)
        if not self.model:
            assert item is None
        else:
            k, v = item
            assert self.model[k] == v

    @rule(count=st.integers(0, 40))
    def sample(self, count):
        got = self.ht.sample(count, self.rng)
        assert len(got) <= min(count, len(self.model))
        keys = [k for k, _ in got]
        assert len(set(keys)) == len(keys)
        for k, v in got:
            assert self.model[k] == v

    @invariant()
    def structure(self):
        check_structure(self.ht, self.model)


TestHashTableMachine = HashTableMachine.TestCase
TestHashTableMachine.settings = settings(
    max_examples=examples(50), stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _small(request, monkeypatch):
    # every test here (the state machine included) runs with tiny buckets
    monkeypatch.setattr(hashtable, "BUCKET_LOAD", 2)
    monkeypatch.setattr(hashtable, "INITIAL_BUCKETS", 4)


def test_grow_and_shrink_counts_buckets():
    ht = HashTable()
    for i in range(1000):
        ht.set(b"k%d" % i, i)
    while ht.rehashing:
        ht.rehash_step(10)
    assert len(ht.t0) * hashtable.BUCKET_LOAD >= 1000
    for i in range(990):
        assert ht.pop(b"k%d" % i) == i
    assert ht.needs_shrink()
    ht.try_shrink()
    assert ht.rehashing
    while ht.rehash_step(3):
        pass
    assert len(ht.t0) <= 8
    assert sorted(ht.keys()) == sorted(b"k%d" % i for i in range(990, 1000))


def test_no_grow_while_child_unless_forced():
    ht = HashTable()
    ht.resize_allowed = False
    n = len(ht.t0) * hashtable.BUCKET_LOAD * hashtable.FORCE_RESIZE_RATIO
    for i in range(n):
        ht.set(i, i)
    assert not ht.rehashing and len(ht.t0) == 4
    ht.set(n, n)     # past the forced ratio
    assert ht.rehashing


def test_clear_keeps_pause_and_fork_policy():
    ht = HashTable()
    for i in range(100):
        ht.set(i, i)
    ht.resize_allowed = False
    it = ht.keys()
    next(it)
    assert ht.pause_rehash == 1
    ht.clear()
    assert ht.pause_rehash == 1 and ht.resize_allowed is False
    it.close()
    assert ht.pause_rehash == 0 and len(ht) == 0


@pytest.mark.parametrize("seed", range(5))
def test_scan_guarantee_growth_and_shrink_mid_scan(seed):
    rng = random.Random(seed)
    ht = HashTable()
    stable = [b"stable:%d" % i for i in range(300)]
    for k in stable:
        ht.set(k, 1)
    seen = []
    cursor = 0
    steps = 0
    phase_keys = []
    while True:
        cursor = ht.scan(cursor, lambda k, v: seen.append(k))
        steps += 1
        if cursor == 0:
            break
        if steps == 3:          # grow a lot: several resizes mid-scan
            for i in range(3000):
                k = b"grow:%d:%d" % (seed, i)
                ht.set(k, 1)
                phase_keys.append(k)
        elif steps == 6:        # then shrink back below the start size
            for k in phase_keys:
                ht.pop(k)
            ht.try_shrink()
        elif steps % 4 == 0:    # churn
            for _ in range(20):
                k = b"churn:%d" % rng.randrange(100)
                if rng.random() < 0.5:
                    ht.set(k, 1)
                else:
                    ht.pop(k)
            ht.try_shrink()
        ht.rehash_step(rng.randrange(1, 5))
        assert steps < 100000
    assert set(stable) <= set(seen)


def test_scan_callback_may_delete():
    ht = HashTable()
    for i in range(500):
        ht.set(b"k%d" % i, i)
    out = set()

    def fn(k, v):
        out.add(k)
        ht.pop(k)          # as expiry during SCAN does
    cursor = 0
    while True:
        cursor = ht.scan(cursor, fn)
        if cursor == 0:
            break
    assert len(out) == 500 and len(ht) == 0


def test_scan_empty_and_high_cursor():
    ht = HashTable()
    assert ht.scan(0, lambda k, v: None) == 0
    ht.set(b"a", 1)
    got = []
    # any cursor value is accepted; a cursor with every bit set ends the scan
    assert ht.scan(2**64 - 1, lambda k, v: got.append(k)) == 0


def test_random_item_covers_all_keys():
    ht = HashTable()
    keys = [b"r%d" % i for i in range(40)]
    for k in keys:
        ht.set(k, k)
    rng = random.Random(1)
    seen = set()
    for _ in range(4000):
        k, v = ht.random_item(rng)
        assert k == v
        seen.add(k)
    assert seen == set(keys)
    assert HashTable().random_item() is None


def test_random_item_during_rehash():
    ht = HashTable()
    for i in range(200):
        ht.set(i, i)
    ht.pause_rehash += 1
    for i in range(200, 260):
        ht.set(i, i)
    rng = random.Random(2)
    seen = set()
    for _ in range(5000):
        k, v = ht.random_item(rng)
        seen.add(k)
    assert seen == set(range(260))


def test_sample_dense_returns_count_distinct():
    ht = HashTable()
    for i in range(1000):
        ht.set(i, -i)
    while ht.rehash_step(100):
        pass
    rng = random.Random(3)
    for count in (1, 5, 20, 100):
        got = ht.sample(count, rng)
        assert len(got) == count
        assert len({k for k, _ in got}) == count
        assert all(v == -k for k, v in got)
    # count above the size: everything at most once
    small = HashTable()
    for i in range(7):
        small.set(i, i)
    got = small.sample(50, rng)
    assert len({k for k, _ in got}) == len(got) <= 7
    assert HashTable().sample(5) == []


def test_sample_during_rehash_skips_moved_buckets():
    ht = HashTable()
    for i in range(300):
        ht.set(i, i)
    ht.pause_rehash += 1        # freeze mid-rehash
    for i in range(300, 700):
        ht.set(i, i)
    assert ht.rehashing
    rng = random.Random(4)
    total = set()
    for _ in range(200):
        got = ht.sample(10, rng)
        assert len({k for k, _ in got}) == len(got)
        total.update(k for k, _ in got)
    assert total <= set(range(700))
    assert len(total) > 300


# ---------------------------------------------------------------------------
# Loader helpers: presized tables, one-pass builds, insert_absent
# ---------------------------------------------------------------------------
def test_buckets_for_and_presized():
    load = hashtable.BUCKET_LOAD
    assert hashtable.buckets_for(0) == hashtable.buckets_for(4 * load) == 4
    assert hashtable.buckets_for(4 * load + 1) == 8
    assert hashtable.buckets_for(1000) * load >= 1000 > hashtable.buckets_for(1000) * load // 2
    ht = HashTable.presized(1000)
    assert len(ht.t0) == hashtable.buckets_for(1000) and ht.mask0 == len(ht.t0) - 1
    assert not ht.rehashing and len(ht) == 0
    assert len(HashTable.presized(3).t0) == 4


def test_from_keys_builds_without_rehashing():
    keys = [b"k%d" % i for i in range(100)]
    ht = HashTable.from_keys(iter(keys), len(keys))
    check_structure(ht, dict.fromkeys(keys))
    assert not ht.rehashing and len(ht.t0) == hashtable.buckets_for(100)
    ht = HashTable.from_keys(keys, len(keys), 7)
    check_structure(ht, dict.fromkeys(keys, 7))
    ht.set(b"new", 1)                   # the built table is an ordinary table
    assert ht.get(b"new") == 1 and len(ht) == 101


def test_from_keys_stops_at_the_first_duplicate():
    taken = []

    def gen():
        for k in (b"a", b"b", b"a", b"c"):
            taken.append(k)
            yield k
    assert HashTable.from_keys(gen(), 4) is None
    assert taken == [b"a", b"b", b"a"]  # nothing read after the duplicate


def test_insert_absent_grows_and_works_while_rehashing():
    ht = HashTable()
    model = {}
    for i in range(200):
        assert ht.insert_absent(b"k%d" % i, i)
        model[b"k%d" % i] = i
        assert not ht.insert_absent(b"k%d" % (i // 2), -1)   # present: untouched
        check_structure(ht, model)
    assert len(ht.t0) * hashtable.BUCKET_LOAD >= 100    # it grew (and rehashed) as set() does
