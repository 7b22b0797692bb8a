import io
import json

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.core.cli import build_cli
from lmforge.data import SkipCounter, mask_emails, mask_ips, mask_phone_numbers, read_jsonl, read_wet


def test_wet_reader(tmp_path):
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "a.warc.wet.gz"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i in range(3):
            rec = w.create_warc_record(
                f"http://x.test/{i}",
                "conversion",
                payload=io.BytesIO(f"plain text {i}\nline two".encode()),
                warc_headers_dict={"Content-Type": "text/plain"},
            )
            w.write_record(rec)
    docs = list(read_wet(path, SkipCounter()))
    assert [d.text for d in docs] == [f"plain text {i}\nline two" for i in range(3)]
    assert docs[2].metadata["url"] == "http://x.test/2"


def test_cli_run_on_jsonl_with_bad_lines_and_a_gigantic_document(tmp_path):
    prose = " ".join(["The survey documented the condition of the old bridges in the region."] * 8)
    lines = [
        json.dumps({"id": "a", "text": prose}),
        "{not json",
        json.dumps({"text": ""}),
        json.dumps({"id": "big", "text": (prose + "\n") * 3000}),
        json.dumps({"id": "c", "text": "1234 5678 " * 40}),
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "p.toml").write_text(f'''
output_dir = "{tmp_path / "out"}"
[input]
paths = ["{tmp_path / "in.jsonl"}"]
[[filters]]
name = "length"
min_chars = 10
max_chars = 20000
[[filters]]
name = "gopher"
[executor]
name = "local"
workers = 1
progress = false
''')
    result = CliRunner().invoke(
        build_cli(), ["data", "run", "--config", str(tmp_path / "p.toml"), "--set", "output.format=jsonl"]
    )
    assert result.exit_code == 0, result.output
    assert "bad_json=1" in result.output and "too_short=1" in result.output
    (final,) = (tmp_path / "out" / "final").glob("in.jsonl-*.jsonl")
    docs = {d.id: d for d in read_jsonl(final)}
    assert set(docs) == {"a", "big"}
    assert "gopher_non_alpha_words=1" in result.output
    assert len(docs["big"].text) <= 20000 and docs["big"].metadata["truncated"] is True

    # the shared run options: --resume OUTPUT_DIR continues with the saved config (nothing left to do),
    # --debug is accepted after the subcommand, and a GPU device is refused
    before = final.read_bytes()
    again = CliRunner().invoke(build_cli(), ["data", "run", "--resume", str(tmp_path / "out"), "--debug"])
    assert again.exit_code == 0, again.output
    assert f"stats: {tmp_path / 'out'}/stats.json" in again.output and final.read_bytes() == before
    gpu = CliRunner().invoke(build_cli(),
                             ["data", "run", "--resume", str(tmp_path / "out"), "--device", "cuda"])
    assert gpu.exit_code != 0 and "run on the CPU" in str(gpu.exception)
    empty = CliRunner().invoke(build_cli(), ["data", "run", "--resume", str(tmp_path)])
    assert empty.exit_code != 0 and "no pipeline run there" in str(empty.exception)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1234567890.@-() +|x:\n")), max_size=80))
def test_masking_is_idempotent(text):
    for mask in (mask_emails, mask_phone_numbers, mask_ips):
        once, _ = mask(text)
        assert mask(once) == (once, 0)
