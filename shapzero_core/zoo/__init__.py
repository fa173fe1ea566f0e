"""The model zoo: sequence models of several kinds with known SHAP ground truth, for benchmarks and checks.

Every family is generated deterministically from a seed; each model is a callable
``int8 (N, n) -> float64 (N,)`` with ``n``, ``alphabet``, ``name``, ``identity``, a plain-words
``description``, ``to_onnx()``, ``exact_sketch()`` (where the spectrum is known) and
``query_sequences(30)``. Ground truth for those 30 sequences is in ``bench/zoo_truth/<family>.npz``
(:func:`load_truth`; written by ``bench/make_zoo_truth.py``)::

    from shapzero_core.zoo import get_family, list_families, load_truth

    model = get_family("pwm_max")                # seed 0
    truth = load_truth("pwm_max")                # checked against the model's fingerprint
    sketch = sketch_model(model, budget=500_000)
    err = np.linalg.norm(shap_values(sketch, truth.X) - truth.shap) / np.linalg.norm(truth.shap)

Families (see each module's docstring for the parameters):

=================  ===  ==  ===========================================================  ==============
name               n    q   what                                                         truth
=================  ===  ==  ===========================================================  ==============
``pwm_max``        40   4   PWM max-scan, 19-nt motif, both strands                      permutation MC
``pwm_lse``        40   4   PWM log-sum-exp scan (soft occupancy), 12-nt motif           permutation MC
``offtarget``      23   4   CFD-like mismatch-penalty product around a guide, NGG PAM    exact (product game)
``tree``           30   4   gradient-boosted trees on one-hot + dinucleotides            permutation MC
``potts``          30   4   dense pairwise Potts (all 435 pairs) + 5 order-3 terms       exact (spectrum)
``cnn``            40   4   the demo CNN                                                 permutation MC
``protein_potts``  50   20  protein Potts on a contact map                               exact (spectrum)
=================  ===  ==  ===========================================================  ==============
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import ZOO_VERSION, ZooModel, family_rng
from .games import MonteCarloShap, brute_force_shap, permutation_shap, product_game_shap
from .truth import TRUTH_DIR, StaleTruthError, Truth, load_truth, save_truth, truth_path

__all__ = [
    "TRUTH_DIR",
    "ZOO_VERSION",
    "MonteCarloShap",
    "StaleTruthError",
    "Truth",
    "ZooModel",
    "brute_force_shap",
    "family_rng",
    "get_family",
    "list_families",
    "load_truth",
    "permutation_shap",
    "product_game_shap",
    "save_truth",
    "truth_path",
]


def _pwm_max(seed: int, **kw: Any) -> ZooModel:
    from .pwm import PwmScan

    return PwmScan(seed, pool="max", **{"width": 19, **kw})


def _pwm_lse(seed: int, **kw: Any) -> ZooModel:
    from .pwm import PwmScan

    return PwmScan(seed, pool="lse", **{"width": 12, **kw})


def _offtarget(seed: int, **kw: Any) -> ZooModel:
    from .offtarget import OffTarget

    return OffTarget(seed, **kw)


def _tree(seed: int, **kw: Any) -> ZooModel:
    from .tree import TreeEnsemble

    return TreeEnsemble(seed, **kw)


def _potts(seed: int, **kw: Any) -> ZooModel:
    from .potts import Potts

    return Potts(seed, **kw)


def _cnn(seed: int, **kw: Any) -> ZooModel:
    from .cnn import DemoCnn

    return DemoCnn(seed, **kw)


def _protein_potts(seed: int, **kw: Any) -> ZooModel:
    from .potts import ProteinPotts

    return ProteinPotts(seed, **kw)


_FAMILIES: dict[str, Callable[..., ZooModel]] = {
    "pwm_max": _pwm_max,
    "pwm_lse": _pwm_lse,
    "offtarget": _offtarget,
    "tree": _tree,
    "potts": _potts,
    "cnn": _cnn,
    "protein_potts": _protein_potts,
}


def list_families() -> list[str]:
    """Names of every family, in display order."""
    return list(_FAMILIES)


def get_family(name: str, seed: int = 0, **params: Any) -> ZooModel:
    """The model of family ``name`` drawn from ``seed``.

    Parameters
    ----------
    name : str
        One of :func:`list_families` (``-`` and case are ignored).
    seed : int
    **params
        Family parameters (e.g. ``width=8`` for the PWM scans, ``n=5`` for ``potts``, ``pam=False`` for
        ``offtarget``); the defaults are the registered models.

    Raises
    ------
    ValueError
        For an unknown family or a bad parameter.
    """
    key = name.strip().lower().replace("-", "_")
    if key not in _FAMILIES:
        raise ValueError(f"no zoo family {name!r}; families: {', '.join(_FAMILIES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    try:
        return _FAMILIES[key](seed, **params)
    except TypeError as e:
        raise ValueError(f"zoo family {key}: bad parameters {params} ({e})") from None
