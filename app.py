"""SHAP zero Studio — home page (the full multi-page app is issue 5 and has not landed yet)."""

import numpy as np
import streamlit as st

from shapzero_core import DNA, FourierSketch, baseline, interactions, shap_values

st.set_page_config(page_title="SHAP zero Studio", layout="wide")
st.title("SHAP zero Studio")
st.write(
    "SHAP zero sketches a sequence model's sparse Fourier transform once, then explains any sequence with "
    "exact Shapley values and interactions of every order, with no further model calls."
)
st.info("The model, sketch and browsing pages are still to come. Below is a working example: it explains "
        "a small built-in function with a known answer, computed by the engine.")

# f(x) = 1[x1 = G] + 2·1[x2 = A and x3 = T] (method.md §2.6), transformed exactly
grid = np.array(np.unravel_index(np.arange(64), (4, 4, 4))).T
table = ((grid[:, 0] == 2) + 2 * ((grid[:, 1] == 0) & (grid[:, 2] == 3))).astype(float).reshape(4, 4, 4)
sketch = FourierSketch.from_dense(table)
seq = st.text_input("A 3-letter DNA sequence", "GAT")
try:
    X = DNA.encode([seq], n=3)
except ValueError as e:
    st.error(str(e))
    st.stop()
st.write(f"f(x) = {sketch.predict(X)[0]:.3f}, baseline F[0] = {baseline(sketch):.3f}")
st.bar_chart({"SHAP value": shap_values(sketch, X)[0]})
st.dataframe(interactions(sketch, X).top(5, min_order=1))
