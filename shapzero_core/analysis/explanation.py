"""The :class:`Explanation` of many sequences (SHAP values, interactions, predictions, ids) and subsets of it
(:func:`select`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..alphabet import Alphabet
from ..background import DEFAULT_PSEUDOCOUNT, Background, resolve_background
from ..fourier import FourierSketch
from ..refine import RefinedShap, sketch_error_bars
from ..sequences import SequenceSet
from ..shapley import Interactions, baseline, interactions, shap_values
from ..strings import DecodedSequences
from ..template import Template


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
    template : Template or None
        The sketch's template (fixed letters), if any. ``X``, ``shap`` and the interaction sets are then in
        the template's *full* coordinates; fixed positions have SHAP exactly 0 and are in no interaction set.
    stderr : numpy.ndarray or None
        ``float64 (N, n)`` uncertainty of every SHAP value (None: unknown), of the kind ``stderr_kind``.
    background : Background or None
        What the values are measured against (None: the uniform background). ``baseline`` is then
        ``E_{z ~ background} f(z)``.
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
    template: Template | None = None
    stderr: np.ndarray | None = None
    stderr_kind: str = ""
    background: Background | None = None

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
    def fixed(self) -> dict[int, str]:
        """``{1-based position: letter}`` of the template's fixed positions (empty without a template)."""
        return self.template.fixed_letters() if self.template is not None else {}

    @property
    def sequences(self) -> DecodedSequences:
        """The sequences as strings: a read-only list-like view that decodes only the rows it is asked for
        (``ex.sequences[row]`` on a page redraw decodes one sequence, not all N)."""
        X = self.X
        if X.flags.writeable:
            X = X.view()
            X.setflags(write=False)
        return DecodedSequences(X, self.alphabet)

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
            template=self.template,
            stderr=self.stderr[idx] if self.stderr is not None else None,
            stderr_kind=self.stderr_kind,
            background=self.background,
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


def full_codes(sketch: FourierSketch, X: np.ndarray, name: str = "X") -> np.ndarray:
    """Sequences as the user gives them, validated against the sketch: ``int8 (N, L)`` with ``L`` =
    :attr:`FourierSketch.sequence_length`.

    Without a template this is ``sketch.check_sequences(X)``. With one, full-length rows must carry the
    template's letters at its fixed positions (``ValueError`` naming the first row that does not), and rows of
    the free length are completed with them.
    """
    tpl = sketch.template
    if tpl is None:
        return sketch.check_sequences(X, name=name)
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == tpl.num_free and tpl.num_free != tpl.n:
        return tpl.expand(X)
    if X.ndim == 2 and X.shape[1] != tpl.n:
        raise ValueError(f"{name} has sequences of length {X.shape[1]}; the sketch's template ({tpl.pattern}) "
                         f"takes {tpl.n} letters (or its {tpl.num_free} free positions)")
    tpl.restrict(X)  # raises on a mismatch at a fixed position
    return np.ascontiguousarray(np.asarray(X), dtype=np.int8)


def full_interactions(sketch: FourierSketch, X: np.ndarray, index: str = "mobius",
                      order: int | None = None, background: object = None) -> Interactions:
    """:func:`shapzero_core.shapley.interactions` of full-length sequences, in full coordinates.

    ``X`` as for :func:`full_codes`. With a template, the closed forms run on the free positions and the
    position sets are mapped back (0-based full positions); ``Interactions.X`` holds the full sequences.
    """
    Xf = full_codes(sketch, X)
    tpl = sketch.template
    if tpl is None:
        return interactions(sketch, Xf, index=index, order=order, background=background)
    inter = interactions(sketch, tpl.restrict(Xf, check=False), index=index, order=order, background=background)
    free = tpl.free
    sets = tuple(tuple(int(free[p]) for p in S) for S in inter.sets)
    return Interactions(sets=sets, values=inter.values, index=inter.index, order=inter.order, X=Xf,
                        alphabet=inter.alphabet)


