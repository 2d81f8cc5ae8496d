"""The `keygate` the disk scripts drive: the one named, else this checkout's
release build, else its debug build."""
import os
import sys

root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def keygate(named=None):
    if named:
        return named
    built = (os.path.join(root, ".build", configuration, "keygate") for configuration in ("release", "debug"))
    path = next((path for path in built if os.path.exists(path)), None)
    if path is None:
        sys.exit("build keygate first: swift build -c release --product keygate")
    return path
