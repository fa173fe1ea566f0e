"""Model: a demo model, an uploaded ONNX file or an inference server; what it takes and returns, a test
prediction on a typed sequence, and its measured throughput."""

import numpy as np
import streamlit as st

from shapzero_core import SequenceError
from shapzero_core.errors import ModelError
from shapzero_core.models import LAYOUTS
from studio_ui import core, models_ui, state
from studio_ui import widgets as w

w.page_frame("model")
w.header("Model", "The model to explain: it takes sequences of n letters and returns one number per sequence. "
         "SHAP zero only calls it while sketching, and when you refine values with it.")

src = st.radio("Where is the model?", ["Demo model", "ONNX file", "Inference server"], horizontal=True,
               key="model_source")
try:
    from shapzero_core import demos as _demos
except ImportError:  # the demo models are not installed in this build
    _demos = None

new_model = None
label = ""
try:
    if src == "Demo model":
        if _demos is None:
            st.error("The demo models are not available in this installation.")
        else:
            demo_list = _demos.list_demos()
            names = [d.name for d in demo_list]
            by_name = {d.name: d for d in demo_list}
            pick = st.selectbox("Demo model", names, format_func=lambda s: by_name[s].title, key="model_demo_pick")
            st.caption(by_name[pick].description)
            if st.button("Load the demo model", key="model_demo_load", type="primary"):
                from studio_ui.demo import demo_model

                new_model, label = demo_model(pick), f"demo: {by_name[pick].title}"
    elif src == "ONNX file":
        up = st.file_uploader(f"ONNX model (.onnx, at most {models_ui.MAX_ONNX_MB} MB)", type=["onnx"],
                              key="model_onnx_upload", max_upload_size=models_ui.MAX_ONNX_MB,
                              help="Run by ONNX Runtime only; the file is never executed as code.")
        with st.expander("Options (when the model does not say)"):
            o1, o2, o3, o4 = st.columns(4)
            n_opt = int(o1.number_input("Sequence length n (0 = from the model)", 0, 10_000, 0, key="model_onnx_n"))
            alpha = o2.selectbox("Alphabet", ["dna", "rna", "protein"], key="model_onnx_alphabet")
            layout = o3.selectbox("Input layout", ["auto", *LAYOUTS], key="model_onnx_layout",
                                  help="auto = detected from the input shape; NLQ one-hot (N, n, q), NQL one-hot "
                                       "(N, q, n), codes (N, n) integers, flat (N, n·q), strings (N,)")
            output = o4.text_input("Output (name or index; empty = the only/first)", key="model_onnx_output")
        if st.button("Load the ONNX model", key="model_onnx_load", type="primary", disabled=up is None):
            new_model = models_ui.load_onnx(up.getvalue(), n_opt or None, alpha,
                                            None if layout == "auto" else layout, output.strip() or None)
            label = f"ONNX {up.name}"
    else:
        hosts = models_ui.allowed_hosts()
        servers = models_ui.configured_servers()
        st.caption("An Open Inference Protocol v2 endpoint (KServe, Triton, MLServer…). Allowed hosts: "
                   + ", ".join(f"`{h}`" for h in hosts)
                   + f" (loopback always; add hosts with `{models_ui.ALLOWED_HOSTS_ENV}`).")
        url = (st.selectbox("Server", servers, key="model_server_pick") if servers else
               st.text_input("Endpoint URL", placeholder="http://127.0.0.1:8000/v2/models/guide", key="model_server_url"))
        s1, s2, s3 = st.columns(3)
        n_srv = int(s1.number_input("Sequence length n", 0, 10_000, 0, key="model_server_n",
                                    help="0 = ask the server's metadata"))
        alpha_srv = s2.selectbox("Alphabet", ["dna", "rna", "protein"], key="model_server_alphabet")
        out_srv = s3.text_input("Output (name; empty = the first)", key="model_server_output")
        if st.button("Connect", key="model_server_load", type="primary", disabled=not url):
            new_model = models_ui.load_server(url.strip(), n_srv or None, alpha_srv, out_srv.strip() or None)
            label = f"server {url.strip()}"
except (ModelError, ValueError, OSError) as e:
    st.error(str(e))
    new_model = None

if new_model is not None:
    if getattr(new_model, "n", None) is None:
        st.error("This model does not state its sequence length: give n in the options and load it again.")
    else:
        state.set_model(new_model, label)
        try:
            models_ui.measure_throughput(new_model)
        except ModelError as e:
            st.error(f"The model failed on test sequences: {e}")