def explain_sequences(
    sketch: FourierSketch,
    seqs: SequenceSet | np.ndarray,
    index: str = "mobius",
    order: int | None = None,
    with_interactions: bool = True,
    background: object = None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
) -> Explanation:
    """Explain every sequence: SHAP values, predictions and (optionally) interactions.

    Parameters
    ----------
    sketch : FourierSketch
    seqs : SequenceSet or numpy.ndarray
        The sequences (an ``int (N, n)`` array gets ids ``seq_1..seq_N``). For a sketch with a template
        (:attr:`FourierSketch.template`) they have the template's full length (free-length rows are
        completed with its letters) and must carry its letters at the fixed positions.
    index, order
        Interaction index and maximal order, see :func:`shapzero_core.shapley.interactions`.
    with_interactions : bool
        Skip the interactions if False.
    background, pseudocount
        What the values are measured against: None / ``"uniform"`` (default), ``"data"`` (the letter
        frequencies of ``seqs`` themselves), a table ``(L, q)`` or sequences; see
        :func:`shapzero_core.background.resolve_background` (full-length tables and sequences are restricted
        to a template's free positions). The trust check's error bars describe the uniform game, so a
        non-uniform background gives values without ``stderr``.

    Returns
    -------
    Explanation
        In full coordinates: with a template, ``shap`` is 0 at the fixed positions and interaction sets
        hold full positions (the closed forms run on the free positions; see :mod:`shapzero_core.template`).
        With ``stderr`` from the sketch's trust check when it has one (``stderr_kind = "trust check"``).
    """
    L = sketch.sequence_length
    tpl = sketch.template
    if isinstance(seqs, SequenceSet):
        if seqs.alphabet.letters != sketch.alphabet.letters:
            raise ValueError(
                f"the sequences use the alphabet {seqs.alphabet.letters} but the sketch uses "
                f"{sketch.alphabet.letters}"
            )
        if len(seqs) and seqs.n != L and not (tpl is not None and seqs.n == tpl.num_free):
            raise ValueError(f"the sequences have length {seqs.n} but the sketch explains length {L}"
                             + (f" (its template {tpl.pattern})" if tpl is not None else ""))
        ids, X, extra = list(seqs.ids), seqs.X, seqs.extra
        X = np.asarray(X).reshape(len(ids), seqs.n if len(seqs) else L)
    else:
        X = np.asarray(seqs)
        ids, extra = [f"seq_{i + 1}" for i in range(len(X))], pd.DataFrame(index=pd.RangeIndex(len(X)))
    X = full_codes(sketch, X)
    X_free = tpl.restrict(X, check=False) if tpl is not None else X
    if isinstance(background, str) and background.strip().lower() == "data":
        background = X
    bg = resolve_background(sketch, background, pseudocount)
    bg_arg = None if bg.is_uniform else bg
    phi = shap_values(sketch, X_free, background=bg_arg)
    b = baseline(sketch, bg_arg)
    pred = phi.sum(axis=1) + b  # efficiency: sum_i phi_i = f(x) - v(empty)
    se = sketch_error_bars(sketch, X.shape[0]) if bg_arg is None else None
    if tpl is not None:
        phi = tpl.to_full(phi)  # fixed positions are not players: SHAP exactly 0
        se = tpl.to_full(se) if se is not None else None  # ... and carry no error
    inter = (full_interactions(sketch, X, index=index, order=order, background=bg_arg)
             if with_interactions else None)
    return Explanation(ids, X, sketch.alphabet, phi, pred, b, inter, extra.reset_index(drop=True), template=tpl,
                       stderr=se, stderr_kind="trust check" if se is not None else "", background=bg_arg)


def refined_explanation(expl: Explanation, refined: RefinedShap) -> Explanation:
    """``expl`` with the SHAP values refined with the model (same sequences, same order).

    ``shap`` and ``stderr`` become the refined values and their standard errors (``stderr_kind =
    "refined"``); ``predictions`` the model's own ``f(x)`` (efficiency then holds within the errors:
    ``sum_i phi_i ~ f(x) - F[0]``). ``extra`` gains ``sketch_prediction`` and ``model_calls``; the
    interactions stay the sketch's. With a template, ``refined`` is in the sketch's free coordinates (what
    :func:`~shapzero_core.refine.refine_shap` returns for a templated model) and is mapped to full positions.
    """
    if expl.background is not None:
        raise ValueError("refined values explain the uniform background; this explanation is against "
                         f"{expl.background.description}: explain with the uniform background to refine")
    tpl = expl.template
    values, stderr = refined.values, refined.stderr
    X_ref = expl.X
    if tpl is not None and refined.values.shape[1:] == (tpl.num_free,):
        X_ref = tpl.restrict(expl.X, check=False)
        values, stderr = tpl.to_full(values), tpl.to_full(stderr)
    if values.shape != expl.shap.shape or not np.array_equal(refined.X, X_ref):
        raise ValueError(f"the refined values are for {refined.N} other sequences than this explanation's {expl.N}")
    extra = expl.extra.reset_index(drop=True).copy()
    extra["sketch_prediction"] = expl.predictions
    extra["model_calls"] = np.asarray(refined.calls_per_seq, dtype=np.int64)
    return Explanation(expl.ids, expl.X, expl.alphabet, values, refined.model_predictions, expl.baseline,
                       expl.interactions, extra, template=tpl, stderr=stderr, stderr_kind="refined")


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
