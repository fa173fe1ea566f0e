"""Helpers of the app tests: a planted sketch and model, and an AppTest of the app with them loaded.

(A uniquely named module, so that the tests do not import whichever ``conftest`` came first.)
"""


from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from shapzero_core import DNA, FourierSketch
from shapzero_core.sequences import SequenceSet

APP = str(Path(__file__).parents[2] / "app.py")
TIMEOUT = 60


def planted_sketch(n: int = 12, K: int = 30, max_order: int = 3, seed: int = 0) -> FourierSketch:
    """K distinct real-model coefficients (conjugate pairs) of orders 1..max_order, plus a mean."""
    rng = np.random.default_rng(seed)
    seen: set[bytes] = set()
    locs, coefs = [np.zeros(n, dtype=np.int8)], [complex(0.5, 0)]
    while len(locs) < K:
        d = int(rng.integers(1, max_order + 1))
        k = np.zeros(n, dtype=np.int8)
        k[rng.choice(n, size=d, replace=False)] = rng.integers(1, 4, size=d)
        kc = ((-k.astype(np.int16)) % 4).astype(np.int8)
        if k.tobytes() in seen or kc.tobytes() in seen:
            continue
        seen.update((k.tobytes(), kc.tobytes()))
        c = complex(rng.normal(), rng.normal()) / d
        if np.array_equal(k, kc):
            locs.append(k)
            coefs.append(complex(c.real, 0))
        else:
            locs += [k, kc]
            coefs += [c, c.conjugate()]
    return FourierSketch(np.array(locs), np.array(coefs), DNA)


def app_with(sketch: FourierSketch | None = None, seqs: SequenceSet | None = None, page: str | None = None) -> AppTest:
    """The app with a sketch and sequences put into the session (as the pages would), on ``page``."""
    from studio_ui import core, state

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if sketch is not None:
        at.session_state[state.SKETCH] = sketch
        at.session_state[state.SKETCH_KEY] = core.sketch_key(sketch)
        at.session_state[state.SKETCH_SOURCE] = "planted test sketch"
    if seqs is not None:
        at.session_state[state.SEQS] = seqs
        at.session_state[state.SEQS_KEY] = core.sequences_key(seqs)
        at.session_state[state.SELECTED] = 0
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


class PlantedModel:
    """A model whose exact transform is a planted sketch (what the Model page would load), a little slow so
    that a sketch of it can be cancelled half-way."""

    def __init__(self, sketch: FourierSketch, delay: float = 0.0):
        self.sketch, self.delay = sketch, delay
        self.n, self.alphabet, self.name = sketch.n, sketch.alphabet, "planted"
        self.identity = "planted" + "0" * 58
        self.spec = ""
        self.calls = 0

    def __call__(self, X):
        import time

        self.calls += 1
        time.sleep(self.delay)
        return self.sketch.predict(X)

    def probe_throughput(self, *args, **kwargs) -> float:
        return 5000.0

    def describe(self) -> dict:
        return {"kind": "planted", "layout": "codes", "n": self.n, "q": self.alphabet.q}
