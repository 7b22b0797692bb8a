"""Shard checksums at a URL (``file://`` through fsspec, the code path of ``s3://``) and in a folder: a
missing, extra or corrupt shard is named; ``train.checkpoint_shards_url`` is refused for a backend that
cannot write to a URL, for a relative path and for a URL that already holds files, before anything is
written. (The 2-rank run through the URL is packages/systems/tests/test_train_shards_url.py.)"""

import sys
from pathlib import Path

import pytest

from lmforge.core import ConfigError
from lmforge.model.checkpoint import CheckpointError
from lmforge.model.shard_storage import (
    check_shards_url,
    remove_shards,
    shard_location,
    shard_manifest,
    verify_shards,
)
from lmforge.model.trainer import train

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import tiny_config  # noqa: E402


def _shards(folder: Path) -> None:
    (folder / "sub").mkdir(parents=True)
    (folder / ".metadata").write_bytes(b"plan")
    (folder / "__0_0.distcp").write_bytes(bytes(range(200)))
    (folder / "sub" / "__1_0.distcp").write_bytes(b"rank one")


@pytest.mark.parametrize("as_url", [True, False])
def test_checksums_name_what_is_missing_extra_or_corrupt(tmp_path, as_url):
    folder = tmp_path / "bucket" / "step_0000002"
    _shards(folder)
    where = f"file://{folder}" if as_url else folder
    files = shard_manifest(where)
    assert sorted(files) == [".metadata", "__0_0.distcp", "sub/__1_0.distcp"]
    assert files["__0_0.distcp"]["size"] == 200 and len(files["__0_0.distcp"]["sha256"]) == 64
    verify_shards(where, files)
    blob = bytearray((folder / "__0_0.distcp").read_bytes())
    blob[100] ^= 1
    (folder / "__0_0.distcp").write_bytes(bytes(blob))
    (folder / "stray.distcp").write_bytes(b"x")
    (folder / "sub" / "__1_0.distcp").unlink()
    with pytest.raises(CheckpointError) as e:
        verify_shards(where, files)
    for problem in ("__0_0.distcp does not match its size/sha256", "stray.distcp is not in the checksums",
                    "sub/__1_0.distcp is missing"):
        assert problem in str(e.value)
    remove_shards(where)
    assert not folder.exists()


def test_a_location_is_relative_to_the_checkpoints_folder_or_a_url(tmp_path):
    step = tmp_path / "checkpoints" / "step_0000002"
    assert shard_location(step, {"sharded": "shards_0000002"}) == tmp_path / "checkpoints" / "shards_0000002"
    assert shard_location(step, {"sharded": "s3://b/run/step_0000002"}) == "s3://b/run/step_0000002"


def test_a_url_is_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="must be a URL"):
        check_shards_url("relative/shards", resume=False)
    taken = tmp_path / "taken"
    _shards(taken / "step_0000001")
    with pytest.raises(ConfigError, match="already holds files"):
        check_shards_url(f"file://{taken}", resume=False)
    check_shards_url(f"file://{taken}", resume=True)  # a resumed run writes beside its own shards
    check_shards_url(f"file://{tmp_path}/fresh", resume=False)
    run = tmp_path / "run"
    cfg = tiny_config(tmp_path / "cfg", f"run_dir={run}", f"train.checkpoint_shards_url=file://{tmp_path}/s")
    with pytest.raises(ConfigError, match="parallel = 'single' cannot write its checkpoint to a URL"):
        train(cfg)  # the single backend writes full weights into the run directory
    assert not run.exists()
