"""The :class:`Explanation` of many sequences (SHAP values, interactions, predictions, ids) and subsets of it
(:func:`select`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..alphabet import Alphabet
from ..fourier import FourierSketch
from ..refine import RefinedShap, sketch_error_bars
from ..sequences import SequenceSet
from ..shapley import Interactions, baseline, interactions, shap_values


# ============================================================================================== explanation
@dataclass(frozen=True)
class Explanation:
    """SHAP values and interactions of a set of sequences, with their ids.

    Attributes
    ----------
    ids : list of str
        Sequence ids (length ``N``).
    X : numpy.ndarray
        ``int8 (N, n)`` letter codes.
    alphabet : Alphabet
    shap : numpy.ndarray
        ``float64 (N, n)`` SHAP values.
    predictions : numpy.ndarray
        ``float64 (N,)`` sketch predictions ``f(x)``; ``shap.sum(1) == predictions - baseline``.
    baseline : float
        ``F[0]``, the value of the empty coalition.
    interactions : Interactions or None
        Interaction values ``(N, G)`` of one index (``None`` if not computed).
    extra : pandas.DataFrame
        ``N`` rows of other per-sequence columns (labels from the input file...).
    stderr : numpy.ndarray or None
        ``float64 (N, n)`` uncertainty of every SHAP value (None: unknown), of the kind ``stderr_kind``.
    stderr_kind : str
        ``"refined"``: standard errors of values refined with the model
        (:func:`shapzero_core.refine.refine_shap`); ``"trust check"``: sketch-only values, the calibrated
        per-position RMS error of the sketch's trust check (:func:`shapzero_core.refine.sketch_error_bars`:
        a typical error over random sequences, not a per-value guarantee); ``""``: none.
    """

    ids: list[str]
    X: np.ndarray
    alphabet: Alphabet
    shap: np.ndarray
    predictions: np.ndarray
    baseline: float
    interactions: Interactions | None = None
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    stderr: np.ndarray | None = None
    stderr_kind: str = ""

    def __post_init__(self) -> None:
        N = len(self.ids)
        if self.X.shape[0] != N or self.shap.shape != self.X.shape or self.predictions.shape != (N,):
            raise ValueError(
                f"inconsistent shapes: {N} ids, X {self.X.shape}, shap {self.shap.shape}, "
                f"predictions {self.predictions.shape}"
            )
        if self.interactions is not None and self.interactions.values.shape[0] != N:
            raise ValueError("interactions have a different number of sequences")
        if len(self.extra) != N:
            object.__setattr__(self, "extra", pd.DataFrame(index=pd.RangeIndex(N)))
        if self.stderr is not None and np.shape(self.stderr) != self.shap.shape:
            raise ValueError(f"stderr has shape {np.shape(self.stderr)}, expected {self.shap.shape}")
        if self.stderr is None and self.stderr_kind:
            object.__setattr__(self, "stderr_kind", "")

    @property
    def N(self) -> int:
        """Number of sequences."""
        return len(self.ids)

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self.X.shape[1])

    @property
    def sequences(self) -> list[str]:
        """The sequences as strings."""
        return self.alphabet.decode(self.X) if self.N else []

    def subset(self, mask: np.ndarray | Sequence[int] | Sequence[bool]) -> Explanation:
        """The explanation restricted to a boolean mask of length ``N`` or to 0-based row indices."""
        idx = _as_index(mask, self.N)
        inter = self.interactions
        if inter is not None:
            inter = Interactions(
                sets=inter.sets,
                values=inter.values[idx],
                index=inter.index,
                order=inter.order,
                X=inter.X[idx],
                alphabet=inter.alphabet,
            )
        return Explanation(
            ids=[self.ids[i] for i in idx],
            X=self.X[idx],
            alphabet=self.alphabet,
            shap=self.shap[idx],
            predictions=self.predictions[idx],
            baseline=self.baseline,
            interactions=inter,
            extra=self.extra.iloc[idx].reset_index(drop=True),
            stderr=self.stderr[idx] if self.stderr is not None else None,
            stderr_kind=self.stderr_kind,
        )


def _as_index(which: np.ndarray | Sequence[int] | Sequence[bool] | None, N: int) -> np.ndarray:
    if which is None:
        return np.arange(N)
    idx = np.asarray(which)
    if idx.dtype == bool:
        if idx.shape != (N,):
            raise ValueError(f"mask has shape {idx.shape}, expected ({N},)")
        return np.flatnonzero(idx)
    idx = idx.astype(np.intp).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= N):
        raise ValueError(f"row indices must lie in [0, {N})")
    return idx


def explain_sequences(
    sketch: FourierSketch,
    seqs: SequenceSet | np.ndarray,
    index: str = "mobius",
    order: int | None = None,
    with_interactions: bool = True,
) -> Explanation:
    """Explain every sequence: SHAP values, predictions and (optionally) interactions.

    Parameters
    ----------
    sketch : FourierSketch
    seqs : SequenceSet or numpy.ndarray
        The sequences (an ``int (N, n)`` array gets ids ``seq_1..seq_N``).
    index, order
        Interaction index and maximal order, see :func:`shapzero_core.shapley.interactions`.
    with_interactions : bool
        Skip the interactions if False.

    Returns
    -------
    Explanation
        With ``stderr`` from the sketch's trust check when it has one (``stderr_kind = "trust check"``).
    """
    if isinstance(seqs, SequenceSet):
        if seqs.alphabet.letters != sketch.alphabet.letters:
            raise ValueError(
                f"the sequences use the alphabet {seqs.alphabet.letters} but the sketch uses "
                f"{sketch.alphabet.letters}"
            )
        if len(seqs) and seqs.n != sketch.n:
            raise ValueError(f"the sequences have length {seqs.n} but the sketch explains length {sketch.n}")
        ids, X, extra = list(seqs.ids), seqs.X, seqs.extra
    else:
        X = sketch.check_sequences(seqs)
        ids, extra = [f"seq_{i + 1}" for i in range(X.shape[0])], pd.DataFrame(index=pd.RangeIndex(X.shape[0]))
    X = sketch.check_sequences(np.asarray(X).reshape(len(ids), sketch.n))
    phi = shap_values(sketch, X)
    b = baseline(sketch)
    pred = phi.sum(axis=1) + b  # efficiency: sum_i phi_i = f(x) - F[0]
    inter = interactions(sketch, X, index=index, order=order) if with_interactions else None
    se = sketch_error_bars(sketch, X.shape[0])
    return Explanation(ids, X, sketch.alphabet, phi, pred, b, inter, extra.reset_index(drop=True), stderr=se,
                       stderr_kind="trust check" if se is not None else "")


def refined_explanation(expl: Explanation, refined: RefinedShap) -> Explanation:
    """``expl`` with the SHAP values refined with the model (same sequences, same order).

    ``shap`` and ``stderr`` become the refined values and their standard errors (``stderr_kind =
    "refined"``); ``predictions`` the model's own ``f(x)`` (efficiency then holds within the errors:
    ``sum_i phi_i ~ f(x) - F[0]``). ``extra`` gains ``sketch_prediction`` and ``model_calls``; the
    interactions stay the sketch's.
    """
    if refined.values.shape != expl.shap.shape or not np.array_equal(refined.X, expl.X):
        raise ValueError(f"the refined values are for {refined.N} other sequences than this explanation's {expl.N}")
    extra = expl.extra.reset_index(drop=True).copy()
    extra["sketch_prediction"] = expl.predictions
    extra["model_calls"] = np.asarray(refined.calls_per_seq, dtype=np.int64)
    return Explanation(expl.ids, expl.X, expl.alphabet, refined.values, refined.model_predictions, expl.baseline,
                       expl.interactions, extra, stderr=refined.stderr, stderr_kind="refined")


# ============================================================================================== subsets
def select(
    expl: Explanation,
    ids: Iterable[str] | None = None,
    column: str | None = None,
    equals: object | Iterable[object] | None = None,
    between: tuple[float | None, float | None] | None = None,
    prediction_range: tuple[float | None, float | None] | None = None,
) -> np.ndarray:
    """A boolean mask ``(N,)`` selecting a subset; all given conditions must hold.

    Parameters
    ----------
    expl : Explanation
    ids : iterable of str, optional
        Keep these sequence ids (unknown ids raise ``ValueError`` naming a few of them).
    column : str, optional
        A column of ``expl.extra`` (e.g. a label from the input table), used with ``equals`` or ``between``.
    equals : value or iterable of values, optional
        Keep rows whose ``column`` equals (one of) these.
    between : (low, high), optional
        Keep rows with ``low <= column <= high`` (either bound may be None).
    prediction_range : (low, high), optional
        Keep rows whose prediction lies in ``[low, high]``.
    """
    mask = np.ones(expl.N, dtype=bool)
    if ids is not None:
        want = set(map(str, ids))
        known = set(expl.ids)
        missing = want - known
        if missing:
            raise ValueError(f"unknown sequence ids: {', '.join(sorted(missing)[:5])}" +
                             (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        mask &= np.fromiter((i in want for i in expl.ids), dtype=bool, count=expl.N)
    if column is not None:
        if column not in expl.extra.columns:
            raise ValueError(
                f"no column {column!r}; available: {', '.join(map(repr, expl.extra.columns)) or 'none'}"
            )
        col = expl.extra[column]
        if equals is not None:
            vals = list(equals) if isinstance(equals, list | tuple | set) else [equals]
            mask &= col.isin(vals).to_numpy()
        if between is not None:
            num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            lo, hi = between
            ok = ~np.isnan(num)
            if lo is not None:
                ok &= num >= lo
            if hi is not None:
                ok &= num <= hi
            mask &= ok
        if equals is None and between is None:
            raise ValueError("column needs equals= or between=")
    if prediction_range is not None:
        lo, hi = prediction_range
        if lo is not None:
            mask &= expl.predictions >= lo
        if hi is not None:
            mask &= expl.predictions <= hi
    return mask


def _need_interactions(expl: Explanation) -> Interactions:
    if expl.interactions is None:
        raise ValueError("this explanation has no interactions (explain with with_interactions=True)")
    return expl.interactions
