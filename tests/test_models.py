"""Model adapters, part 1: ONNX (layouts, outputs, broken files), callables, specs and identities."""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from shapzero_core import models as M
from shapzero_core.alphabet import DNA, PROTEIN
from shapzero_core.demos import get_demo
from shapzero_core.errors import ModelError
from shapzero_core.models import CallableModel, ModelFn, OnnxModel, detect_layout, load_model

pytestmark = pytest.mark.timeout(60)

RNG = np.random.default_rng(0)


def codes(N: int, n: int, q: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, q, size=(N, n), dtype=np.int8)


def weights(n: int, q: int) -> np.ndarray:
    """A (n, q) weight table; f(x) = sum_i W[i, x_i] is what every test graph computes."""
    return (np.arange(n * q, dtype=np.float64).reshape(n, q) % 7) / 7.0 + np.arange(n)[:, None] * 0.01


def truth(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    return W[np.arange(W.shape[0]), X].sum(axis=1)


def _model(nodes, inp, outs, inits, opset: int = 17, domain_ops=()) -> bytes:
    graph = helper.make_graph(nodes, "test", [inp], outs, inits)
    imports = [helper.make_opsetid("", opset), *[helper.make_opsetid(d, 1) for d in domain_ops]]
    m = helper.make_model(graph, opset_imports=imports, ir_version=8)
    return m.SerializeToString()


def onehot_model(n: int, q: int = 4, layout: str = "NLQ", dtype=TensorProto.FLOAT, batch="N",
                 extra_one: bool = False, outputs: int = 1) -> bytes:
    """Linear model on a one-hot input in the given layout (optionally with an extra singleton axis)."""
    W = weights(n, q).astype(np.float32)
    if layout == "NLQ":
        shape = [batch, n, q]
        flat = W.reshape(n * q, 1)
    elif layout == "NQL":
        shape = [batch, q, n]
        flat = W.T.reshape(n * q, 1)
    else:  # flat
        shape = [batch, n * q]
        flat = W.reshape(n * q, 1)
    if extra_one:
        shape = [shape[0], 1, *shape[1:]]
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["xf"]),
        helper.make_node("MatMul", ["xf", "w"], ["y1"]),
    ]
    inits = [numpy_helper.from_array(np.array([-1, n * q], dtype=np.int64), "s"),
             numpy_helper.from_array(flat, "w")]
    outs = [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [batch, 1])]
    if outputs == 2:  # a second output with 3 tasks: [y, 2y, -y]
        nodes.append(helper.make_node("Concat", ["y1", "y2", "y3"], ["tasks"], axis=1))
        nodes.append(helper.make_node("Mul", ["y1", "two"], ["y2"]))
        nodes.append(helper.make_node("Neg", ["y1"], ["y3"]))
        inits.append(numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"))
        outs.append(helper.make_tensor_value_info("tasks", TensorProto.FLOAT, [batch, 3]))
        outs.insert(0, helper.make_tensor_value_info("label", TensorProto.INT64, [batch, 1]))
        nodes.append(helper.make_node("Cast", ["y1"], ["label"], to=TensorProto.INT64))
    inp = helper.make_tensor_value_info("x", dtype, shape)
    if dtype != TensorProto.FLOAT:
        nodes.insert(0, helper.make_node("Cast", ["x"], ["x_"], to=TensorProto.FLOAT))
        nodes[1].input[0] = "x_"
    return _model(nodes, inp, outs, inits)


def codes_model(n: int, dtype=TensorProto.INT64, log: bool = False) -> bytes:
    """f(x) = sum_i (i+1) x_i on integer codes; with log=True: log(f - 3) (NaN where f < 3)."""
    w = np.arange(1, n + 1, dtype=np.float32).reshape(n, 1)
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["xf", "w"], ["y" if not log else "s"])]
    inits = [numpy_helper.from_array(w, "w")]
    if log:
        nodes += [helper.make_node("Sub", ["s", "three"], ["t"]), helper.make_node("Log", ["t"], ["y"])]
        inits.append(numpy_helper.from_array(np.array(3.0, dtype=np.float32), "three"))
    inp = helper.make_tensor_value_info("x", dtype, ["N", n])
    return _model(nodes, inp, [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], inits)


