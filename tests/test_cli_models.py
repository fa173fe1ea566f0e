"""``shapzero models inspect`` / ``shapzero models list``."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from shapzero_core.cli import main

pytestmark = pytest.mark.timeout(60)


def test_models_list(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["demo:guide_rna", "demo:repair", "demo:cnn"]
    assert main(["models", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["n"], i["exact_spectrum"]) for i in items] == [(26, True), (40, True), (40, False)]


@pytest.mark.parametrize(("name", "layout", "output"), [
    ("guide_rna", "NLQ", "on_target_score"), ("repair", "codes", "frameshift_frequency"), ("cnn", "NQL", "activity")])
def test_inspect_demo(capsys, name, layout, output):
    assert main(["models", "inspect", f"demo:{name}", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(None, 1) for line in out.splitlines() if line[:1].strip())
    assert lines["layout"].startswith(f"{layout} (detected")
    assert lines["alphabet"] == "DNA (ACGT, q=4)"
    assert f"{output} " in lines["outputs"] and "<- used" in lines["outputs"]
    assert "sequences/s" in lines["throughput"]


def test_inspect_json_and_a_command_model(capsys, tmp_path):
    script = tmp_path / "count_g.py"
    script.write_text("import sys\nfor line in sys.stdin:\n    print(line.count('G'))\n")
    spec = "cmd:" + shlex.join([sys.executable, str(script)])
    assert main(["models", "inspect", spec, "--length", "12", "--seconds", "0.05", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "cmd" and info["n"] == 12 and info["throughput"] > 0
    assert info["example"]["prediction"] == info["example"]["sequence"].count("G")
    assert main(["models", "inspect", spec, "--seconds", "0"]) == 0  # no length: no test prediction
    assert "not fixed (pass --length)" in capsys.readouterr().out


def test_inspect_errors_are_one_line(capsys, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    for argv in (["models", "inspect", str(bad)], ["models", "inspect", str(tmp_path / "missing.onnx")],
                 ["models", "inspect", "what is this"],
                 ["models", "inspect", "http://example.com/v2/models/m", "--allow-host", "127.0.0.1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("shapzero: error: ") and "\n" not in err and "Traceback" not in err
    assert main(["models", "inspect", str(bad)]) == 2
    assert "broken.onnx: not a valid ONNX model" in capsys.readouterr().err
