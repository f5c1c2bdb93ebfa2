"""A program watched from outside (test_remote.py) or attached to (test_attach.py).

argv: GO STOP ROUNDS BURST.  It prints "ready", waits for the file GO, then
collects only while it works: ROUNDS rounds of 2,000 reference cycles, one
generation-1 and one full gc.collect(), and BURST generation-0 collections
in a row (far faster than an outside reader polls).  It prints the
differences of its own gc.get_stats() as one JSON line, waits for the file
STOP and prints "bye".  The collector is off before and after the work, so
the differences are every collection the program made in between.

With GCM_TEST_AUDIT=1 in its environment it also says on stderr, as
"remote script: PATH", each script that CPython runs in it for a
sys.remote_exec caller (the audit event cpython.remote_debugger_script),
so a test can tell whether anything was asked of it.
"""

import gc
import json
import os
import sys
import time

go, stop, rounds, burst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if os.environ.get("GCM_TEST_AUDIT") == "1":

    def remote_scripts(event, args):
        if event == "cpython.remote_debugger_script":
            print(f"remote script: {args[0]}", file=sys.stderr, flush=True)

    sys.addaudithook(remote_scripts)
gc.disable()
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.01)
before = gc.get_stats()
gc.enable()


class Node:
    pass


for _ in range(rounds):
    for _ in range(2000):
        a = Node()
        b = Node()
        a.b = b
        b.a = a
    time.sleep(0.002)
gc.collect(1)
gc.collect()
for _ in range(burst):
    gc.collect(0)
gc.disable()
after = gc.get_stats()
print(json.dumps([{k: a[k] - b[k] for k in a} for a, b in zip(after, before)]), flush=True)
while not os.path.exists(stop):
    time.sleep(0.01)
print("bye", flush=True)
