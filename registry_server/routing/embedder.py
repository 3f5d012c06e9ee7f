"""Static sentence embeddings from wordllama's bundled weights: a token lookup and a mean, on the CPU."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
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

    @property
    def table(self) -> Vectors:
        """The token vectors, one row per token id."""
        return self._table

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
        # The mean and norm numpy's own functions compute, without their per-call overhead (once per query).
        vector: Vectors = np.add.reduce(self._table[ids], axis=0)
        vector /= len(ids)
        norm = math.sqrt(float(vector.dot(vector)))
        if norm:
            vector /= norm
        return vector

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The unit vectors of many texts, one row each, computed in vectorised chunks.

        Each chunk's token sums are one matrix product: per-text token counts over the chunk's distinct
        tokens, times those tokens' vectors. Each chunk is normalised as it is computed (no temporary the
        size of every vector).
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
            sums = counts @ self._table[distinct]
            norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
            norms[norms == 0] = 1.0
            out[start : start + len(encoded)] = sums / norms[:, None]
        return out

    def agent_vector(self, texts: Sequence[str]) -> Vectors:
        """One vector for an agent: the unit-length mean of its texts' unit vectors."""
        if not texts:
            return np.zeros(self.dimensions, np.float32)
        vector: Vectors = group_vectors(self.embed_many(texts), [len(texts)])[0]
        return vector


def group_vectors(rows: Vectors, sizes: Sequence[int]) -> Vectors:
    """The unit-length mean of each consecutive group of `sizes` rows (every size at least 1).

    The one way an agent's vector is computed, alone or in a batch, so that a vector computed at
    registration and one computed at start-up are the same to the last bit.
    """
    counts = np.asarray(sizes, np.int64)
    means = np.add.reduceat(rows, np.cumsum(counts) - counts, axis=0) / counts[:, None]
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    vectors: Vectors = (means / norms).astype(np.float32)
    return vectors


class EmbeddingModelError(RuntimeError):
    """The embedding model's files are missing or cannot be read."""


# The model the router uses: wordllama's "l2_supercat" configuration at 256 dimensions, as its wheel ships it.
_WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
_TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
_TABLE_TENSOR = "embedding.weight"


def model_files() -> tuple[Path, Path]:
    """The weights and tokenizer files inside the installed wordllama package (which is not imported)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelError("the wordllama package is not installed: routing needs its bundled model")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / _WEIGHTS_FILE, root / _TOKENIZER_FILE


@functools.cache
def shared_embedder() -> Embedder:
    """The process's embedder, read once from the files inside the wordllama wheel (no download)."""
    return load_embedder(*model_files())


def load_embedder(weights: Path, tokenizer_config: Path) -> Embedder:
    """An embedder over a safetensors token table and a tokenizers configuration file.

    The files are read with their own libraries rather than through `wordllama.WordLlama.load`: importing
    wordllama brings requests and pydantic along, half a second of start-up that serving does not use.
    """
    from safetensors import safe_open
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_config))
        with safe_open(str(weights), framework="np") as tensors:
            table = tensors.get_tensor(_TABLE_TENSOR)
    except Exception as error:  # the Rust readers raise plain Exceptions for unreadable files
        raise EmbeddingModelError(
            f"cannot read the embedding model ({weights.name}, {tokenizer_config.name}): {error}"
        ) from error
    tokenizer.no_truncation()
    return Embedder(np.ascontiguousarray(table, dtype=np.float32), tokenizer)


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
