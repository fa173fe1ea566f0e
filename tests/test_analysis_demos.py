"""Recovery of the demo models' planted biology by the cross-sequence summaries (issue 6, item 3).

The demo spectra are exact (built with the demo models), so these tests check the analysis layer, not the
sketch: (b) the repair model's microhomology across the cut (repeats 3 apart lower the score, 2 or 4 apart
raise it) must come out of the top interactions of 2,000 random sequences with the right signs and
spacings; (a) the guide model's position x letter summary must recover its position-specific letters,
i.e. match the exact first-order effects of the spectrum.
"""

from __future__ import annotations

import numpy as np
import pytest

from shapzero_core.analysis import (
    explain_sequences,
    position_letter_summary,
    repeat_spacing_summary,
    spaced_repeats,
    top_interactions,
)
from shapzero_core.sequences import random_sequences

demos = pytest.importorskip("shapzero_core.demos")


def first_order_effects(sketch) -> np.ndarray:
    """Exact ``E[phi_i | x_i = a]`` under the uniform background: the order-1 part of the spectrum,
    ``sum_{supp k = {i}} Re(F[k] w^{k_i a})`` (every higher-order term averages out)."""
    q, n = sketch.q, sketch.n
    deg = sketch.degrees
    w = np.exp(2j * np.pi * np.arange(q) / q)
    out = np.zeros((n, q))
    for k, c in zip(sketch.locations[deg == 1], sketch.coefficients[deg == 1], strict=True):
        i = int(np.flatnonzero(k)[0])
        out[i] += (c * w[(int(k[i]) * np.arange(q)) % q]).real
    return out


@pytest.fixture(scope="module")
def repair():
    demo = demos.get_demo("repair")
    sk = demo.load_spectrum()
    assert sk is not None and sk.n == 40
    return sk, explain_sequences(sk, random_sequences(2000, sk.n, sk.alphabet, seed=6))


def test_repair_microhomology_spacings_and_signs(repair):
    _, ex = repair
    table = top_interactions(ex, k=None, min_order=2)
    reps = spaced_repeats(table, include_mismatched=True)
    # repeats whose two halves sit on either side of the cut between positions 20 and 21 (1-based)
    across = reps[[max(u) <= 20 < min(u) + d for u, d in zip(reps["unit_positions"], reps["spacing"], strict=True)]]
    summ = repeat_spacing_summary(across[across["order"] >= 2]).groupby("spacing")["mean_value"].mean()
    assert summ.loc[3] < 0, summ
    assert summ.loc[2] > 0 and summ.loc[4] > 0, summ
    # and the strongest interactions across all sequences include these patterns, with those signs
    top = top_interactions(ex, k=100, min_order=2)
    top_reps = spaced_repeats(top)
    assert len(top_reps) > 0
    for r in top_reps.itertuples():
        if max(r.unit_positions) <= 20 < min(r.unit_positions) + r.spacing and r.spacing in (2, 3, 4):
            assert np.sign(r.mean) == (-1 if r.spacing == 3 else 1), r


def test_guide_position_letter_summary_recovers_planted_letters():
    demo = demos.get_demo("guide_rna")
    sk = demo.load_spectrum()
    assert sk is not None and sk.n == 26
    ex = explain_sequences(sk, random_sequences(2000, sk.n, sk.alphabet, seed=7), with_interactions=False)
    summ = position_letter_summary(ex)
    truth = first_order_effects(sk)
    spread = summ.std / np.sqrt(summ.count)
    assert np.all(np.abs(summ.mean - truth) <= 5 * spread + 1e-9)
    strong = np.flatnonzero(np.ptp(truth, axis=1) > 0.25 * np.ptp(truth, axis=1).max())
    assert strong.size > 0
    assert np.array_equal(np.argmax(summ.mean[strong], axis=1), np.argmax(truth[strong], axis=1))
