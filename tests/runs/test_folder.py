"""Atomic writes (metarl.files) and the run folder's marker and overwrite rule (metarl.runs.folder)."""

import os

import pytest

from metarl.files import atomic_write, atomic_write_text, remove_stale_temps, temp_target
from metarl.runs.folder import MARKER, RunFolder, RunFolderError


def test_atomic_write_keeps_the_old_file_and_no_temp_on_error(tmp_path):
    path = tmp_path / "metrics.csv"
    atomic_write_text(path, "old")

    def failing(file):
        file.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(path, failing)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.csv"]


def test_only_metarl_temp_files_count_as_stale():
    assert temp_target(".last.pt.ab12_xyz.tmp") == "last.pt"
    assert temp_target(".last.pt.ab12_xyz") == "last.pt"  # written by metarl before .tmp
    for name in ("last.pt", ".last.pt", ".last.pt.short", "last.pt.ab12_xyz.tmp", ".x.ABCDEFGH"):
        assert temp_target(name) is None, name


def test_remove_stale_temps_deletes_only_temps_of_the_named_files(tmp_path):
    stale = [tmp_path / ".last.pt.k3j4h5g6", tmp_path / ".best.pt.k3j4h5g6.tmp"]
    kept = [tmp_path / "last.pt", tmp_path / ".notes.txt.k3j4h5g6.tmp", tmp_path / ".last.pt.bak"]
    for path in stale + kept:
        path.write_text("x")
    assert sorted(remove_stale_temps(tmp_path, ["last.pt", "best.pt"])) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


def _run_folder_with_foreign_files(root):
    folder = RunFolder(root)
    folder.create()
    for path in (folder.config, folder.metrics, folder.last, folder.best, folder.eval / "eval.json",
                 folder.tensorboard / "events.out.tfevents.1.host.2.0",
                 folder.baselines / "oracle.pt", folder.checkpoints / ".last.pt.abcdefgh.tmp"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("metarl")
    foreign = [root / "notes.txt", folder.checkpoints / "mine.pt", folder.eval / "fig.pdf",
               root / "sub" / "data.bin"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user")
    return folder, foreign


def test_overwrite_deletes_only_what_metarl_wrote(tmp_path):
    folder, foreign = _run_folder_with_foreign_files(tmp_path / "run")
    folder.create(overwrite=True)
    left = sorted(p.relative_to(folder.root).as_posix() for p in folder.root.rglob("*") if p.is_file())
    assert left == sorted([MARKER, "checkpoints/mine.pt", "eval/fig.pdf", "notes.txt", "sub/data.bin"])
    assert all(p.read_text() == "user" for p in foreign)
    assert not folder.tensorboard.exists() and not folder.baselines.exists()


def test_overwrite_refuses_folders_metarl_did_not_create(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "notes.txt").write_text("thesis")
    (root / "config.yaml").write_text("name: x")
    with pytest.raises(RunFolderError, match=r"no \.metarl-run file"):
        RunFolder(root).create(overwrite=True)
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml", "notes.txt"]


def test_overwrite_refuses_the_working_folder_and_its_parents(tmp_path, monkeypatch):
    folder, _ = _run_folder_with_foreign_files(tmp_path / "run")
    (folder.root / "sub").mkdir(exist_ok=True)
    monkeypatch.chdir(folder.root / "sub")
    for target in (".", "..", str(folder.root), str(tmp_path)):
        with pytest.raises(RunFolderError, match="current folder or one of its parents"):
            RunFolder(target).create(overwrite=True)
    assert folder.config.read_text() == "metarl"


def test_a_new_run_needs_a_new_empty_or_metarl_folder(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RunFolderError, match="did not create"):
        RunFolder(foreign).create()
    assert (foreign / "metrics.csv").read_text() == "a,b\n1,2\n"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="existing file"):
        RunFolder(tmp_path / "file").create()
    started = RunFolder(tmp_path / "started")
    started.create()
    started.config.write_text("seed: 0\n")  # stopped before its first checkpoint
    with pytest.raises(RunFolderError, match="before its first checkpoint.*--overwrite"):
        started.create()
    empty = RunFolder(tmp_path / "empty")
    empty.root.mkdir()
    empty.create()
    assert empty.marker.is_file()
