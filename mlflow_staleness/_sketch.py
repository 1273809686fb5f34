"""A deterministic, mergeable quantile summary whose rank error is certified, not hoped for.

The summary is a short sorted list of values ``v_i``, each with two integers that bound where the
value falls in the (finite) data ``x_1 .. x_n``:

- ``l_hi[i]``, an upper bound on ``L(v_i) = #{x < v_i}``;
- ``u_lo[i]``, a lower bound on ``U(v_i) = #{x <= v_i}``.

Both sequences are kept non-decreasing, the first value is the minimum (``l_hi = 0``) and the last
one the maximum (``u_lo = n``). A value answers the quantile ``q`` with rank error
``e_i(q) = max(l_hi[i] - qn, qn - u_lo[i], 0) / n``, so its true rank interval ``[L, U] / n`` comes
within ``e_i(q)`` of ``q``. Among two values whose centres ``(l_hi + u_lo) / 2`` bracket ``qn``,
one has ``e_i(q) <= eps``, where the *certified error* of the summary is::

    eps * n = max(l_hi[0], n - u_lo[-1], max_i (l_hi[i + 1] - u_lo[i]) / 2)

Building, combining and pruning only ever move these bounds in valid directions, so ``eps`` is a
proof about the data, whatever the merge history. This is the Greenwald–Khanna "combine" idea [1]_
with explicit bounds on both sides of every value, which keeps ties exact.

This module is private; :mod:`mlflow_staleness.fingerprint` is its only user.

References
----------
.. [1] M. Greenwald and S. Khanna, "Power-conserving computation of order-statistics over sensor
   networks", PODS 2004.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["QuantileSketch"]

#: Certified rank error of a sketch built from one batch, and of the stored fingerprint sketch.
STORED_EPS = 0.005
#: Rank error the internal streaming accumulator keeps (and each batch's leaf: half of it).
STREAM_EPS = 0.002
#: Rank error a merge of two stored sketches is pruned to, as long as ``MAX_ITEMS`` allows it.
MERGE_EPS = 0.01
#: Hard cap on the number of values a sketch keeps; beyond it the certified error grows instead.
MAX_ITEMS = 1024


def _shortest_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The float with the most trailing zero bits in each closed interval ``[a, b]``.

    ``a <= b`` element-wise, both finite. A value with many trailing zero bits compresses well, and
    any value inside the interval is as good an answer as the data points themselves.
    """
    negative = b < 0.0
    lo = np.where(negative, -b, a)  # positive magnitudes lo <= hi when the interval is one-signed
    hi = np.where(negative, -a, b)
    lo_bits = np.abs(lo).view(np.uint64)
    hi_bits = np.abs(hi).view(np.uint64)
    # For positive floats the bit patterns are ordered like the numbers: keep the common prefix,
    # then the first bit where the ends differ (set in ``hi``), then zeros.
    smear = lo_bits ^ hi_bits
    for shift in (1, 2, 4, 8, 16, 32):
        smear |= smear >> np.uint64(shift)
    short = (hi_bits & ~(smear >> np.uint64(1))).view(np.float64)
    straddles = (a <= 0.0) & (b >= 0.0)
    return np.where(straddles, 0.0, np.where(negative, -short, short))