# ============================================================================================ layouts
@pytest.mark.parametrize(
    ("dims", "kind", "kw", "expect"),
    [
        ([26, 4], "float", {}, ("NLQ", 26, 4)),
        ([4, 40], "float", {}, ("NQL", 40, 4)),
        ([40], "int", {}, ("codes", 40, 4)),
        ([160], "float", {}, ("flat", 40, 4)),
        ([None, 4], "float", {}, ("NLQ", None, 4)),
        ([4, None], "float", {"n": 33}, ("NQL", 33, 4)),
        ([50, 20], "float", {}, ("NLQ", 50, 20)),
        ([20, 4], "float", {}, ("NLQ", 20, 4)),
        ([1, 30, 4], "float", {}, ("NLQ", 30, 4)),
        ([30], "float", {"n": 30}, ("codes", 30, 4)),
        ([40], "float", {"layout": "codes"}, ("codes", 40, 4)),
        ([4, 4], "float", {}, ("NLQ", 4, 4)),
        ([], "string", {}, ("strings", None, 4)),
    ],
)
def test_detect_layout(dims, kind, kw, expect):
    lay = detect_layout(dims, kind, **kw)
    assert (lay.layout, lay.n, lay.q) == expect


def test_detect_layout_errors_say_what_to_pass():
    with pytest.raises(ModelError, match=r"no axis has 4 letters \(DNA\) or 20 \(protein\); pass layout="):
        detect_layout([7, 9], "float")
    with pytest.raises(ModelError, match=r"length 26 .* but n=30 was given"):
        detect_layout([26, 4], "float", n=30)
    with pytest.raises(ModelError, match="not a flat one-hot of q=4"):
        detect_layout([41], "float")
    with pytest.raises(ModelError, match="more than 2 non-singleton axes"):
        detect_layout([3, 26, 4], "float")
    with pytest.raises(ValueError, match="layout must be one of"):
        detect_layout([26, 4], "float", layout="NCHW")
    with pytest.raises(ModelError, match="dynamic width: pass layout"):
        detect_layout([None], "float")


# ============================================================================================ ONNX
@pytest.mark.parametrize("layout", ["NLQ", "NQL", "flat"])
def test_onnx_one_hot_layouts_are_detected_and_predict(layout):
    n = 12
    m = load_model(onehot_model(n, layout=layout))
    assert isinstance(m, OnnxModel) and isinstance(m, ModelFn)
    assert m.layout == layout and m.n == n and m.alphabet == DNA
    X = codes(300, n)
    np.testing.assert_allclose(m(X), truth(X, weights(n, 4)), rtol=1e-5)
    d = m.describe()
    assert d["kind"] == "onnx" and d["layout"] == layout and d["inputs"][0]["name"] == "x"
    assert d["outputs"][0]["name"] == "y1" and d["output"] == "y1"


def test_onnx_protein_double_input_extra_axis_and_fixed_batch():
    n = 9
    m = load_model(onehot_model(n, q=20, dtype=TensorProto.DOUBLE, extra_one=True))
    assert m.alphabet == PROTEIN and m.layout == "NLQ"
    X = codes(50, n, q=20)
    np.testing.assert_allclose(m(X), truth(X, weights(n, 20)), rtol=1e-5)
    # a graph with a fixed batch size of 1: rows are sent one by one and padded, nothing is lost
    one = load_model(onehot_model(n, batch=1))
    assert one.batch_size == 1
    X = codes(5, n)
    np.testing.assert_allclose(one(X), truth(X, weights(n, 4)), rtol=1e-5)


