"""Every systems backend declares its options as keyword arguments, so ``parallel = {name = ..., <options>}``
is checked before a backend is built: known options reach the backend, a misspelled one is a ConfigError
naming ``parallel``."""

import pytest

from lmforge.core import ConfigError, build_part, load_config
from lmforge.model.train_config import TrainConfig
from lmforge.model.train_setup import check_parallel
from lmforge.systems.plugin import PARALLEL_BACKENDS

OPTIONS = {  # one real option per backend that has any, as --set would give it
    "ddp_bucketed": ("bucket_size_mb=5", {"bucket_size_mb": 5}),
    "fsdp": ("backward_prefetch=false", {"backward_prefetch": False}),
    "torch_fsdp2": ('compute_dtype="bfloat16"', {"compute_dtype": "bfloat16"}),
    "torch_ddp": ("bucket_cap_mb=10", {"bucket_cap_mb": 10}),
    "deepspeed": ("stage=3", {"stage": 3}),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_set_options_reach_the_backend(name):
    text, want = OPTIONS[name]
    cfg = load_config(TrainConfig, overrides=[f"parallel={name}", f"parallel.{text}"])
    check_parallel(cfg)
    backend = build_part("parallel_backend", cfg.parallel)
    assert {k: backend.options[k] for k in want} == want


@pytest.mark.parametrize("name", sorted(PARALLEL_BACKENDS))
def test_a_misspelled_option_names_parallel(name):
    cfg = load_config(TrainConfig, overrides=[f"parallel={name}", "parallel.stages=3"])
    with pytest.raises(ConfigError, match=rf"^parallel: parallel_backend '{name}' does not take option\(s\) "
                                          "stages"):
        check_parallel(cfg)
