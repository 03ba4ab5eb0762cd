"""Reading a support bundle (tar.gz) in tests: {path inside the bundle folder: bytes}."""
from __future__ import annotations

import tarfile


def read_archive(path) -> dict:
    with tarfile.open(path, mode="r:gz") as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
