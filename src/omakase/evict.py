"""Eviction support: Redis's LFU counter logic (``evict.c``).

The 24-bit LRU/LFU field of every value (see ``objects``) holds, under an
LFU policy, 16 bits of "last decrement time" in minutes and an 8-bit
logarithmic access counter.  A read first decays the counter by one per
``lfu-decay-time`` minutes elapsed, then increments it with probability
``1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)``, so 255 means about a
million hits at the default factor.
"""
from __future__ import annotations

import random
import time
from typing import Any

LFU_INIT_VAL = 5


def lfu_minutes() -> int:
    return (int(time.time()) // 60) & 0xFFFF


def lfu_time_elapsed(ldt: int) -> int:
    now = lfu_minutes()
    if now >= ldt:
        return now - ldt
    return 65535 - ldt + now


def lfu_decr_and_return(server: Any, field: int) -> int:
    ldt = field >> 8
    counter = field & 255
    decay = server.config.lfu_decay_time
    periods = lfu_time_elapsed(ldt) // decay if decay else 0
    if periods:
        counter = 0 if periods > counter else counter - periods
    return counter


def lfu_log_incr(server: Any, counter: int) -> int:
    if counter == 255:
        return 255
    base = max(0, counter - LFU_INIT_VAL)
    p = 1.0 / (base * server.config.lfu_log_factor + 1)
    if random.random() < p:
        counter += 1
    return counter


def lfu_update(server: Any, field: int) -> int:
    counter = lfu_log_incr(server, lfu_decr_and_return(server, field))
    return (lfu_minutes() << 8) | counter
