"""Streamlit-only helpers of SHAP zero Studio (the engine, :mod:`shapzero_core`, never imports Streamlit).

Modules
-------
``state``      session-state keys and accessors (model, sketch, sequences, selected sequence, job id)
``cache``      content-keyed caches of explanations, summaries and figures (``st.cache_resource``)
``core``       plain helpers, no Streamlit: content keys, the sequence table, search, pair matrices
``jobs``       background jobs: a worker thread updates a plain record, pages poll it (no Streamlit)
``sketching``  the sketch job: start, progress fragment, cancel, adopt the result, workspace cache
``refining``   the trust check (Sketch page) and refining values with the model (Logos page)
``models_ui``  model loading (demo, ONNX bytes, allowed inference servers), measured throughput
``demo``       the home page's "Try the demo"
``motifs_ui``  the Motifs page's TF-MoDISco job and its result (also offered on the Export page)
``exports``    downloads of the Export page (no Streamlit): figures, tables, sketch, run record, zips
``widgets``    page guards, the sequence picker, index controls, page links, the session summary

Pages, URLs and stable widget keys (for browser tests)
------------------------------------------------------
Pages are Streamlit's ``pages/`` scripts (``pages/1_Model.py`` is served at ``/Model``); every page
starts with ``widgets.page_frame`` (sidebar navigation and state). Every page has exactly one ``st.title``
(shown in parentheses). Keys are the ``key=`` of the widget; in the
DOM a keyed widget sits in an element with the class ``st-key-<key>``.

* ``/`` Home (``SHAP zero Studio``): button ``try_demo``; success text "The demo is ready" when loaded;
  chart ``home_logo_chart``.
* ``/Model`` (``Model``): radio ``model_source`` (Demo model / ONNX file / Inference server); selectbox
  ``model_demo_pick``, button ``model_demo_load``; uploader ``model_onnx_upload``, button
  ``model_onnx_load``; text ``model_server_url``, button ``model_server_load``; text ``model_test_seq``.
* ``/Sketch`` (``Sketch``): numbers ``sketch_budget``, ``sketch_test_size``, ``sketch_seed``; checkbox
  ``sketch_use_dask`` (only with ``$SHAPZERO_DASK_SCHEDULER``); buttons ``sketch_start``,
  ``sketch_cancel`` (while running), ``sketch_resume_<i>``; checkbox ``sketch_trust_check``; tab "Load a saved
  sketch" with uploader ``sketch_upload``; charts ``sketch_scatter``, ``sketch_orders``; trust check: text
  "Trust check: sketch values ...", button ``sketch_trust_start`` / ``sketch_trust_cancel``, chart
  ``sketch_trust_chart``; download ``sketch_download``.
* ``/Sequences`` (``Sequences``): uploader ``seq_upload``; form ``random_form`` with ``random_n``,
  ``random_len``, ``random_seed`` and button ``random_go``; text ``seq_search``; the table's key starts
  with ``seq_table_`` (single-row selection selects the sequence for every page).
* ``/Logos`` (``Logos``): selectbox ``logo_seq``; toggles ``logo_same_axis``, ``logo_show_split``; radio
  ``logo_subset``; charts ``logo_one_chart`` (title "SHAP logo of <id>"), ``logo_all_chart``; refine with
  the model: radio ``logo_refine_scope``, number ``logo_refine_calls``, metric "Model calls to refine",
  buttons ``logo_refine_start`` / ``logo_refine_cancel``, chart ``logo_refined_chart`` (title "Refined SHAP
  logo of <id>", whiskers ``path.yerror``), download ``logo_refined_download``.
* ``/Interactions`` (``Interactions``): selectboxes ``inter_index``, ``inter_order``, ``inter_seq``; radio
  ``inter_stat``; clickable maps ``heat_seq`` and ``heat_all`` (square-marker scatters; a click fills
  ``inter_pair_i`` / ``inter_pair_j``); radio ``top_scope``, slider ``top_orders``, number ``top_k``,
  toggle ``top_as_chart``.
* ``/Motifs`` (``Motifs``): button ``motif_run`` (TF-MoDISco + TOMTOM in the background); settings
  ``motif_taxon``, ``motif_release``, ``motif_min_seqlets``, ``motif_leiden_runs``; table ``motif_table``
  (select a motif), ``motif_matches_<i>``, carriers table ``motif_carriers_<i>`` (select a sequence); charts
  ``motif_cwm_chart``, ``motif_ppm_chart``. ``/Model``: text ``model_template``, button ``model_template_apply``.
* ``/Export`` (``Export``): download buttons ``dl_<figure>_{svg,pdf,png}``, ``dl_<table>_{csv,parquet}``,
  ``dl_sketch_npz``, ``dl_run_json``, ``dl_modisco_zip``, ``dl_motifs_zip`` (after a motif run), ``dl_all_zip``
  (files are made on click).

Configuration: ``$SHAPZERO_WORKSPACE`` (default ``~/.shapzero/workspace``: query cache, saved sketches),
``$SHAPZERO_ALLOWED_HOSTS`` (inference-server hosts besides loopback, which is always allowed),
``$SHAPZERO_INFERENCE_SERVERS`` (URLs offered in a list), ``$SHAPZERO_DASK_SCHEDULER``.
"""
