"""TrainBackbone (GPU): one training recipe run on a GPU step that Metaflow schedules.

Static flow, copied next to the plan by `loom train` and launched with
`python train_backbone.py --config plan plan.json run --dataset IngestDataset/N [--with kubernetes|batch]`.
The plan (a Metaflow Config, persisted with the run) carries the resources, the recipe mapping
and the training command; the `train` step carries @resources(gpu=...) from it. The step reads
the dataset with the Client API, writes the token shards / event pairs the recipe reads, runs
the training command, and stores the produced checkpoint as the artifact `checkpoint`
({relative path: bytes}) with its sha256 `fingerprint`. The GPU image needs loom and the
training toolkit installed.
"""

import json

from metaflow import Config, FlowSpec, Parameter, card, config_expr, current, resources, step

DEFAULT_PLAN = {
    "resources": {"gpus": 1, "cpu": 8, "memory_mb": 65536},
    "plan": {},
    "recipe": {},
    "train_command": ["automodel", "recipe.yaml", "--nproc-per-node", "1"],
    "objective": "next-event",
    "budget": "probe",
    "seed": 0,
}


class TrainBackbone(FlowSpec):
    plan = Config("plan", default_value=DEFAULT_PLAN, help="the plan written by `loom train` (plan.json)")
    dataset = Parameter("dataset", help="IngestDataset/N pathspec of the event data", required=True)

    @step
    def start(self):
        """Record the plan and the resources the GPU step asks Metaflow for."""
        self.cost_plan = self.plan["plan"].to_dict()
        deco = next((d for d in getattr(self.train, "decorators", []) if d.name == "resources"), None)
        self.requested_resources = {k: deco.attributes.get(k) for k in ("gpu", "cpu", "memory")} if deco else {}
        self.next(self.train)

    @card(type="blank", id="train")
    @resources(
        gpu=config_expr("plan.resources.gpus"),
        cpu=config_expr("plan.resources.cpu"),
        memory=config_expr("plan.resources.memory_mb"),
    )
    @step
    def train(self):
        """Events -> token shards/pairs -> the training command -> the checkpoint artifact."""
        import hashlib
        import shutil
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        import yaml
        from metaflow import Run, namespace

        from loom.adapters.builders.local.pipeline import LOCAL_BUDGETS, event_frame
        from loom.adapters.builders.local.tokenizer import detect_columns, fit_tokenizer, sequences, vocabulary
        from loom.adapters.builders.nemo.data_prep import write_pairs, write_shards

        namespace(None)
        data = Run(self.dataset).data
        schema = data.schema or {}
        settings = LOCAL_BUDGETS[self.plan["budget"]]
        columns = detect_columns(data.train, schema.get("target"), self.plan.get("entity"), self.plan.get("time"))
        events = event_frame(data.train, getattr(data, "test", None), columns.entity)
        per_field = 32_000 // max(1, len(columns.fields))  # the ids must fit the recipe's vocabulary
        self.tokenizer = fit_tokenizer(events, columns, settings["n_buckets"], per_field)
        self.vocab = vocabulary(self.tokenizer)
        seqs = sequences(events, columns, self.tokenizer)
        work = Path(tempfile.mkdtemp(prefix="loom-train-"))  # one per task: concurrent runs never collide
        if self.plan["objective"] == "contrastive":
            self.data_stats = {"pairs": write_pairs(seqs, self.vocab, work / "data" / "event_pairs.jsonl")}
        else:
            self.data_stats = write_shards(seqs, work / "data", 0.05, int(self.plan["seed"]))
        recipe = self.plan["recipe"].to_dict()  # a Metaflow ConfigValue -> plain dict
        (work / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
        command = list(self.plan["train_command"])
        if not shutil.which(command[0]) and Path(sys.executable).with_name(command[0]).exists():
            command[0] = str(Path(sys.executable).with_name(command[0]))  # the step's own env
        proc = subprocess.run(command, cwd=work)
        if proc.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(f"training command failed with exit code {proc.returncode}")
        checkpoint = {}
        digest = hashlib.sha256()
        for path in sorted((work / "checkpoints").rglob("*")):
            if path.is_file():
                rel = str(path.relative_to(work / "checkpoints"))
                checkpoint[rel] = path.read_bytes()
                digest.update(rel.encode() + checkpoint[rel])
        self.checkpoint = checkpoint
        shutil.rmtree(work, ignore_errors=True)
        self.fingerprint = digest.hexdigest()
        from metaflow.cards import Markdown

        from loom.adapters.shared.card_text import lit

        p = self.cost_plan
        current.card["train"].append(Markdown(
            f"# TrainBackbone ({lit(self.plan['objective'])}, {lit(self.plan['budget'])})\n\n"
            f"plan: {lit(p.get('gpus'))} GPU x {lit(p.get('hours'))} h, {lit('$' + str(p.get('usd')))}\n\n"
            f"fingerprint {lit(self.fingerprint)} · {len(checkpoint)} checkpoint files · {lit(json.dumps(self.data_stats))}"))
        self.next(self.end)

    @step
    def end(self):
        """The checkpoint is an artifact of this run: TrainBackbone/<id>."""


if __name__ == "__main__":
    TrainBackbone()
