"""A Metaflow card built and stored inside the step's own process: `StepCard`.

`@card` renders in separate `python flow.py card create` processes after the task: for a blank
card two of them (the final render and the final runtime-data refresh), each re-importing
Metaflow and the flow, about a second per step on a 2-core machine (bench/metaflow_overhead.py).
A StepCard renders the same components with Metaflow's own BlankCard renderer in the step, stores
the HTML through Metaflow's card datastore at the path `@card` would use (the local `mf.cards`
folder, or `<sysroot>/mf.cards` on S3), and registers the same `card-info` metadata. So
`metaflow card view`, `metaflow.cards.get_cards(task)`, the Metaflow UI and `loom card` find it
like any other card, on any datastore, for local and remote (`--with kubernetes`) steps alike.

Used from a step:

    card = StepCard("eda")
    card.append(Markdown("# EDA"))
    ...
    card.save()          # once, at the end of the step (a failed step leaves no card, as @card)

Runs inside flows only (imports metaflow inside its methods).
"""

from __future__ import annotations

import json
import sys
import uuid
from types import SimpleNamespace
from typing import Any

#: The card type the stored file is named after (what `@card(type="blank")` writes).
CARD_TYPE = "blank"


class StepCard:
    """The components of one card of the running task, rendered and stored by `save()`."""

    def __init__(self, card_id: str, title: str = "") -> None:
        self.card_id = card_id
        self.title = title
        self.components: list[Any] = []

    def append(self, component: Any) -> None:
        self.components.append(component)

    def extend(self, components: Any) -> None:
        self.components.extend(components)

    def render(self, pathspec: str) -> str:
        """The self-contained HTML page (Metaflow's BlankCard, as `card create` renders it)."""
        from metaflow.plugins.cards.card_modules.basic import BlankCard, SectionComponent

        rendered = [obj for obj in (_render(c) for c in self.components) if obj is not None]
        if rendered:  # what current.card does with user components: one section around them
            rendered = [SectionComponent(contents=rendered).render()]
        card = BlankCard(options={"title": self.title}, components=rendered, graph=None)
        html = card.render(SimpleNamespace(pathspec=pathspec))
        return html.replace(BlankCard.RELOAD_POLICY_TOKEN, "final")

    def save(self) -> str | None:
        """Store the card of the current task; returns its file name (None when it could not be stored).

        As with @card, a card that fails to render or store never fails the step: one line on stderr.
        """
        try:
            return self._save()
        except Exception as exc:  # noqa: BLE001 - the run's artifacts matter more than its card
            print(f"loom-card: card '{self.card_id}' not stored: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None

    def _save(self) -> str:
        from metaflow import current
        from metaflow.datastore.flow_datastore import FlowDataStore
        from metaflow.metadata_provider import MetaDatum
        from metaflow.plugins import DATASTORES
        from metaflow.plugins.cards.card_datastore import CardDatastore
        from metaflow.system_context import system_context

        html = self.render(current.pathspec)
        flow_ds = system_context.flow_datastore
        storage = next(d for d in DATASTORES if d.TYPE == flow_ds.TYPE)
        card_root = CardDatastore.get_storage_root(flow_ds.TYPE)  # where `card create` writes
        cards = CardDatastore(FlowDataStore(current.flow_name, storage_impl=storage, ds_root=card_root),
                              pathspec=current.pathspec)
        card_uuid = uuid.uuid4().hex
        info = cards.save_card(card_uuid, CARD_TYPE, html, card_id=self.card_id)
        meta = {"card_uuid": card_uuid, "rank": None, "type": CARD_TYPE, "options": {"title": self.title},
                "is_editable": True, "is_runtime_card": False, "refresh_interval": None, "customize": False,
                "id": self.card_id}
        metadata = system_context.metadata
        if metadata is not None:  # the `card-info` entry @card registers (read by the Metaflow UI)
            attempt = system_context.retry_count or 0
            metadata.register_metadata(current.run_id, current.step_name, current.task_id, [
                MetaDatum(field=card_uuid, value=json.dumps(meta), type="card-info", tags=[f"attempt_id:{attempt}"]),
            ])
        return str(info.filename)


def _render(component: Any) -> Any:
    """One component as the dict/str the card page embeds (None when it cannot render)."""
    try:
        obj = component.render()
    except Exception:  # noqa: BLE001 - as Metaflow does: a broken component is left out, not fatal
        return None
    if isinstance(obj, (str, dict)):
        try:
            json.dumps(obj)
        except (TypeError, ValueError):
            return None
        return obj
    return None
