"""Streamlit-only helpers of SHAP zero Studio."""
