"""The GPU builder: lowers a training intent to a recipe; Metaflow launches it on GPUs.

Importing this package imports neither the training toolkit nor metaflow nor torch.
"""

from loom.adapters.builders.nemo.adapter import NemoBuilder

__all__ = ["NemoBuilder"]
