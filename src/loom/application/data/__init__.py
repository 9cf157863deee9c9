"""Use-cases of the data side: ingest a data object, browse datasets/runs/cards."""

from loom.application.data.browse import Browse
from loom.application.data.ingest import Ingest, require_data_store

__all__ = ["Browse", "Ingest", "require_data_store"]
