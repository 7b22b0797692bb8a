"""CI guard for the GPU scripts (issue 14): their CPU smoke mode runs under an import hook that allows
only the stdlib, lmforge and the GPU image's packages (tools/gpu/image_packages.txt), so a new top-level
import of a package the GPU machine lacks fails here, not on the (scarce) GPU run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
GUARD_DIR = ROOT / "tools" / "gpu" / "guard"
IMAGE_LIST = ROOT / "tools" / "gpu" / "image_packages.txt"


def guarded_env(package_list: Path = IMAGE_LIST, **extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(GUARD_DIR), os.environ.get("PYTHONPATH", "")]),
               LMFORGE_IMPORT_GUARD=str(package_list), OMP_NUM_THREADS="1", **extra)
    return env


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_guard_hides_packages_outside_the_image_and_keeps_the_rest():
    env = guarded_env()
    # tomli_w and polars are installed here but absent from the GPU image: not found, as there
    code = "import importlib.util as u; print(u.find_spec('tomli_w'), u.find_spec('polars'))"
    hidden = run_python(code, env)
    assert hidden.returncode == 0 and hidden.stdout.split() == ["None", "None"], hidden.stderr
    new_import = run_python("import lmforge.model\nimport tomli_w", env)
    assert new_import.returncode != 0 and "No module named 'tomli_w'" in new_import.stderr
    ok = run_python("import torch, triton, numpy, pytest, lmforge.core, lmforge.model, lmforge.systems", env)
    assert ok.returncode == 0, ok.stderr
    assert run_python("import tomli_w", dict(os.environ)).returncode == 0  # installed: the guard did it


def test_guard_catches_a_script_needing_an_unlisted_package(tmp_path):
    reduced = tmp_path / "packages.txt"
    reduced.write_text("\n".join(line for line in IMAGE_LIST.read_text().splitlines() if line != "torch"))
    proc = subprocess.run([sys.executable, str(ROOT / "tools/model/gpu_mfu.py"), "--device", "cpu", "--tiny",
                           "--compile", "off", "--out", str(tmp_path / "mfu.json")],
                          env=guarded_env(reduced), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr
    assert not (tmp_path / "mfu.json").exists()


@pytest.mark.slow
def test_check_sh_smoke_mode_passes_under_the_guard(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHON=sys.executable)
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(ROOT / "tools/gpu/check.sh"), "--smoke", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "all parts passed" in proc.stdout
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert set(results) == {"parity", "rmsnorm_bandwidth", "flash_vs_sdpa", "fused_ce", "end_to_end_step",
                            "generation"}
    assert all(isinstance(rows, list) and rows for rows in results.values())
    mfu = json.loads((tmp_path / "gpu_mfu.json").read_text())
    assert mfu["results"] and "error" not in mfu["results"][0]
    for log in ("pytest_gpu.txt", "gpu_check.txt", "gpu_mfu.txt", "environment.txt"):
        assert (tmp_path / log).stat().st_size > 0
