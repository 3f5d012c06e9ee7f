"""Routing: hybrid stage 1 (typed terms, BM25, static embeddings), stage 2 (Gemini or offline), evaluation."""

import os

# The routing indexes multiply small matrices per query and per registration; a BLAS thread pool only adds
# contention there (ten times slower on a busy two-core machine). Set before numpy loads; an operator's
# explicit setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
