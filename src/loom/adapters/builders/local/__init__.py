"""The local builder: PPMI + truncated SVD on CPU (torch-free, deterministic, seconds).

Importing this package imports no numpy/scipy/sklearn/metaflow; they load when a build runs.
"""

from loom.adapters.builders.local.adapter import PpmiSvdBuilder

__all__ = ["PpmiSvdBuilder"]
