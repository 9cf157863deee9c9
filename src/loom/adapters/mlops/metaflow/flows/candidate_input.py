"""CandidateInput: the prepared ./input of one search, stored once as a data object.

Artifact `files` = {relative path: bytes}. CandidateRun materializes it inside its step, so a
candidate runs the same locally or remotely (`--with kubernetes`).
"""

from metaflow import FlowSpec, Parameter, step

from loom.adapters.shared.fast_exit import install as _fast_exit

_fast_exit()  # no final GC sweep at exit: ~0.3 s per flow process (fast_exit.py)


class CandidateInput(FlowSpec):
    input_dir = Parameter("input-dir", help="The prepared candidate input directory", required=True)
    search_run = Parameter("search-run", help="The search run this input belongs to", default="")

    @step
    def start(self):
        from pathlib import Path

        root = Path(self.input_dir)
        self.files = {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }
        self.total_bytes = sum(len(b) for b in self.files.values())
        print(f"loom-progress: stored {len(self.files)} input files ({self.total_bytes / 1e6:.1f} MB)")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CandidateInput()
