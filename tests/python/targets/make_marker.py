"""Creates the file named by its first argument: proof that the target ran."""

import sys

with open(sys.argv[1], "w") as f:
    f.write("the target ran\n")
