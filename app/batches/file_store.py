"""The bytes of uploaded and generated files, kept outside Redis (Redis holds their metadata only).

One small interface over fsspec, so a folder (the default, under the run folder) and any fsspec URL
(``s3://bucket/prefix``, ``gs://...``, ``memory://``) behave the same. A file is written under a
temporary name and renamed into place when complete, so a reader never sees a half-written file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import IO

import fsspec

CHUNK = 1 << 20


class FileStore:
    def __init__(self, url: str) -> None:
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, name: str) -> str:
        assert name and ".." not in name and not name.startswith("/"), name
        return f"{self.root}/{name}"

    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        """Write ``chunks`` as ``name`` atomically (whole or not at all); return the size in bytes."""
        final = self.path(name)
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        temporary = f"{parent}/.partial-{uuid.uuid4().hex}"
        size = 0
        try:
            with self.fs.open(temporary, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            self.fs.mv(temporary, final)  # a rename on a local disk; a complete object on a bucket
        finally:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
        return size

    def open(self, name: str) -> IO[bytes]:
        return self.fs.open(self.path(name), "rb")

    def read_chunks(self, name: str) -> Iterator[bytes]:
        with self.open(name) as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def exists(self, name: str) -> bool:
        return self.fs.exists(self.path(name))

    def delete(self, name: str) -> None:
        """Remove a file or a folder of them; a name that is not there is no error."""
        path = self.path(name)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
