#!/usr/bin/env python3
"""Whole-process timings, interleaved, each beside the first command (the floor).

    compare.py RUNS [--before-each SHELL] NAME=COMMAND ...

Runs every command RUNS times, one after the other in turn, so a machine that slows
down slows them all; before each timed run, runs --before-each untimed (to regenerate
a tree a rewrite consumes). Prints each command's median and fastest wall time and
its median as a ratio to the first command's. A command that fails stops the run.
See benches/README.md for the commands each figure was measured with.
"""

import shlex
import statistics
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    runs = int(argv[1])
    rest = argv[2:]
    before = None
    if rest[0] == "--before-each":
        before, rest = rest[1], rest[2:]
    commands = [item.split("=", 1) for item in rest]
    times = {name: [] for name, _ in commands}
    for _ in range(runs):
        for name, command in commands:
            if before:
                subprocess.run(before, shell=True, check=True)
            start = time.perf_counter()
            try:
                done = subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL)
            except OSError as err:
                sys.exit(f"{name}: cannot run {command!r}: {err.strerror} (built it?)")
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"{name}: exit {done.returncode}: {command}")
            times[name].append(elapsed)
    floor = statistics.median(times[commands[0][0]])
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"{name:20} median {median * 1000:9.2f} ms   fastest {min(times[name]) * 1000:9.2f} ms"
              f"   {median / floor:5.2f}x")


if __name__ == "__main__":
    main(sys.argv)
