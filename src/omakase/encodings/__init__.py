"""Pure in-memory encodings (listpack, intset, quicklist, skiplist): no server imports."""
