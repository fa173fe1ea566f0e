"""The Motifs page's TF-MoDISco run: a background job (it takes tens of seconds to minutes), its result kept per
(sketch, sequences, settings), and the motif files as one zip for the Export page. No Streamlit drawing here
beyond the session keys.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import streamlit as st

from shapzero_core.analysis import ModiscoConfig, MotifSearch

from . import jobs

JOB = "sz_motif_job"


def settings_key(ctx: Any, cfg: ModiscoConfig) -> str:
    """What a motif result depends on: the sketch, the sequences and the settings."""
    return json.dumps([ctx.skey, ctx.qkey, cfg.to_dict()], sort_keys=True, default=str)


def current_job() -> jobs.JobRecord | None:
    """This session's motif job (running or last)."""
    return jobs.get_job(st.session_state.get(JOB))


def start(ctx: Any, cfg: ModiscoConfig) -> jobs.JobRecord:
    """Run :func:`shapzero_core.analysis.discover_motifs` on the session's sketch and sequences in a thread."""
    from shapzero_core.analysis import discover_motifs

    sketch, seqs = ctx.sketch, ctx.seqs

    def work(rec: jobs.JobRecord) -> MotifSearch:
        return discover_motifs(sketch, seqs, cfg, progress=rec.progress)

    rec = jobs.start_job(f"TF-MoDISco on {len(seqs):,} sequences", work, info={"key": settings_key(ctx, cfg)})
    st.session_state[JOB] = rec.id
    return rec


def result_for(ctx: Any, cfg: ModiscoConfig) -> MotifSearch | None:
    """The finished result of this session's job if it was run with this sketch, sequences and settings."""
    job = current_job()
    if job is None or job.status != "done" or job.info.get("key") != settings_key(ctx, cfg):
        return None
    return job.result


def last_result(ctx: Any) -> MotifSearch | None:
    """The finished result of this session's job for this sketch and sequences, whatever its settings."""
    job = current_job()
    if job is None or job.status != "done":
        return None
    try:
        skey, qkey, _ = json.loads(job.info.get("key", "[]"))
    except ValueError:
        return None
    return job.result if (skey, qkey) == (ctx.skey, ctx.qkey) else None


def motifs_zip(result: MotifSearch) -> bytes:
    """motifs.meme, matches.tsv, motifs.tsv, motif_seqlets.tsv, modisco.h5 and the logos (SVG) as one zip."""
    from shapzero_core.analysis import write_motifs

    from .exports import _MPL_LOCK

    with _MPL_LOCK, tempfile.TemporaryDirectory() as d:
        out = Path(d) / "motifs"
        write_motifs(result, out, ("svg", "png"))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(out.parent))
        return buf.getvalue()
