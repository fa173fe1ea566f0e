"""Fixtures of the app tests (helpers are in ``app_helpers``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from app_helpers import planted_sketch

from shapzero_core import DNA, FourierSketch
from shapzero_core.sequences import SequenceSet, random_sequences


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    """Every app test gets its own empty workspace (query cache, saved sketches)."""
    monkeypatch.setenv("SHAPZERO_WORKSPACE", str(tmp_path / "workspace"))


@pytest.fixture(scope="session")
def sketch() -> FourierSketch:
    return planted_sketch()


@pytest.fixture(scope="session")
def seqs(sketch) -> SequenceSet:
    s = random_sequences(200, sketch.n, DNA, seed=1)
    lab = np.where(np.arange(200) % 2 == 0, "on", "off")
    return SequenceSet(ids=s.ids, sequences=s.sequences, X=s.X, alphabet=DNA,
                       extra=pd.DataFrame({"group": lab, "score": np.linspace(0, 1, 200)}),
                       n=s.n, source="test sequences")
