"""The data layer: mirror, cache, download, and the one clear error for a missing or corrupt file."""
import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from adrec.data import registry
from adrec.data.registry import DataError, Dataset, fetch, file_identity, user_file

PAYLOAD = b"user\titem\n1\t2\n"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A one-file dataset served from a local HTTP server on 127.0.0.1 (no outside network)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "toy.tsv").write_bytes(PAYLOAD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ds = Dataset(name="toy", files={"toy.tsv": PAYLOAD_SHA}, url=f"http://127.0.0.1:{server.server_port}",
                 licence="test", citation="test")
    monkeypatch.setitem(registry.REGISTRY, "toy", ds)
    monkeypatch.setenv("ADREC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ADREC_DATA_MIRROR", str(tmp_path / "mirror"))
    yield ds, served, tmp_path
    server.shutdown()


def test_download_lands_verified_in_cache_then_is_reused(toy):
    ds, served, tmp = toy
    path = fetch("toy", "toy.tsv")
    assert path == tmp / "cache" / "toy" / "toy.tsv"
    assert path.read_bytes() == PAYLOAD
    (served / "toy.tsv").unlink()  # the server no longer has it: the cache must serve it
    assert fetch("toy", "toy.tsv").read_bytes() == PAYLOAD
    assert registry.files_read()["toy/toy.tsv"] == PAYLOAD_SHA


def test_mirror_is_read_in_place_before_cache_and_network(toy):
    ds, served, tmp = toy
    (served / "toy.tsv").unlink()
    mirror_file = tmp / "mirror" / "toy" / "toy.tsv"
    mirror_file.parent.mkdir(parents=True)
    mirror_file.write_bytes(PAYLOAD)
    assert fetch("toy", "toy.tsv") == mirror_file
    assert not (tmp / "cache" / "toy" / "toy.tsv").exists()


def test_corrupt_mirror_file_is_one_clear_error_and_left_alone(toy):
    ds, served, tmp = toy
    bad = tmp / "mirror" / "toy" / "toy.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"tampered")
    with pytest.raises(DataError) as err:
        fetch("toy", "toy.tsv")
    text = str(err.value)
    for needle in ("'toy'", "'toy.tsv'", PAYLOAD_SHA, hashlib.sha256(b"tampered").hexdigest(),
                   str(bad), "ADREC_DATA_MIRROR", "To fix"):
        assert needle in text
    assert bad.read_bytes() == b"tampered"  # nothing overwritten
    assert not (tmp / "cache" / "toy" / "toy.tsv").exists()


def test_corrupt_download_leaves_nothing_in_cache(toy):
    ds, served, tmp = toy
    (served / "toy.tsv").write_bytes(b"a different file")
    with pytest.raises(DataError) as err:
        fetch("toy", "toy.tsv")
    assert "toy.tsv" in str(err.value) and PAYLOAD_SHA in str(err.value)
    cache = tmp / "cache" / "toy"
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True


def test_no_mirror_no_network_names_every_place_looked(toy, monkeypatch):
    ds, served, tmp = toy
    closed = Dataset(name="toy", files=ds.files, url="http://127.0.0.1:9", licence="test", citation="test")
    monkeypatch.setitem(registry.REGISTRY, "toy", closed)
    with pytest.raises(DataError) as err:
        fetch("toy", "toy.tsv")
    text = str(err.value)
    assert "missing" in text and PAYLOAD_SHA in text
    assert "mirror folder itself does not exist" in text
    assert str(tmp / "cache" / "toy" / "toy.tsv") in text
    assert "http://127.0.0.1:9/toy.tsv failed" in text


def test_corrupt_cache_file_is_reported_not_silently_replaced(toy):
    ds, served, tmp = toy
    cached = tmp / "cache" / "toy" / "toy.tsv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half-writ")
    with pytest.raises(DataError, match="cache"):
        fetch("toy", "toy.tsv")
    assert cached.read_bytes() == b"half-writ"


def test_unknown_dataset_and_file():
    with pytest.raises(DataError, match="unknown dataset"):
        fetch("no-such-set", "x")
    with pytest.raises(DataError, match="has no file"):
        fetch("ml-100k", "ratings.dat")


def test_registry_hashes_match_the_shared_mirror():
    """Every registered file is in the project's mirror with the registered sha256 (when present)."""
    mirror = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not mirror.is_dir():
        pytest.skip("no ../shared/data mirror on this machine")
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text().split("\n"):
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.removeprefix("./")] = digest
    for ds in registry.REGISTRY.values():
        for file, digest in ds.files.items():
            assert sums[f"{ds.name}/{file}"] == digest, (ds.name, file)


def test_ml100k_published_statistics():
    from adrec.data import load_ml100k

    ml = load_ml100k()
    assert ml.ratings.user.nunique() == 943
    assert ml.ratings.item.nunique() == 1682
    assert len(ml.ratings) == 100_000
    assert len(ml.items) == 1682 and len(ml.users) == 943
    assert ml.items.loc[ml.items.item == 1, "genres"].item() == ["Animation", "Children's", "Comedy"]


def test_user_file_checks_records_and_identifies(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text("1 2\n")
    assert user_file(f) == f.resolve()
    assert registry.files_read()[str(f.resolve())] == hashlib.sha256(b"1 2\n").hexdigest()
    assert file_identity(f) == {"name": "pairs.txt", "sha256": hashlib.sha256(b"1 2\n").hexdigest()}
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "pairs.txt").write_text("1 2\n")
    assert file_identity(moved / "pairs.txt") == file_identity(f)  # the folder is not identity
    (moved / "pairs.txt").write_text("1 3\n")
    assert file_identity(moved / "pairs.txt")["sha256"] != file_identity(f)["sha256"]
    with pytest.raises(DataError, match="no such file") as err:
        user_file(tmp_path / "absent.txt")
    assert str(tmp_path / "absent.txt") in str(err.value)
    with pytest.raises(DataError, match="not a file"):
        user_file(tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="empty.txt: the file is empty"):
        user_file(tmp_path / "empty.txt")
