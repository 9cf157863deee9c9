"""Staged candidate input: the task input plus files earlier candidates wrote, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.application.run_search.staging import AttachError, remove, stage_input


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    task = tmp_path / "task" / "input"
    task.mkdir(parents=True)
    (task / "train.csv").write_text("id,y\n1,0\n")
    (task / "test.csv").write_text("id\n2\n")
    member = tmp_path / "nodes" / "a" / "working"
    member.mkdir(parents=True)
    (member / "oof.csv").write_text("row,p0\n0,0.5\n")
    secret = tmp_path / "sealed.csv"
    secret.write_text("the labels\n")
    sneaky = tmp_path / "nodes" / "b" / "working"
    sneaky.mkdir(parents=True)
    (sneaky / "oof.csv").symlink_to(secret)  # a candidate that tries to pass on a file it cannot read
    return {"task": task, "a": member, "b": sneaky, "root": tmp_path}


def test_attached_files_join_the_task_input(layout: dict[str, Path]) -> None:
    outputs = {"a": layout["a"], "b": layout["b"]}
    dest = stage_input(layout["task"], layout["root"] / "stage" / "n1",
                       {"members/a/oof.csv": ("a", "oof.csv"), "members/a/test_pred.csv": ("a", "test_pred.csv"),
                        "members/b/oof.csv": ("b", "oof.csv"), "members/c/oof.csv": ("c", "oof.csv")},
                       outputs.get)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["members/a/oof.csv", "test.csv", "train.csv"]  # missing, symlinked and unknown left out
    assert (dest / "members" / "a" / "oof.csv").read_text() == "row,p0\n0,0.5\n"
    assert not (dest / "members" / "a" / "oof.csv").is_symlink()
    assert (layout["task"] / "train.csv").read_text() == "id,y\n1,0\n"  # the task input is untouched
    remove(dest)
    assert not dest.exists()


@pytest.mark.parametrize("name", ["../escape.csv", "/abs.csv", "members/../../x", "", "train.csv"])
def test_bad_names_are_refused(layout: dict[str, Path], name: str) -> None:
    with pytest.raises(AttachError):
        stage_input(layout["task"], layout["root"] / "stage" / "n2", {name: ("a", "oof.csv")},
                    {"a": layout["a"]}.get)


def test_a_file_outside_the_members_working_folder_is_never_taken(layout: dict[str, Path]) -> None:
    with pytest.raises(AttachError):  # a relative path leaving the folder is refused outright
        stage_input(layout["task"], layout["root"] / "stage" / "n3", {"x.csv": ("a", "../oof.csv")},
                    {"a": layout["a"]}.get)
    linked = layout["a"] / "sub"
    linked.symlink_to(layout["b"])  # a symlinked folder on the way is refused too
    dest = stage_input(layout["task"], layout["root"] / "stage" / "n4", {"x.csv": ("a", "sub/oof.csv")},
                       {"a": layout["a"]}.get)
    assert not (dest / "x.csv").exists()
