"""Counter-based random draws: every draw is a pure function of (seed, player, stream, counter).

The behaviour model runs many players in lockstep with numpy, so it cannot consume one
sequential RNG per player. Instead each player has 64-bit keys (one per stream), and a draw is
the SplitMix64 finalizer applied to the key combined with a counter that names the draw (which
session, which match, which purpose). A player's draws therefore do not depend on which other
players run beside it, on the chunk size or on the number of workers: the same seed and flags
give the same player anywhere.

Counters are built by `counter(major, minor, slot)`: `major` is the session number (or the day),
`minor` the step inside it (the match), `slot` the purpose of the draw (a module constant).
"""

from __future__ import annotations

import hashlib

import numpy as np

U64 = np.uint64
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_GOLDEN = U64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = U64(30), U64(27), U64(31), U64(11)
_TO_UNIT = 2.0**-53


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on a uint64 array (a new array; the argument is not changed)."""
    z = z ^ (z >> _S30)
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def stream_keys(seed: int, indices: np.ndarray, stream: str) -> np.ndarray:
    """The 64-bit key of each player index for one named stream."""
    base = int.from_bytes(hashlib.sha256(f"respawn-sim:{seed}:{stream}".encode()).digest()[:8])
    with np.errstate(over="ignore"):
        return mix(indices.astype(U64) * _GOLDEN + U64(base))


def counter(major: np.ndarray | int, minor: np.ndarray | int, slot: np.ndarray | int) -> np.ndarray:
    """A draw's name: `major` < 2**40 (session or day), `minor` < 2**16 (step), `slot` < 256."""
    major = np.asarray(major, dtype=U64)
    minor = np.asarray(minor, dtype=U64)
    return (major << U64(24)) | (minor << U64(8)) | np.asarray(slot, dtype=U64)


def block(keys: np.ndarray, major: np.ndarray, minor: int, slots: int) -> np.ndarray:
    """Uniforms of slots 0 .. slots - 1 for each element, as one (elements, slots) array: the
    same values as one `uniform` call per slot, in one pass."""
    return uniform(keys[:, None], counter(major[:, None], minor, np.arange(slots)[None, :]))


def bits(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """64 random bits per element, from the key and the counter (both broadcast)."""
    with np.errstate(over="ignore"):  # wrapping multiplication is the point
        return mix(keys ^ mix(np.asarray(counters, dtype=U64) + _GOLDEN))


def uniform(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1)."""
    return (bits(keys, counters) >> _S11).astype(np.float64) * _TO_UNIT


def normal(keys: np.ndarray, major: np.ndarray | int, minor: np.ndarray | int, slot: int):
    """Standard normal by Box-Muller (slots slot and slot+1)."""
    u1 = uniform(keys, counter(major, minor, slot))
    u2 = uniform(keys, counter(major, minor, slot + 1))
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def poisson(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson(lam) by inversion of the uniform `u` (exact; meant for small means)."""
    lam = np.minimum(np.asarray(lam, dtype=np.float64), 30.0)
    k = np.zeros(lam.shape, dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    todo = np.flatnonzero(u >= cdf)
    step = 0
    while todo.size:
        step += 1
        k[todo] += 1
        p[todo] *= lam[todo] / step
        cdf[todo] += p[todo]
        todo = todo[(u[todo] >= cdf[todo]) & (p[todo] > 0.0)]
    return k


# Two hex digits per byte value, as little-endian uint16 (a byte's digits in text order).
_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype="<u2")
_VARIANT = np.frombuffer(b"89ab", dtype=np.uint8)


def uuids(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """Version-4 shaped UUID strings from 128 random bits each (two uint64 arrays)."""
    n = len(hi)
    if n == 0:
        return []
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0], raw[:, 1] = hi, lo
    octets = raw.view(np.uint8).reshape(n, 16)
    digits = _PAIRS[octets].view(np.uint8)  # (n, 32)
    text = np.empty((n, 36), dtype=np.uint8)
    text[:, [8, 13, 18, 23]] = ord("-")
    for a, b, c in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        text[:, a : a + c] = digits[:, b : b + c]
    text[:, 14] = ord("4")  # version
    text[:, 19] = _VARIANT[octets[:, 8] & 3]  # RFC 4122 variant
    joined = text.tobytes().decode("ascii")
    return [joined[i : i + 36] for i in range(0, 36 * n, 36)]


class Ids:
    """UUIDs of one player stream: two independent keys, so that 128 bits are drawn."""

    def __init__(self, seed: int, indices: np.ndarray, stream: str) -> None:
        self.hi = stream_keys(seed, indices, stream + ":hi")
        self.lo = stream_keys(seed, indices, stream + ":lo")

    def take(self, rows: np.ndarray, counters: np.ndarray) -> list[str]:
        """One UUID per (player row, counter)."""
        return uuids(bits(self.hi[rows], counters), bits(self.lo[rows], counters))
