"""Summarise a py-spy ``--format raw`` profile: where the app's event loop spent its time.

``python -m bench.profile_summary /tmp/prof/app-n800.folded`` looks at the main thread (the
event loop; other threads, such as the audit writer, are counted apart) and prints the share
of its samples that were idle (waiting in ``select``/``epoll``), the frames with the most
*own* time, and the frames with the most time *including* what they called.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# With uvloop the loop itself is C: a sample whose innermost Python frame is the runner is
# the loop waiting for I/O or doing its own (C) work, which py-spy cannot tell apart.
IDLE_FRAMES = ("select (selectors.py)", "run_forever (uvloop", "Runner.run (asyncio/runners.py)")
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def _short(frame: str) -> str:
    """``handle (slack_bolt/app/async_app.py:123)`` without the line number or site-packages."""
    frame = re.sub(r":\d+\)$", ")", frame)
    return re.sub(r"\(.*?(?:site-packages|lib/python3\.\d+)/", "(", frame)


def summarise(path: Path, top: int = 25) -> str:
    """The report for one folded-stacks file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = other_threads = 0
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        count = int(match["count"])
        frames = [_short(f) for f in match["stack"].split(";")]
        if frames[0].startswith("Thread._bootstrap"):
            other_threads += count
            continue
        total += count
        if frames[-1].endswith(IDLE_FRAMES):
            idle += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = total - idle
    out = [
        f"{path.name}: event loop thread {total} samples, {idle / total:.0%} waiting or in "
        f"the loop's own C code, {busy / total:.0%} in Python; other threads "
        f"{other_threads} samples"
    ]
    out.append(f"\nown time (share of busy samples), top {top}:")
    out += [f"  {n / busy:6.1%}  {frame}" for frame, n in own.most_common(top)]
    out.append(f"\ninclusive time (share of busy samples), top {top * 2}:")
    out += [f"  {n / busy:6.1%}  {frame}" for frame, n in inclusive.most_common(top * 2)]
    return "\n".join(out)


def main() -> None:
    """Print the summary of each file given."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_summary", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.files:
        print(summarise(path, args.top))


if __name__ == "__main__":
    main()
