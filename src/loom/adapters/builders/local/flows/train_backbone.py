"""TrainBackbone (local builder): one capability of the CPU PPMI+SVD builder, as a Metaflow run.

Static flow: the dataset enters as a pathspec parameter and is read with the Client API; the
result (vocabulary, tokenizer, backbone embeddings, fingerprint, manifest, plan, metrics, and
per capability the entity embeddings or the head) is stored as artifacts of this run, with a
card showing the plan, the fingerprint and the lift.
"""

import json

from metaflow import FlowSpec, Parameter, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


def _read_run(pathspec, names):
    from metaflow import Run, namespace

    from loom.domain.errors import UsageError  # reported by Loom as bad input (exit 2)

    namespace(None)
    data = Run(pathspec).data
    if data is None:
        raise UsageError(f"{pathspec} did not finish; it has no artifacts to read")
    return {name: getattr(data, name) for name in names if name in data}


class TrainBackbone(FlowSpec):
    dataset = Parameter("dataset", help="IngestDataset/N pathspec of the event data")
    capability = Parameter("capability", default="pretrain", help="tokenize|pretrain|embed|finetune|evaluate")
    objective = Parameter("objective", default="next-event", help="next-event|masked-field|contrastive")
    budget = Parameter("budget", default="probe", help="probe|small|full")
    backbone = Parameter("backbone", default="", help="TrainBackbone/N to reuse (embed/finetune/evaluate)")
    metric = Parameter("metric", default="", help="metric for finetune/evaluate")
    entity_column = Parameter("entity-column", default="", help="entity id column (empty: detect)")
    time_column = Parameter("time-column", default="", help="timestamp column (empty: detect)")
    seed = Parameter("seed", default=0, type=int, help="random seed")
    holdout = Parameter("holdout", default=0.2, type=float, help="sealed split share of entities")
    plan_json = Parameter("plan-json", default="{}", help="the cost plan shown by the gate (JSON)")
    manifest_json = Parameter("manifest-json", default="{}", help="the builder manifest (JSON)")

    @step
    def start(self):
        from loom.adapters.builders.local.pipeline import build

        from loom.domain.errors import UsageError  # reported by Loom as bad input (exit 2)

        data = _read_run(self.dataset, ["train", "test", "schema", "fingerprint"])
        if "train" not in data:
            raise UsageError(f"{self.dataset} is not a dataset (it has no 'train' table)")
        source = None
        if self.backbone:
            source = _read_run(self.backbone, ["columns", "tokenizer", "trained_objective",
                                               "settings", "embeddings", "fingerprint", "head"])
            if "tokenizer" not in source or "embeddings" not in source:
                raise UsageError(f"{self.backbone} is not a backbone built by the local builder")
            source["objective"] = source.pop("trained_objective")
        out = build(
            data["train"], data.get("schema") or {}, test=data.get("test"),
            capability=self.capability, objective=self.objective, budget=self.budget,
            seed=self.seed, holdout=self.holdout, metric=self.metric or None,
            entity=self.entity_column or None, time_col=self.time_column or None, source=source,
        )
        self.plan = json.loads(self.plan_json)
        self.manifest = json.loads(self.manifest_json)
        self.dataset_fingerprint = data.get("fingerprint")
        self.source_backbone = self.backbone or None
        self.trained_objective = out.pop("objective")
        for name in ("capability", "budget"):  # parameters already
            out.pop(name)
        for name, value in out.items():
            setattr(self, name, value)
        self.fingerprint = out.get("fingerprint")
        self._render_card().save()
        self.next(self.end)

    def _render_card(self):
        from metaflow.cards import Markdown, Table

        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        c = StepCard("train")
        c.append(Markdown(f"# TrainBackbone: {lit(self.capability)} ({lit(self.trained_objective)}, {lit(self.budget)})"))
        c.append(Markdown(f"Dataset {lit(self.dataset)}" + (f", backbone {lit(self.backbone)}" if self.backbone else "")))
        p = self.plan
        c.append(Markdown("## Plan"))
        c.append(Table([[p.get("builder"), p.get("gpus"), p.get("hours"), p.get("gpu_hours"),
                         f"${p.get('usd', 0)}", p.get("posture")]],
                       headers=["builder", "GPUs", "hours", "GPU-hours", "USD", "posture"]))
        c.append(Markdown(f"## Fingerprint\n{lit(self.fingerprint or '-')}"))
        m = self.metrics
        c.append(Markdown("## Metrics"))
        c.append(Table([[k, v] for k, v in m.items()], headers=["metric", "value"]))
        if "lift" in m:
            metric = m.get("metric")
            c.append(Markdown(
                f"**Lift** on the sealed split: {m['lift']:+.4f} {lit(metric)} "
                f"(backbone {lit(m.get(metric))} vs raw-feature baseline {lit(m.get('baseline_' + metric))})"))
        return c

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TrainBackbone()
