"""Ends in the way its first argument names, to compare exit statuses and stderr."""

import os
import signal
import sys


def fail():
    raise ValueError("boom")


def main(how):
    print("started", flush=True)
    if how == "exit0":
        sys.exit(0)
    if how == "exit3":
        sys.exit(3)
    if how == "exit-msg":
        sys.exit("bye: something went wrong")
    if how == "raise":
        fail()
    if how == "chained":
        try:
            fail()
        except ValueError as exc:
            raise RuntimeError("while handling") from exc
    if how == "sigint":
        # raise_signal delivers a real SIGINT and runs the Python-level handler before it
        # returns, so KeyboardInterrupt comes from this line every time; os.kill followed by
        # signal.pause() could block forever when the handler had not run before pause().
        signal.raise_signal(signal.SIGINT)
        signal.pause()
    if how == "keyboard":
        raise KeyboardInterrupt
    if how == "hook":
        sys.excepthook = lambda t, v, tb: print(f"custom hook: {t.__name__}: {v}", file=sys.stderr)
        fail()
    if how == "stderr-closed":
        os.close(2)


main(sys.argv[1] if len(sys.argv) > 1 else "return")