model = state.get_model()
if model is None:
    st.info("No model loaded yet. The quickest start is **Try the demo** on the home page.")
    w.page_link("home", "Home: try the demo", ":material/home:")
    st.stop()

base = getattr(model, "base", model)  # a templated model wraps the full-length model
tpl = getattr(model, "template", None)
st.divider()
st.subheader(state.model_label())
try:
    info = dict(model.describe())
except Exception as e:  # describe() is informative only
    info = {"describe": f"unavailable ({e})"}
d1, d2, d3, d4 = st.columns(4)
d1.metric("Sequence length n", base.n, help=f"{model.n} free positions (template {tpl.pattern})" if tpl else None)
d2.metric("Alphabet", f"{model.alphabet.letters}")
_layout = str(info.get("layout", "—"))
d3.metric("Input", w.LAYOUT_WORDS.get(_layout, _layout),
          help=f"How sequences are handed to the model: {w.LAYOUT_DETAIL.get(_layout, _layout)} (layout code "
               f"{_layout}; more under 'Everything the model says about itself').")
rate = models_ui.throughput(model)
if rate is None:
    try:
        with st.spinner("Measuring the model's throughput…"):
            rate = models_ui.measure_throughput(model)
    except ModelError as e:
        st.error(f"The model failed on test sequences: {e}")
d4.metric("Throughput", f"{core.format_count(rate)} seq/s" if rate else "—",
          help=f"{rate:,.0f} sequences/s, measured on random sequences" if rate else "measured on random sequences")
if "model_output_unit" not in st.session_state:  # the widget's own key is dropped on other pages
    st.session_state["model_output_unit"] = st.session_state.get(state.OUTPUT_UNIT, "")
st.session_state[state.OUTPUT_UNIT] = st.text_input(
    "What the model's output is (the unit of every axis and colour bar)", key="model_output_unit",
    placeholder="e.g. editing efficiency, log2 fold change", max_chars=60,
    help="Shown on every logo, map and exported figure: a SHAP value is in the units of the model's output.")
with st.expander("Everything the model says about itself"):
    st.json(info, expanded=True)
if st.button("Measure throughput again", key="model_measure"):
    try:
        models_ui.measure_throughput(model)
        st.rerun()
    except ModelError as e:
        st.error(str(e))

models_ui.template_form(model, base, tpl)

st.subheader("Test prediction")
_for = (getattr(model, "identity", "") or id(model), tpl.pattern if tpl is not None else "")
if "model_test_seq" not in st.session_state or st.session_state.get("model_test_for") != _for:
    st.session_state["model_test_for"] = _for
    st.session_state["model_test_seq"] = "".join(
        np.random.default_rng(0).choice(list(model.alphabet.letters), int(base.n)))
    if tpl is not None:
        st.session_state["model_test_seq"] = "".join(
            t if t != "." else c for t, c in zip(tpl.pattern, st.session_state["model_test_seq"], strict=True))
typed = st.text_input(f"A sequence of {base.n} letters ({model.alphabet.letters})", key="model_test_seq")
try:
    X = model.alphabet.encode([typed.strip()], n=int(base.n))
    if tpl is not None:
        tpl.restrict(X)  # a letter at a fixed position that differs from the template: say so
    y = float(np.asarray(base(X), dtype=float).ravel()[0])
except (SequenceError, ValueError) as e:
    st.error(str(e))
except ModelError as e:
    st.error(f"The model failed: {e}")
else:
    sk = state.get_sketch()
    txt = f"Model prediction: **{y:.6g}**"
    if sk is not None and sk.sequence_length == int(base.n) and sk.alphabet.letters == model.alphabet.letters:
        from shapzero_core.analysis import explain_sequences

        try:
            txt += f" · the sketch predicts {float(explain_sequences(sk, X, with_interactions=False).predictions[0]):.6g}"
        except ValueError as e:  # the sketch's template differs from this sequence
            txt += f" · the sketch cannot explain it ({e})"
    st.markdown(txt)
st.caption(f"Next: sketch it. At this throughput a 1,000,000-query sketch takes about "
           f"{core.format_duration(1e6 / rate) if rate else 'unknown'} of model time.")
w.page_link("sketch", "Sketch the model", ":material/bolt:")
