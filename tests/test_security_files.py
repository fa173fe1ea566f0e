"""Hostile and damaged sketch files (issues 15.1, 17.3): one clear error each, nothing pickled, nothing unpacked
beyond what was checked. Files are generated in ``tmp_path``; memory is measured in a subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from rss import PROBE

from shapzero_core.alphabet import DNA
from shapzero_core.cli import main as cli_main
from shapzero_core.fourier import FourierSketch, SketchFileError

pytestmark = pytest.mark.timeout(120)


def header(**over) -> bytes:
    h = {"format": "shapzero-sketch", "format_version": 1, "n": 2, "q": 4, "alphabet": DNA.to_dict(),
         "metadata": {}}
    h.update(over)
    return json.dumps(h).encode()


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def sketch_with(head: bytes) -> bytes:
    return npz(locations=np.array([[0, 0], [1, 0]], np.int8), coefficients=np.array([1.0, 0.5 + 0j]),
               header=np.frombuffer(head, np.uint8))


def bomb(path, member: str, nbytes: int, dtype=np.uint8, shape=None, extra: dict | None = None) -> None:
    """An .npz whose ``member`` unpacks to ``nbytes`` zeros (a real zip bomb: ~1,000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, arr in (extra or {}).items():
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr)
        with zf.open(f"{member}.npy", "w", force_zip64=True) as f:
            d = np.dtype(dtype)
            np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(d), "fortran_order": False,
                                                     "shape": shape or (nbytes // d.itemsize,)})
            zeros = bytes(1 << 22)
            for _ in range(nbytes // len(zeros)):
                f.write(zeros)


@pytest.mark.parametrize(("head", "message"), [
    (b"[1, 2, 3]", r"its header is a JSON list, not an object"),
    (b'"shapzero-sketch"', r"its header is a JSON str, not an object"),
    (header(format_version=-1), r"format_version -1 is not a version \(they start at 1\)"),
    (header(format_version=0), r"format_version 0 is not a version"),
    (header(format_version="1"), r"format_version is '1', not a whole number"),
    (header(format_version=True), r"format_version is True, not a whole number"),
    (header(format_version=None), r"format_version is None"),
    (header(format_version=99), r"format version 99 is newer than this program supports \(\d\); update"),
    (header(alphabet=[1, 2]), r"inconsistent content"),
    (header(metadata=[1, 2]), r"inconsistent content"),
    (header(n=7), r"header says n=7"),
])
def test_damaged_headers_are_one_clear_error(tmp_path, head, message, capsys):
    data = sketch_with(head)
    with pytest.raises(SketchFileError, match=message):
        FourierSketch.load(data, name="upload.npz")
    (tmp_path / "s.npz").write_bytes(data)
    (tmp_path / "seqs.txt").write_text("AC\nGT\n")
    rc = cli_main(["explain", "--sketch", str(tmp_path / "s.npz"), "--sequences", str(tmp_path / "seqs.txt"),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err and "s.npz" in err


def test_a_valid_sketch_still_loads(tmp_path):
    sk = FourierSketch.load(sketch_with(header()))
    assert sk.num_coefficients == 2 and sk.n == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"ACGTACGT\nTTTTGGGG\n", r"not a readable \.npz file: it is a text file \(first line 'ACGTACGT'\), not a sketch"),
    (b"", r"the file is empty"),
    (b"\x93NUMPY\x01\x00" + b"\0" * 100, r"a single NumPy array \(\.npy\)"),
    (b"\x00\x01garbage" * 100, r"it is not a zip archive"),
])
def test_files_that_are_not_sketches_never_mention_pickle(tmp_path, content, message):
    p = tmp_path / "guides.txt"
    p.write_bytes(content)
    with pytest.raises(SketchFileError, match=message) as e:
        FourierSketch.load(p)
    assert "pickle" not in str(e.value) and "allow_pickle" not in str(e.value)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("locations.npy", "w") as f:
            np.lib.format.write_array(f, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SketchFileError, match=r"array 'locations' holds Python objects \(pickled data\)"):
        FourierSketch.load(buf.getvalue())


def test_an_npy_header_asking_for_more_than_its_member_holds(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, zf.open("locations.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|i1", "fortran_order": False, "shape": (10**12, 40)})
        f.write(b"\0" * 100)
    with pytest.raises(SketchFileError, match=r"array 'locations' claims \(1000000000000, 40\) int8 .* but holds"):
        FourierSketch.load(buf.getvalue())


def test_a_large_header_is_refused_before_unpacking(tmp_path):
    p = tmp_path / "bighead.npz"
    bomb(p, "header", 8 << 20)  # 8 MB of zeros: below the content limit, above the header limit
    with pytest.raises(SketchFileError, match=r"its header would unpack to 8\.0 MB, more than the 4\.0 MB"):
        FourierSketch.load(p)


PEAK = PROBE + textwrap.dedent("""
    import sys
    from shapzero_core.fourier import FourierSketch, SketchFileError
    base = start_peak()
    try:
        FourierSketch.load(sys.argv[1])
    except SketchFileError as e:
        print(e, file=sys.stderr)
    print((peak() - base) // 1024)
""")


@pytest.mark.parametrize("member", ["header", "locations"])
def test_zip_bombs_are_refused_with_bounded_memory(tmp_path, member):
    """600 MB of zeros in a ~0.6 MB file: refused from the zip directory, peak memory a few MB."""
    p = tmp_path / f"bomb_{member}.npz"
    small = {"coefficients": np.zeros(1, complex)} if member == "locations" else {}
    bomb(p, member, 600 << 20, extra=small)
    assert p.stat().st_size < 5 << 20
    out = subprocess.run([sys.executable, "-c", PEAK, str(p)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "would unpack to 600.0 MB" in out.stderr and "zip bomb" in out.stderr
    assert int(out.stdout.split()[-1]) < 30_000  # KiB above the interpreter's own


def test_max_bytes_lets_a_genuinely_large_sketch_load(tmp_path):
    data = sketch_with(header())
    with pytest.raises(SketchFileError, match="would unpack to"):
        FourierSketch.load(data, max_bytes=100)
    assert FourierSketch.load(data, max_bytes=10_000).num_coefficients == 2
