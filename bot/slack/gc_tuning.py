"""The garbage collector, set for a long-running server once it has started.

CPython's cyclic collector runs after every 700 net allocations, and every tenth and
hundredth run it walks older objects too: after start-up that is several hundred thousand
objects of imported modules that live as long as the process. In a rush (bench/, with
hundreds of lookups in flight) those walks take a large share of the event loop's time,
spread over whatever happened to allocate. Freezing what start-up created takes it out of the
collector's sight, and a higher first threshold makes collections rarer; reference counting
still frees almost everything the moment it is no longer used.
"""

from __future__ import annotations

import gc

# Allocations between young collections, then young collections per middle one, and middle
# ones per full one (CPython's defaults: 700, 10, 10).
THRESHOLDS = (20_000, 50, 100)


def settle_after_start_up() -> None:
    """Collect once, freeze what survives, and make collections rarer from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
