"""Sharded (DCP) checkpoints at a URL (issue 15): each of 2 gloo ranks writes its shards through fsspec
(DCP's FsspecWriter; here a ``file://`` URL, the same code path as ``s3://`` with s3fs), and the run
resumed from the URL ends bit for bit where the uninterrupted run ends; the URL consolidates in one
process to the weights the backend gathered."""

import pytest
import torch

from lmforge.systems.parallel.parity import run_backends, tiny_model

pytestmark = pytest.mark.distributed

BACKENDS = ("zero1", "fsdp", "torch_fsdp2")
JOBS = [(n, n, {}) for n in BACKENDS]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsspec")
    url = f"file://{root}/bucket/ckpt"
    for sub in ("whole", "first", "again"):
        (root / sub).mkdir()
    whole = run_backends(JOBS, root / "whole", world=2, steps=3)
    first = run_backends(JOBS, root / "first", world=2, steps=2, save_dcp=url)
    again = run_backends(JOBS, root / "again", world=2, steps=3, load_dcp=url, start_step=2)
    return root, url, whole, first, again


@pytest.mark.parametrize("label", BACKENDS)
def test_resume_from_a_url_is_bitwise(runs, label):
    root, _, whole, first, again = runs
    assert "error" not in first[0][label], first[0][label].get("error")
    assert "error" not in again[0][label], again[0][label].get("error")
    shards = sorted(p.name for p in (root / "bucket" / "ckpt" / label).iterdir())
    assert ".metadata" in shards and sum(p.endswith(".distcp") for p in shards) == 2  # one file per rank
    for rank in range(2):
        want, got = whole[rank][label]["state"], again[rank][label]["state"]
        assert sorted(want) == sorted(got)
        for k in want:
            assert torch.equal(want[k], got[k]), k


@pytest.mark.parametrize("label", BACKENDS)
def test_consolidate_reads_the_url(runs, label):
    from lmforge.systems.parallel.sharded_checkpoint import consolidate

    _, url, _, first, _ = runs
    full = consolidate(f"{url}/{label}", tiny_model())
    want = first[0][label]["state"]
    assert sorted(full) == sorted(want)
    for k, v in want.items():
        assert torch.equal(full[k], v), k
