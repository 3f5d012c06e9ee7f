"""Static sentence embeddings from wordllama's bundled weights: a token lookup and a mean, on the CPU."""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
# Texts embedded per step when many are embedded at once: bounds the temporary token-vector block.
_CHUNK_TEXTS = 512
# Whitespace-separated pieces whose token ids are remembered; past this the memory is cleared and refilled.
_MAX_CACHED_PIECES = 200_000


class TextEmbedder(Protocol):
    """What the routing index needs of an embedder."""

    def embed(self, text: str) -> Vectors:
        """The unit vector of one text."""
        ...

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The unit vectors of many texts."""
        ...

    def agent_vector(self, texts: Sequence[str]) -> Vectors:
        """One vector for an agent's texts."""
        ...


class Embedder:
    """Embeds texts as the unit-length mean of their tokens' static vectors.

    The tokenizer's normaliser only marks spaces, so a text's tokens are its whitespace-separated pieces'
    tokens: each piece is tokenized once and remembered, which makes embedding many similar texts cheap.
    """

    def __init__(self, table: Vectors, tokenizer: Any) -> None:
        self._table = table
        self._tokenizer = tokenizer
        self._piece_ids: dict[str, list[int]] = {}
        self.dimensions = int(table.shape[1])

    def token_ids(self, text: str) -> list[int]:
        """The token ids of a text, piece by piece."""
        ids: list[int] = []
        cache = self._piece_ids
        for piece in text.split():
            piece_ids = cache.get(piece)
            if piece_ids is None:
                if len(cache) >= _MAX_CACHED_PIECES:
                    cache.clear()
                piece_ids = cache[piece] = self._tokenizer.encode(piece, add_special_tokens=False).ids
            ids += piece_ids
        return ids

    def embed(self, text: str) -> Vectors:
        """The unit vector of one text (zeros when it has no known token)."""
        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.dimensions, np.float32)
        vector: Vectors = self._table[ids].mean(axis=0)
        return _unit(vector)

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The unit vectors of many texts, one row each, computed in vectorised chunks.

        Each chunk's token sums are one matrix product: per-text token counts over the chunk's distinct
        tokens, times those tokens' vectors.
        """
        out = np.zeros((len(texts), self.dimensions), np.float32)
        for start in range(0, len(texts), _CHUNK_TEXTS):
            encoded = [self.token_ids(text) for text in texts[start : start + _CHUNK_TEXTS]]
            lengths = np.fromiter((len(ids) for ids in encoded), np.int64, len(encoded))
            if not lengths.any():
                continue
            ids = np.fromiter(itertools.chain.from_iterable(encoded), np.int64, int(lengths.sum()))
            distinct, column = np.unique(ids, return_inverse=True)
            rows = np.repeat(np.arange(len(encoded)), lengths)
            cells = np.bincount(rows * len(distinct) + column, minlength=len(encoded) * len(distinct))
            counts = cells.reshape(len(encoded), len(distinct)).astype(np.float32)
            out[start : start + len(encoded)] = counts @ self._table[distinct]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Vectors = out / norms
        return result

    def agent_vector(self, texts: Sequence[str]) -> Vectors:
        """One vector for an agent: the unit-length mean of its texts' unit vectors."""
        if not texts:
            return np.zeros(self.dimensions, np.float32)
        vector: Vectors = self.embed_many(texts).mean(axis=0)
        return _unit(vector)


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


@functools.cache
def shared_embedder() -> Embedder:
    """The process's embedder, loaded once from the weights inside the wordllama wheel (no download)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama  # type: ignore[import-untyped, unused-ignore]  # imported here: half a second, and only the router needs it

    # wordllama calls logging.basicConfig on import; the server's own log configuration must stay in charge.
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return Embedder(np.ascontiguousarray(model.embedding, dtype=np.float32), model.tokenizer)


class BackgroundEmbedder:
    """An embedder loaded in a thread, so start-up need not wait for the model; each use waits for it."""

    def __init__(self, load: Callable[[], Embedder]) -> None:
        self._ready = threading.Event()
        self._embedder: Embedder | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._load, args=(load,), name="embedder-load", daemon=True).start()

    def _load(self, load: Callable[[], Embedder]) -> None:
        try:
            self._embedder = load()
        except BaseException as error:  # re-raised in the caller's thread, on use
            self._error = error
        finally:
            self._ready.set()

    def loaded(self) -> Embedder:
        """The embedder, once loaded (waits for it); raises what the loading raised."""
        self._ready.wait()
        if self._embedder is None:
            raise RuntimeError(f"the embedding model could not be loaded: {self._error}") from self._error
        return self._embedder

    def embed(self, text: str) -> Vectors:
        """The unit vector of one text."""
        return self.loaded().embed(text)

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The unit vectors of many texts."""
        return self.loaded().embed_many(texts)

    def agent_vector(self, texts: Sequence[str]) -> Vectors:
        """One vector for an agent's texts."""
        return self.loaded().agent_vector(texts)