def test_onnx_integer_codes_and_user_layout_override():
    m = load_model(codes_model(10))
    assert m.layout == "codes" and m.n == 10
    X = codes(100, 10)
    np.testing.assert_allclose(m(X), (X * np.arange(1, 11)).sum(1), rtol=1e-6)
    # a float input of width 40 would be read as flat one-hot (n=10); the user says it takes codes
    fl = load_model(onehot_model(10, layout="flat"), layout="codes")
    assert fl.layout == "codes" and fl.n == 40
    with pytest.raises(ModelError, match=r"no axis has 4 letters \(DNA\) or 20 \(protein\)"):
        load_model(onehot_model(10, q=5))  # q=5 needs an alphabet ...
    with pytest.raises(ModelError, match=r"no axis has 4 letters \(DNA\); pass layout"):
        load_model(onehot_model(10, q=5), alphabet="dna")  # ... and a wrong one is refused
    m5 = load_model(onehot_model(10, q=5), alphabet="ACGTN")
    assert m5.alphabet.letters == "ACGTN" and m5.n == 10


def test_onnx_output_and_task_selection():
    data = onehot_model(8, outputs=2)  # outputs: label (int64), y1 (float, 1), tasks (float, 3)
    X = codes(40, 8)
    y = truth(X, weights(8, 4))
    default = load_model(data)  # the first floating-point output
    assert default.describe()["output"] == "y1"
    with pytest.raises(ModelError, match=r"output 'tasks' has 3 values per sequence .*task=0\.\.2"):
        load_model(data, output="tasks")
    t1 = load_model(data, output="tasks", task=1)
    np.testing.assert_allclose(t1(X), 2 * y, rtol=1e-5)
    t2 = load_model(data, output=2, task=2)
    np.testing.assert_allclose(t2(X), -y, rtol=1e-5)
    assert len({default.identity, t1.identity, t2.identity}) == 3
    with pytest.raises(ModelError, match="no output named 'nope'; outputs: label, y1, tasks"):
        load_model(data, output="nope")
    with pytest.raises(ModelError, match="task 3 out of range"):
        load_model(data, output="tasks", task=3)


def test_onnx_bad_files_are_clear_errors(tmp_path):
    good = get_demo("repair").onnx_bytes()
    with pytest.raises(ModelError, match="empty file"):
        load_model(b"")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_model(b"this is not an onnx file at all \x00\x01\x02")
    with pytest.raises(ModelError, match=r"truncated|cannot load|not a valid ONNX"):
        load_model(good[: len(good) // 2])
    p = tmp_path / "model.onnx"
    p.write_bytes(good[:-100])
    with pytest.raises(ModelError, match=r"model\.onnx: "):
        load_model(str(p))
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        load_model(str(tmp_path / "missing.onnx"))


def test_onnx_external_data_is_refused(tmp_path):
    m = onnx.load_from_string(onehot_model(6))
    path = tmp_path / "ext.onnx"
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").is_file()
    with pytest.raises(ModelError, match=r"external data files .*'weights\.bin'.*save_as_external_data=False"):
        load_model(str(path))


def test_onnx_custom_operators_are_refused():
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 4])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    node = helper.make_node("MyOp", ["x"], ["y"], domain="com.example.custom")
    data = _model([node], inp, [out], [], domain_ops=("com.example.custom",))
    with pytest.raises(ModelError, match=r"custom domain.*'com.example.custom'.*native code"):
        load_model(data)


def test_onnx_shape_mismatches():
    m = get_demo("guide_rna").load_model()
    with pytest.raises(ValueError, match="length 25, expected 26"):
        m(codes(3, 25))
    with pytest.raises(ValueError, match=r"codes in \[4, 4\], expected values in \[0, 4\)"):
        m(np.full((2, 26), 4, dtype=np.int8))
    with pytest.raises(ModelError, match=r"length 26 .*n=30"):
        get_demo("guide_rna").load_model(n=30)
    with pytest.raises(ModelError, match="layout NQL puts the letters on an axis of size 26"):
        load_model(get_demo("guide_rna").onnx_bytes(), layout="NQL", alphabet="dna")
    with pytest.raises(ModelError, match="has 26 letters per position: pass the alphabet"):
        load_model(get_demo("guide_rna").onnx_bytes(), layout="NQL")


