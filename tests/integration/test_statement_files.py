"""The object-store adapters' local side: keys stay under the store's root, a stored file
is read back through a spooled copy that is removed afterwards, and the store is chosen
from ``IMPORT_STORE_URL``."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from shared.adapters.statement_files import GcsFiles, LocalDirectoryFiles, statement_files_from
from shared.settings import settings_from
from tests.integration.storage_emulator import storage_emulator

REPO = Path(__file__).resolve().parents[2]


def test_a_stored_file_reads_back_through_a_removed_spool_copy(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    files = LocalDirectoryFiles(tmp_path / "store", spool)
    files.put("imports/u/i.ofx", io.BytesIO(b"<OFX>"))
    with files.open("imports/u/i.ofx") as copy:
        assert copy.read() == b"<OFX>"
        assert len(list(spool.iterdir())) <= 1  # an unlinked temporary file, at most
    assert list(spool.iterdir()) == []


def test_keys_outside_the_root_or_missing_are_key_errors(tmp_path: Path) -> None:
    files = LocalDirectoryFiles(tmp_path / "store")
    with pytest.raises(KeyError), files.open("imports/none.ofx"):
        pass
    with pytest.raises(KeyError):
        files.put("../escape.ofx", io.BytesIO(b"x"))
    assert not (tmp_path / "escape.ofx").exists()


def test_the_store_is_chosen_by_its_url(tmp_path: Path) -> None:
    base = settings_from({"VALORIZE_DATA_DIR": str(tmp_path)})
    default = statement_files_from(base)
    assert isinstance(default, LocalDirectoryFiles)
    assert default.root == tmp_path / "imports"
    local = statement_files_from(dataclasses.replace(base, import_store_url="file:///srv/x"))
    assert isinstance(local, LocalDirectoryFiles)
    assert local.root == Path("/srv/x")
    cloud = statement_files_from(dataclasses.replace(base, import_store_url="gs://bucket-1"))
    assert isinstance(cloud, GcsFiles)
    assert cloud.bucket == "bucket-1"
    with pytest.raises(ValueError, match="IMPORT_STORE_URL"):
        statement_files_from(dataclasses.replace(base, import_store_url="s3://nope"))


def test_cloud_storage_adapter_round_trips_through_the_emulator(tmp_path: Path) -> None:
    """``GcsFiles`` against a Cloud Storage emulator: the JSON API's media upload and
    download, an object name with slashes and a space, and a missing object."""
    venv = REPO / ".valorize" / "storage-emulator-venv"
    with storage_emulator(venv, "imports-test", tmp_path / "gcs.log") as api:
        files = GcsFiles("imports-test", tmp_path / "spool", api=api, token=lambda: "test")
        try:
            content = b"OFXHEADER:100\n" + bytes(range(256)) * 4096  # 1 MiB and a bit
            files.put("imports/u/a b.ofx", io.BytesIO(content))
            with files.open("imports/u/a b.ofx") as copy:
                assert copy.read() == content
            with pytest.raises(KeyError), files.open("imports/u/none.ofx"):
                pass
        finally:
            files.close()
    assert list((tmp_path / "spool").iterdir()) == []
