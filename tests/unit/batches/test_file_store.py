"""The file store writes whole files or nothing, on a folder and on any fsspec filesystem."""

from __future__ import annotations

import pytest

from app.batches.file_store import FileStore


@pytest.mark.parametrize("url", ["folder", "memory://llmjobs-test"])
def test_a_file_is_written_whole_and_read_back(tmp_path, url):
    store = FileStore(str(tmp_path / "files") if url == "folder" else url)
    assert store.write("file-1", [b"a\n", b"b\n"]) == 4
    assert b"".join(store.read_chunks("file-1")) == b"a\nb\n"
    store.delete("file-1")
    assert not store.exists("file-1")


def test_a_write_that_fails_midway_leaves_no_file(tmp_path):
    store = FileStore(str(tmp_path))

    def broken():
        yield b"first part\n"
        raise OSError("the client went away")

    with pytest.raises(OSError):
        store.write("file-2", broken())
    assert not store.exists("file-2")
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial file left behind either