def test_onnx_nan_output_names_model_rows_and_sequence():
    m = load_model(codes_model(6, log=True), batch_size=4)
    X = np.ones((10, 6), dtype=np.int8)  # f = 21 -> log(18): finite
    X[6] = 0  # f = 0 -> log(-3) = NaN, in the second batch (rows 4-7)
    X[7, :] = [0, 0, 0, 0, 0, 0]
    with pytest.raises(ModelError, match=r"model 'test' returned NaN for 2 of 4 sequences "
                                         r"\(rows 4-7; first: row 6, AAAAAA\)"):
        m(X)


def test_onnx_specs_rebuild_the_same_model(tmp_path, monkeypatch):
    data = onehot_model(7, layout="NQL")
    X = codes(64, 7)
    from_bytes = load_model(data, batch_size=16)
    assert from_bytes.spec.startswith('{"batch_size":16,"model":"onnx-b64:')
    again = load_model(from_bytes.spec)
    assert again.identity == from_bytes.identity and again.batch_size == 16
    np.testing.assert_array_equal(again(X), from_bytes(X))
    # the same bytes from a file: same identity (identity is content + options, not the path)
    p = tmp_path / "lin.onnx"
    p.write_bytes(data)
    from_path = load_model(p)
    assert from_path.identity == from_bytes.identity
    spec = json.loads(from_path.spec)
    assert spec["model"] == f"onnx:{p.resolve()}" and len(spec["sha256"]) == 64
    assert load_model(from_path.spec).identity == from_path.identity
    # pickling sends the spec
    clone = pickle.loads(pickle.dumps(from_path))
    np.testing.assert_array_equal(clone(X), from_path(X))
    # a file that changed since it was inspected is refused by the spec
    p.write_bytes(onehot_model(7, layout="NLQ"))
    with pytest.raises(ModelError, match="content changed"):
        load_model(from_path.spec)
    # options change the identity; batch size does not
    assert load_model(data, layout="NQL").identity == from_bytes.identity
    # large uploads go to a content-addressed file instead of being embedded
    monkeypatch.setattr(M.onnx_model, "EMBED_LIMIT", 100)  # the knob lives in the ONNX adapter
    monkeypatch.setenv(M.MODEL_STORE_ENV, str(tmp_path / "store"))
    big = load_model(data)
    stored = tmp_path / "store" / f"{big.sha256}.onnx"
    assert stored.read_bytes() == data and str(stored) in big.spec
    assert load_model(big.spec).identity == big.identity


def test_onnx_throughput_and_batches_agree():
    m = get_demo("repair").load_model(batch_size=33)
    X = codes(100, 40)
    np.testing.assert_array_equal(m(X), get_demo("repair").load_model()(X))
    assert m.probe_throughput(num=200, seconds=0.05) > 0
    assert m.describe()["throughput"] == m.last_throughput
    assert m(np.zeros((0, 40), dtype=np.int8)).shape == (0,)


# ============================================================================================ callables
def test_callable_from_import_codes_and_strings():
    m = load_model("models_fixtures:gc_count", n=8)
    assert isinstance(m, CallableModel) and m.spec == '{"model":"models_fixtures:gc_count","n":8}'
    X = codes(20, 8)
    expect = ((X == 1) | (X == 2)).sum(1)
    np.testing.assert_array_equal(m(X), expect)
    s = load_model("models_fixtures:gc_count_strings", n=8)
    assert s.describe()["input"] == "strings"  # from the annotation
    np.testing.assert_array_equal(s(X), expect)
    probed = load_model("models_fixtures:untyped_strings", n=8)
    np.testing.assert_array_equal(probed(X), (X == 2).sum(1))
    assert probed.describe()["input"] == "strings" and probed.describe()["input_source"] == "probe"
    # rebuilt from its spec (as a Dask worker would), same identity
    assert load_model(m.spec).identity == m.identity
    assert m.identity != s.identity