@dataclass(frozen=True, eq=False)
class QuantileSketch:
    """Sorted values with certified rank bounds (see the module docstring).

    Parameters
    ----------
    values
        Strictly increasing finite float64 values.
    l_hi
        Non-decreasing upper bounds on ``#{x < v}``.
    u_lo
        Non-decreasing lower bounds on ``#{x <= v}``.
    n
        Number of values summarised.

    Examples
    --------
    >>> x = np.repeat([1.0, 2.0, 3.0], [50, 30, 20])
    >>> sketch = QuantileSketch.from_sorted(x)
    >>> sketch.quantile(np.array([0.1, 0.6, 0.9])).tolist(), sketch.error
    ([1.0, 2.0, 3.0], 0.0)
    >>> both = sketch.combine(QuantileSketch.from_sorted(np.arange(100.0))).prune(0.01)
    >>> both.n, both.error <= 0.01
    (200, True)
    """

    values: np.ndarray
    l_hi: np.ndarray
    u_lo: np.ndarray
    n: int

    def __post_init__(self) -> None:
        for name in ("values", "l_hi", "u_lo"):
            array = getattr(self, name)
            array.setflags(write=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls) -> QuantileSketch:
        """The summary of no values."""
        return cls(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), 0)

    @classmethod
    def from_sorted(cls, x: np.ndarray, eps: float = STORED_EPS) -> QuantileSketch:
        """Summarise sorted finite data with certified error ``eps`` (exact ranks, no merge)."""
        n = int(x.shape[0])
        if n == 0:
            return cls.empty()
        gap = 2.0 * eps * n  # allowed l_hi[i + 1] - u_lo[i]
        step = max(gap / 8.0, 1.0)  # candidate spacing in ranks
        slack = step / 4.0  # each candidate may sit this many ranks off its target
        n_candidates = math.ceil(n / step) + 1
        if n_candidates >= n:
            candidates = x
        else:
            targets = np.linspace(0.0, n, n_candidates)
            lo = np.clip(np.floor(targets - slack), 0, n - 1).astype(np.int64)
            hi = np.clip(np.ceil(targets + slack) - 1, 0, n - 1).astype(np.int64)
            hi = np.maximum(hi, lo)
            candidates = _shortest_between(x[lo], x[hi])
            candidates = np.concatenate(([x[0]], candidates, [x[-1]]))
        values = np.unique(candidates)
        l_hi = np.searchsorted(x, values, side="left").astype(np.int64)
        u_lo = np.searchsorted(x, values, side="right").astype(np.int64)
        return cls(values, l_hi, u_lo, n).prune(eps)

    @classmethod
    def from_counts(cls, values: np.ndarray, counts: np.ndarray) -> QuantileSketch:
        """The exact summary of data given as distinct values and their counts (error 0).

        ``values`` are strictly increasing finite floats and ``counts`` positive integers, as
        ``np.unique(x, return_counts=True)`` gives them. Every value is kept with its exact rank
        interval, so the result equals :meth:`combine` of the sketches of any split of the data;
        prune it to trade accuracy for size.

        Examples
        --------
        >>> sketch = QuantileSketch.from_counts(np.array([0.0, 1.0]), np.array([70, 30]))
        >>> sketch.n, sketch.error, sketch.quantile(np.array([0.5, 0.8])).tolist()
        (100, 0.0, [0.0, 1.0])
        """
        counts = np.asarray(counts, dtype=np.int64)
        u_lo = np.cumsum(counts)
        n = int(u_lo[-1]) if u_lo.shape[0] else 0
        if n == 0:
            return cls.empty()
        return cls(np.asarray(values, dtype=np.float64), u_lo - counts, u_lo, n)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def error(self) -> float:
        """Certified rank error: every quantile answer is this close to its target (0 if empty)."""
        if self.n == 0:
            return 0.0
        worst = max(float(self.l_hi[0]), float(self.n - self.u_lo[-1]))
        if len(self) > 1:
            worst = max(worst, float(np.max(self.l_hi[1:] - self.u_lo[:-1])) / 2.0)
        return max(worst, 0.0) / self.n

    @property
    def minimum(self) -> float | None:
        """The smallest value summarised, or ``None``."""
        return float(self.values[0]) if self.n else None

    @property
    def maximum(self) -> float | None:
        """The largest value summarised, or ``None``."""
        return float(self.values[-1]) if self.n else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return (
            self.n == other.n
            and np.array_equal(self.values, other.values)
            and np.array_equal(self.l_hi, other.l_hi)
            and np.array_equal(self.u_lo, other.u_lo)
        )

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ queries
    def quantile(self, q: np.ndarray) -> np.ndarray:
        """Values answering the probabilities ``q`` (NaN everywhere when the sketch is empty)."""
        q = np.asarray(q, dtype=np.float64)
        if self.n == 0:
            return np.full(q.shape, np.nan)
        t = q * self.n
        centres = (self.l_hi + self.u_lo) / 2.0
        right = np.clip(np.searchsorted(centres, t, side="left"), 0, len(self) - 1)
        left = np.maximum(right - 1, 0)

        def err(i: np.ndarray) -> np.ndarray:
            return np.maximum(np.maximum(self.l_hi[i] - t, t - self.u_lo[i]), 0.0)

        pick = np.where(err(left) <= err(right), left, right)
        return self.values[pick]

    # ------------------------------------------------------------------ merging
    def combine(self, other: QuantileSketch) -> QuantileSketch:
        """The union summary, with no loss of certified accuracy and no pruning."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        own = _bounds_in(self, other)
        theirs = _bounds_in(other, self)
        values = np.concatenate((self.values, other.values))
        l_hi = np.concatenate((own[0], theirs[0]))
        u_lo = np.concatenate((own[1], theirs[1]))
        values, first = np.unique(values, return_index=True)
        l_hi = np.minimum.accumulate(l_hi[first][::-1])[::-1]
        u_lo = np.maximum.accumulate(u_lo[first])
        return QuantileSketch(values, l_hi, u_lo, self.n + other.n)

    def prune(self, eps: float, max_items: int = MAX_ITEMS) -> QuantileSketch:
        """Keep the fewest values with certified error ``<= eps``, never more than ``max_items``.

        When ``max_items`` values cannot reach ``eps``, the smallest reachable error is kept.
        """
        k = len(self)
        if k <= 2:
            return self
        gap = math.floor(2.0 * eps * self.n)
        keep = self._greedy(gap)
        if len(keep) > max_items:
            low, high = gap, int(np.max(self.l_hi[1:] - self.u_lo[:-1]).clip(min=0)) + 2 * self.n
            while high - low > 1:  # the count is non-increasing in the allowed gap
                mid = (low + high) // 2
                if len(self._greedy(mid)) > max_items:
                    low = mid
                else:
                    high = mid
            keep = self._greedy(high)
        if len(keep) == k:
            return self
        index = np.asarray(keep)
        return QuantileSketch(self.values[index], self.l_hi[index], self.u_lo[index], self.n)

    def _greedy(self, gap: int) -> list[int]:
        k = len(self)
        reach = np.searchsorted(self.l_hi, self.u_lo + gap, side="right") - 1
        reach = np.minimum(np.maximum(reach, np.arange(1, k + 1)), k - 1).tolist()
        keep = [0]
        i = 0
        while i < k - 1:
            i = reach[i]
            keep.append(i)
        return keep

    # ------------------------------------------------------------------ encoding
    def encode(self, *, compress: bool = True) -> dict[str, str]:
        """Compact text: byte-shuffled little-endian arrays, zlib-compressed, base64.

        ``compress=False`` gives plain base64 of the little-endian bytes, a form that depends on
        no compressor and so suits content digests; :meth:`decode` reads only the compressed form.
        """
        ranks = np.concatenate((np.diff(self.u_lo, prepend=0), self.l_hi - self.u_lo))
        if not compress:
            return {
                "values": base64.b64encode(self.values.astype("<f8").tobytes()).decode("ascii"),
                "ranks": base64.b64encode(ranks.astype("<i8").tobytes()).decode("ascii"),
            }
        return {"values": pack(self.values.astype("<f8")), "ranks": pack(ranks.astype("<i8"))}

    @classmethod
    def decode(cls, data: dict[str, str], n: int) -> QuantileSketch:
        """Invert :meth:`encode`; raises ``ValueError`` on malformed input.

        At most :data:`MAX_ITEMS` values are read (what :meth:`prune` ever keeps): the
        compressed text is inflated in bounded steps, so a small text that inflates to
        gigabytes is refused after ``MAX_ITEMS`` values' worth of bytes, not held in memory.
        """
        values = unpack(data["values"], "<f8", MAX_ITEMS)
        ranks = unpack(data["ranks"], "<i8", 2 * MAX_ITEMS)
        k = values.shape[0]
        if ranks.shape[0] != 2 * k:
            raise ValueError(f"the sketch holds {k} values but {ranks.shape[0]} rank entries")
        u_lo = np.cumsum(ranks[:k])
        l_hi = u_lo + ranks[k:]
        sketch = cls(values.astype(np.float64), l_hi.astype(np.int64), u_lo.astype(np.int64), n)
        sketch.validate()
        return sketch

    def validate(self) -> None:
        """Raise ``ValueError`` unless the arrays satisfy the invariants of the summary."""
        k = len(self)
        if self.n == 0:
            if k:
                raise ValueError("an empty sketch (n = 0) must hold no values")
            return
        if k == 0:
            raise ValueError(f"a sketch of n = {self.n} values must hold at least one value")
        # compared, not subtracted: the gap between -1e308 and 1e308 overflows
        if not np.all(np.isfinite(self.values)) or np.any(self.values[1:] <= self.values[:-1]):
            raise ValueError("sketch values must be finite and strictly increasing")
        if np.any(np.diff(self.l_hi) < 0) or np.any(np.diff(self.u_lo) < 0):
            raise ValueError("sketch rank bounds must be non-decreasing")
        if self.l_hi[0] != 0 or self.u_lo[-1] != self.n:
            raise ValueError("a sketch must start at its minimum and end at its maximum")
        if np.any(self.l_hi < 0) or np.any(self.l_hi > self.n) or np.any(self.u_lo < 1):
            raise ValueError(f"sketch rank bounds must lie within [0, n = {self.n}]")


def _bounds_in(sketch: QuantileSketch, other: QuantileSketch) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``sketch``'s values in the union of the data of both sketches."""
    k = np.searchsorted(other.values, sketch.values, side="left")
    inside = k < len(other)
    kk = np.minimum(k, len(other) - 1)
    l_other = np.where(inside, other.l_hi[kk], other.n)
    equal = inside & (other.values[kk] == sketch.values)
    below = np.where(k >= 1, other.u_lo[np.maximum(k - 1, 0)], 0)
    u_other = np.where(equal, other.u_lo[kk], below)
    return sketch.l_hi + l_other, sketch.u_lo + u_other


