"""A combining best as one file that runs alone: its members' code first, then its own.

An ensemble candidate reads its members' predictions from ./input/<name> (the session staged them
there: `staging`). Its code alone cannot run anywhere else: best_solution.py, `loom validate
--solution RUN` and `loom deploy` ran it without them ("ensemble: no member predictions").
`code_of` wraps it: the file embeds each member's code, runs each in its own folder under
./working (./input linked, read-only), stages the files the combination was handed, runs the
combination, and leaves its ./working outputs (submission.csv, ...) in ./working. Members that
the combination weighted 0 are left out, as the refit leaves them (`refit.weighted_members`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loom.application.run_search.session import RunSession
    from loom.domain.search import Node

_RUNNER = '''

def _run(code, root, quiet):
    import subprocess
    import sys

    (root / "working").mkdir(parents=True, exist_ok=True)
    (root / "solution.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "solution.py"], cwd=root, text=True,
                          stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None)
    if done.returncode != 0:
        if quiet:
            print(done.stdout[-4000:])
        raise SystemExit(f"{root.name}: exit code {done.returncode}")


def main():
    import shutil
    from pathlib import Path

    here = Path.cwd()
    source, work = (here / "input").resolve(), here / "working"
    stage = work / ".loom_members"
    shutil.rmtree(stage, ignore_errors=True)
    for node_id, code in MEMBERS.items():  # each in its own folder: ./input shared, ./working its own
        folder = stage / node_id
        folder.mkdir(parents=True)
        (folder / "input").symlink_to(source, target_is_directory=True)
        _run(code, folder, quiet=True)
    combine = stage / "combine"
    (combine / "input").mkdir(parents=True)
    for entry in source.iterdir():
        (combine / "input" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for name, (node_id, file) in ATTACH.items():
        found = stage / node_id / "working" / file
        if found.is_file():
            dest = combine / "input" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, dest)
    _run(COMBINE, combine, quiet=False)
    for entry in (combine / "working").iterdir():
        if entry.is_file():
            shutil.copyfile(entry, work / entry.name)
    shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    main()
'''


def code_of(session: "RunSession", best: "Node", depth: int = 0) -> str:
    """`best.code`, or, for a combination whose members this session ran, the file that runs them
    and it (a member that itself combines others is wrapped the same way)."""
    from loom.application.run_search.refit import weighted_members

    attach = session.attachments.get(best.id) or {}
    if not attach or depth > 3:
        return best.code
    used = weighted_members(session.node_outputs(best.id))
    if used is not None:
        attach = {name: src for name, src in attach.items() if src[0] in used}
    by_id = {n.id: n for n in session.nodes()}
    members = {nid: by_id[nid] for nid in dict.fromkeys(nid for nid, _ in attach.values()) if nid in by_id}
    if len(members) < len({nid for nid, _ in attach.values()}):
        return best.code  # a member from before a --resume: its code is unknown
    codes = {nid: code_of(session, member, depth + 1) for nid, member in members.items()}
    header = (f'"""Loom: candidate {best.id} combines the predictions of {len(codes)} other candidates; this file\n'
              f"runs them first (each in ./working/.loom_members/<node id>), then the combination.\n"
              f'Run it like any solution: `python best_solution.py` next to ./input and ./working."""\n\n')
    return (header + f"MEMBERS = {codes!r}\n\nATTACH = {dict(attach)!r}\n\nCOMBINE = {best.code!r}\n"
            + _RUNNER)
