"""The service with the ``train`` backend: a submitted experiment really trains, and its curve is real."""

from __future__ import annotations

import math
import sysconfig
from pathlib import Path

from lmforge.core import get_part
from lmforge.scaling.client import Client
from lmforge.scaling.service.local_server import LocalServer


def token_file(tmp: Path) -> Path:
    from lmforge.tokenize import encode_files_to_bin

    text = tmp / "text.txt"
    text.write_text((Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text())
    encode_files_to_bin(get_part("tokenizer", "byte")(), [text], tmp / "tokens.bin", workers=1)
    return tmp / "tokens.bin"


def test_train_backend_trains_through_the_service(lab, tmp_path):
    data = token_file(tmp_path)
    key = lab.add_key("trainer", 1e11)
    server = LocalServer(lab.dir, "train", workers=1, options=(f"data={data}", f"val_data={data}"))
    lab.servers.append(server)
    client = Client(server.start(key).url, key)
    shape = dict(vocab_size=256, context_length=32, d_model=32, num_layers=1, num_heads=2)
    exp = client.submit(shape, flops=3e9, batch_size=8, lr=3e-3)
    [done] = client.wait([exp["id"]], timeout=300)
    assert done["status"] == "done", done["reason"]
    shown = client.experiment(exp["id"])
    row, curve = shown["result"], shown["curve"]
    assert Path(row["name"]).is_dir() and Path(row["name"]).parent == lab.dir.resolve() / "runs"
    assert 3e9 <= row["flops"] < 3.1e9 and math.isfinite(row["loss"])
    assert len(curve) > 10 and curve[0][0] < curve[-1][0] <= row["tokens"]
    assert curve[-1][1] < curve[0][1] - 0.5  # it learned: training loss fell from ~ln(256)
    assert client.budget()["used"] == row["flops"]
