"""Leaves a non-daemon thread collecting after the main module has returned.

The report must wait for it: its forced full collections must be counted.
"""

import gc
import threading
import time


def worker():
    time.sleep(0.3)
    for _ in range(5):
        gc.collect(2)
    print("thread done", flush=True)


threading.Thread(target=worker).start()
print("main done", flush=True)