def test_callable_objects_and_identity_rules():
    def square_sum(X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) ** 2).sum(1)

    a, b = load_model(square_sum, n=5), load_model(square_sum, n=5)
    assert a.identity == b.identity and a.describe()["identity_stable"]
    assert a.spec == ""  # a local function cannot travel by name
    with pytest.raises(TypeError, match="no spec"):
        pickle.dumps(a)

    class Weighted:
        def __init__(self, w):
            self.w = w

        def __call__(self, X):
            return (np.asarray(X) * self.w).sum(1)

    # instances with state the source does not show get a fresh identity each (never a wrong cache hit) ...
    w1, w2 = CallableModel(Weighted(1.0), n=3), CallableModel(Weighted(2.0), n=3)
    assert w1.identity != w2.identity and not w1.describe()["identity_stable"]
    # ... unless they say who they are
    obj = Weighted(3.0)
    obj.identity = "weighted-3"
    assert CallableModel(obj, n=3).identity == CallableModel(obj, n=3).identity


def test_callable_failures_are_model_errors():
    X = codes(10, 6)
    X[3, 0] = 3
    with pytest.raises(ModelError, match=r"model 'nan_on_t_start' returned NaN for \d+ of 10 sequences"):
        load_model("models_fixtures:nan_on_t_start", n=6)(X)
    with pytest.raises(ModelError, match=r"returned shape \(10, 2\) for 10 sequences"):
        load_model("models_fixtures:wrong_shape", n=6, alphabet="dna")(X)
    with pytest.raises(ModelError, match="fails on both integer codes and strings"):
        load_model("models_fixtures:raises_untyped", n=6)(X)
    with pytest.raises(ModelError, match="raised RuntimeError on rows 0-9: model weights not found"):
        load_model("models_fixtures:raises", n=6)(X)
    with pytest.raises(ModelError, match="cannot import module 'no_such_module_xyz'"):
        load_model("no_such_module_xyz:f")
    with pytest.raises(ModelError, match="has no attribute 'missing'"):
        load_model("models_fixtures:missing")
    with pytest.raises(ModelError, match="is a int, not a callable"):
        load_model("models_fixtures:NOT_CALLABLE")


# ============================================================================================ specs
def test_spec_forms_and_errors():
    assert load_model("demo:repair").spec == "demo:repair"
    assert load_model(" demo:Guide-RNA ").name == "guide_rna"
    assert load_model('{"model": "demo:repair", "batch_size": 100}').batch_size == 100
    m = get_demo("cnn").load_model()
    assert load_model(m) is m
    with pytest.raises(ValueError, match="cannot tell what kind of model"):
        load_model("just some words")
    with pytest.raises(ValueError, match="no demo model 'nope'"):
        load_model("demo:nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model('{"model": ')
    with pytest.raises(ValueError, match="unknown option"):
        load_model('{"model": "demo:repair", "colour": "red"}')
    with pytest.raises(ValueError, match="do not apply"):
        load_model('{"model": "models_fixtures:gc_count", "layout": "NLQ"}')
    with pytest.raises(ValueError, match="not valid base64"):
        load_model("onnx-b64:***")
    with pytest.raises(TypeError, match="must be a string, bytes, a path or a callable"):
        load_model(42)
    good = base64.b64encode(get_demo("repair").onnx_bytes()).decode()
    assert load_model("onnx-b64:" + good).identity == load_model("demo:repair").identity


def test_onnx_string_input_receives_letters():
    nodes = [helper.make_node("Equal", ["x", "ref"], ["eq"]),
             helper.make_node("Cast", ["eq"], ["y"], to=TensorProto.FLOAT)]
    ref = numpy_helper.from_array(np.array(["ACGT"], dtype=object), "ref")
    graph = helper.make_graph(nodes, "s", [helper.make_tensor_value_info("x", TensorProto.STRING, ["N"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])], [ref])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=9).SerializeToString()
    m = load_model(data, n=4)
    assert m.describe()["layout"] == "strings"
    np.testing.assert_array_equal(m(np.array([[0, 1, 2, 3], [0, 0, 0, 0]])), [1.0, 0.0])
