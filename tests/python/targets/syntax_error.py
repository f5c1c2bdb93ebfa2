# A script python cannot compile: the launcher must report it as python does.
def broken(:
    pass