def pack(array: np.ndarray) -> str:
    raw = np.ascontiguousarray(array).view(np.uint8).reshape(-1, array.itemsize).T.tobytes()
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def unpack(text: str, dtype: str, max_count: int) -> np.ndarray:
    """Invert :func:`pack` for at most ``max_count`` items; ``ValueError`` on anything else.

    The inflated size is bounded before it is reached (``zlib.decompressobj`` with
    ``max_length``): a zlib bomb costs ``max_count`` items of memory, not what it inflates to.
    """
    if not isinstance(text, str):
        raise ValueError(f"an encoded array must be a base64 string, got {type(text).__name__}")
    width = np.dtype(dtype).itemsize
    limit = max_count * width
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, limit + 1)
    except (binascii.Error, zlib.error, UnicodeEncodeError) as exc:
        raise ValueError(f"an encoded array is not valid base64 of zlib data: {exc}") from exc
    if len(raw) > limit or inflater.unconsumed_tail:
        raise ValueError(
            f"an encoded array inflates to more than {max_count} values of {width} bytes, the "
            f"most one holds"
        )
    if not inflater.eof or inflater.unused_data:
        raise ValueError("an encoded array is not one complete zlib stream")
    if len(raw) % width:
        raise ValueError(f"an encoded array has {len(raw)} bytes, not a multiple of {width}")
    shuffled = np.frombuffer(raw, dtype=np.uint8).reshape(width, -1).T
    return np.ascontiguousarray(shuffled).view(dtype).ravel().copy()
