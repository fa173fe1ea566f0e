"""Templates: sequence models whose letters are fixed at some positions (a guide's PAM ``GG``, a splice site's
``AG``).

A template is a string of the model's full length ``n``: a letter where the position is fixed, ``.`` where it
is free, e.g. ``"." * 25 + "GG" + "..."`` for a 30-nt guide-RNA model whose positions 26-27 never vary. The
sketch then runs over the ``m`` free positions only (:func:`shapzero_core.models.with_template`), and this
module is the one place that maps between the two coordinate systems:

* *full* coordinates: the model's own sequences, length ``n``, positions ``0..n-1`` (1-based ``1..n`` in every
  table, logo and export);
* *free* coordinates: what the sketch explains, length ``m``, the free positions in increasing order.

A sketch of a templated model stores the template in its header (``metadata["template"]``, see
:attr:`shapzero_core.fourier.FourierSketch.template`); the closed forms (:mod:`shapzero_core.shapley`) keep
working in the sketch's free coordinates, and :func:`shapzero_core.analysis.explain_sequences`, the sequence
reader, exports and figures map positions back. Fixed positions are not players of the game: their SHAP value
and every interaction containing them is exactly 0, and tables and logos show them (greyed, with their letter)
instead of dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .alphabet import DNA, Alphabet, check_codes

__all__ = ["FREE", "Template", "parse_template"]

FREE = "."
"""The character that marks a free position in a template string."""

@dataclass(frozen=True)
class Template:
    """Fixed letters at some positions of a model's sequences.

    Parameters
    ----------
    pattern : str
        Full length ``n``: a letter of ``alphabet`` where the position is fixed, ``.`` where it is free.
        Normalised like a sequence (upper case, ``U``/``T`` as the alphabet reads them).
    alphabet : Alphabet, default DNA

    Attributes
    ----------
    n : int
        Full sequence length.
    free : numpy.ndarray
        ``intp (m,)`` 0-based free positions (increasing).
    fixed : numpy.ndarray
        ``intp (n - m,)`` 0-based fixed positions (increasing).
    fixed_codes : numpy.ndarray
        ``int8 (n - m,)`` the letter codes at ``fixed``.
    """

    pattern: str
    alphabet: Alphabet = DNA
    free: np.ndarray = field(init=False, repr=False, compare=False)
    fixed: np.ndarray = field(init=False, repr=False, compare=False)
    fixed_codes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = str(self.pattern).strip()
        if not raw:
            raise ValueError("a template needs one character per position ('.' = free, a letter = fixed), "
                             "got an empty string")
        is_free = np.array([ch == FREE for ch in raw], dtype=bool)
        letters = "".join(ch for ch in raw if ch != FREE)
        norm = self.alphabet.normalize(letters) if letters else ""
        bad = [ch for ch in norm if ch not in self.alphabet.letters]
        if bad or len(norm) != len(letters):
            i = next(j for j, ch in enumerate(raw) if ch != FREE and
                     self.alphabet.normalize(ch)[:1] not in tuple(self.alphabet.letters))
            raise ValueError(f"template: {raw[i]!r} at position {i + 1} is neither '.' (free) nor a letter of the "
                             f"{self.alphabet.name} alphabet ({self.alphabet.letters})")
        chars = list(raw)
        it = iter(norm)
        for j in np.flatnonzero(~is_free):
            chars[j] = next(it)
        pattern = "".join(chars)
        if is_free.sum() == 0:
            raise ValueError(f"template {pattern!r} fixes every position: at least one position must be free ('.')")
        object.__setattr__(self, "pattern", pattern)
        free = np.flatnonzero(is_free).astype(np.intp)
        fixed = np.flatnonzero(~is_free).astype(np.intp)
        codes = np.array([self.alphabet.letters.index(pattern[j]) for j in fixed], dtype=np.int8)
        for arr in (free, fixed, codes):
            arr.setflags(write=False)
        object.__setattr__(self, "free", free)
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "fixed_codes", codes)

    # ------------------------------------------------------------------ sizes
    @property
    def n(self) -> int:
        """Full sequence length."""
        return len(self.pattern)

    @property
    def num_free(self) -> int:
        """Number ``m`` of free positions (the sketch's ``n``)."""
        return int(self.free.size)

    @property
    def num_fixed(self) -> int:
        """Number of fixed positions."""
        return int(self.fixed.size)

    @property
    def is_trivial(self) -> bool:
        """True when no position is fixed."""
        return self.num_fixed == 0

    def fixed_letters(self) -> dict[int, str]:
        """``{1-based position: letter}`` of every fixed position (for logos and tables)."""
        return {int(p) + 1: self.pattern[p] for p in self.fixed}

    def fixed_mask(self) -> np.ndarray:
        """``bool (n,)``: True at fixed positions."""
        m = np.zeros(self.n, dtype=bool)
        m[self.fixed] = True
        return m

    def describe(self) -> str:
        """E.g. ``"30 positions, 28 free; fixed: G at 26, G at 27"``."""
        fx = ", ".join(f"{let} at {p}" for p, let in self.fixed_letters().items())
        return f"{self.n} positions, {self.num_free} free; fixed: {fx or 'none'}"

    # ------------------------------------------------------------------ coordinates
    def expand(self, X_free: np.ndarray) -> np.ndarray:
        """Full-length sequences from free-position codes.

        Parameters
        ----------
        X_free : numpy.ndarray
            ``int (N, m)`` codes at the free positions.

        Returns
        -------
        numpy.ndarray
            ``int8 (N, n)`` with the template's letters at the fixed positions.
        """
        X_free = check_codes(X_free, self.alphabet.q, self.num_free, name="X (free positions)")
        out = np.empty((X_free.shape[0], self.n), dtype=np.int8)
        out[:, self.free] = X_free
        out[:, self.fixed] = self.fixed_codes
        return out

    def mismatches(self, X_full: np.ndarray) -> np.ndarray:
        """``bool (N, n - m)``: where full-length sequences differ from the template at its fixed positions."""
        X_full = check_codes(X_full, self.alphabet.q, self.n, name="X (full length)")
        return X_full[:, self.fixed] != self.fixed_codes[None, :]

    def restrict(self, X_full: np.ndarray, check: bool = True) -> np.ndarray:
        """The free-position codes ``int8 (N, m)`` of full-length sequences ``int (N, n)``.

        Raises
        ------
        ValueError
            With ``check``, if a sequence differs from the template at a fixed position (names the first
            row, position and letters).
        """
        X_full = check_codes(X_full, self.alphabet.q, self.n, name="X (full length)")
        if check and self.num_fixed:
            bad = self.mismatches(X_full)
            if bad.any():
                r, c = (int(v[0]) for v in np.nonzero(bad))
                raise ValueError(f"sequence {r + 1} does not fit the template: {self.mismatch_reason(X_full[r], c)}"
                                 f" ({int(bad.any(axis=1).sum())} of {X_full.shape[0]} sequences differ)")
        return np.ascontiguousarray(X_full[:, self.free])

    def mismatch_reason(self, row: np.ndarray, fixed_index: int) -> str:
        """``"position 26 is 'A' but the template fixes 'G'"`` for one row and index into :attr:`fixed`."""
        p = int(self.fixed[fixed_index])
        return (f"position {p + 1} is {self.alphabet.letters[int(row[p])]!r} but the template fixes "
                f"{self.pattern[p]!r}")

    def to_full(self, values_free: np.ndarray, fill: float = 0.0, axis: int = -1) -> np.ndarray:
        """Values over the free positions placed into full coordinates (``fill`` at fixed positions).

        Parameters
        ----------
        values_free : numpy.ndarray
            Any array whose ``axis`` has length ``m``.
        fill : float
            Value at the fixed positions (0: fixed positions are not players).
        axis : int
            The position axis.

        Returns
        -------
        numpy.ndarray
            Same dtype, ``axis`` of length ``n``.
        """
        v = np.asarray(values_free)
        v = np.moveaxis(v, axis, -1)
        if v.shape[-1] != self.num_free:
            raise ValueError(f"expected {self.num_free} free positions on axis {axis}, got {v.shape[-1]}")
        out = np.full((*v.shape[:-1], self.n), fill, dtype=v.dtype)
        out[..., self.free] = v
        return np.moveaxis(out, -1, axis)

    def full_positions(self, free_positions: np.ndarray | tuple[int, ...] | list[int]) -> np.ndarray:
        """0-based full positions of 0-based free positions."""
        return self.free[np.asarray(free_positions, dtype=np.intp)]

    def to_dict(self) -> dict[str, str]:
        """JSON form (stored in sketch headers)."""
        return {"pattern": self.pattern, "alphabet": self.alphabet.letters}


def parse_template(text: str | Template | None, alphabet: Alphabet = DNA, n: int | None = None) -> Template | None:
    """A :class:`Template` from user text, or None for an empty / all-free template.

    Parameters
    ----------
    text : str, Template or None
        ``"....GG..."``; white space inside is ignored. ``None``, ``""`` give None.
    alphabet : Alphabet
    n : int, optional
        The model's full length; a template of another length raises ``ValueError`` saying both lengths.

    Returns
    -------
    Template or None
        None when there is nothing to fix (no text, or only ``.``).
    """
    if text is None:
        return None
    if isinstance(text, Template):
        tpl = text
    else:
        s = "".join(str(text).split())
        if not s:
            return None
        tpl = Template(s, alphabet)
    if n is not None and tpl.n != int(n):
        raise ValueError(f"the template has {tpl.n} positions but the model takes sequences of length {n}: give one "
                         "character per position ('.' free, a letter fixed)")
    return None if tpl.is_trivial else tpl
