"""DeployFlow: stage a deployment — the manifest (model ref, lineage, metric, gate) — no side effect.

The gate was decided before this flow runs (only an ALLOW gets here); the flow records the
manifest as an artifact and as `<out-dir>/DeployFlow-<id>/manifest.json`, with a card.
Artifacts: manifest, manifest_path, gate, reasons.
"""

from metaflow import FlowSpec, Parameter, current, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class DeployFlow(FlowSpec):
    manifest_json = Parameter("manifest", help="The manifest to stage (JSON)", default="")
    manifest_file = Parameter("manifest-file", help="A file holding the manifest (JSON): a solution's code may "
                              "exceed what one command-line argument holds", default="")
    out_dir = Parameter("out-dir", help="Where staged manifests live", required=True)

    @step
    def start(self):
        import json
        from datetime import datetime, timezone
        from pathlib import Path

        from metaflow.cards import Markdown

        from loom.adapters.mlops.metaflow.lifecycle import flowkit as fk
        from loom.adapters.shared.card_text import lit
        from loom.adapters.shared.metaflow_card import StepCard

        m = json.loads(Path(self.manifest_file).read_text(encoding="utf-8") if self.manifest_file else self.manifest_json)
        m["deployment"] = f"{current.flow_name}/{current.run_id}"
        m["staged_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        m["lineage"] = [*m.get("lineage", []), m["deployment"]]
        out = Path(self.out_dir) / f"{current.flow_name}-{current.run_id}"
        out.mkdir(parents=True, exist_ok=True)
        (out / "manifest.json").write_text(json.dumps(m, indent=2, default=str))
        self.manifest, self.manifest_path = m, str(out / "manifest.json")
        self.gate, self.reasons = m.get("gate"), m.get("gate_reasons", [])
        card = StepCard("deploy")
        card.append(Markdown(f"# Deployment plan {lit(m['deployment'])}\n\n"
                             f"solution {lit(m['solution'])} · trained on {lit(m['dataset'])} · target {lit(m['target'])}"))
        card.append(Markdown(fk.verdict_md(str(self.gate), list(self.reasons))))
        card.append(fk.markdown_table(
            [[k, m.get(k)] for k in ("validate_run", "verdict", "metric", "holdout_score", "task_type", "staged_at")],
            ["field", "value"]))
        card.append(Markdown("lineage: " + " -> ".join(lit(x) for x in m["lineage"])))
        card.save()
        self.next(self.end)

    @step
    def end(self):
        print(f"loom-deploy: {self.manifest_path}")


if __name__ == "__main__":
    DeployFlow()
