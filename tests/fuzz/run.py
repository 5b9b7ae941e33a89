#!/usr/bin/env python3
"""
run.py: runs one libFuzzer target for a bounded time, as a meson test.

usage: run.py TARGET SCRATCH [--corpus DIR] [--dict FILE] [--seconds N]

The seed corpus is only read: new inputs go to SCRATCH/corpus, a crashing
input to SCRATCH/crash-<sha1> and the like (both emptied first).  Exits with
the target's status; on a crash it says how to reproduce it.
"""

import argparse
import os
import shutil
import subprocess
import sys


def is_artifact(name):
    """Tells whether a file is one libFuzzer writes for a failing input."""
    return name.split("-")[0] in ("crash", "leak", "timeout", "oom", "slow")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("scratch")
    ap.add_argument("--corpus")
    ap.add_argument("--dict")
    ap.add_argument("--seconds", type=int,
                    default=int(os.environ.get("PINGAN_FUZZ_SECONDS", "20")))
    a = ap.parse_args()

    new = os.path.join(a.scratch, "corpus")
    shutil.rmtree(new, ignore_errors=True)
    os.makedirs(new)
    for f in os.listdir(a.scratch):
        if is_artifact(f):
            os.remove(os.path.join(a.scratch, f))
    cmd = [a.target,
           "-max_total_time=%d" % a.seconds,
           "-timeout=5",
           "-rss_limit_mb=2048",
           "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(a.scratch, "")]
    if a.dict:
        cmd.append("-dict=" + a.dict)
    cmd.append(new)
    if a.corpus:
        cmd.append(a.corpus)
    print("# " + " ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    if rc != 0:
        found = sorted(f for f in os.listdir(a.scratch) if is_artifact(f))
        for f in found:
            print("# failing input: %s (reproduce: %s %s)" % (
                os.path.join(a.scratch, f), a.target,
                os.path.join(a.scratch, f)), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
