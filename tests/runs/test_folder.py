"""Atomic writes (metarl.files) and the run folder's marker and overwrite rule (metarl.runs.folder)."""

import os
import shutil

import pytest

from metarl.checkpoint import save_checkpoint
from metarl.files import (
    FolderLockedError,
    atomic_write,
    atomic_write_text,
    hold_lock,
    remove_stale_temps,
    temp_target,
)
from metarl.runs.folder import LOCK, MARKER, RunFolder, RunFolderError, config_header


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
    assert temp_target(".last.pt.metarl-ab12_xyz.tmp") == "last.pt"
    for name in (
        "last.pt", ".last.pt", ".last.pt.short", "last.pt.metarl-ab12_xyz.tmp",
        ".last.pt.ab12_xyz.tmp", ".last.pt.metarl-ab12_xyz", ".x.metarl-ABCDEFGH.tmp",
        # names a user picks for backups: never taken for temporary files
        ".metrics.csv.20250101", ".config.yaml.backup01", ".last.pt.old_copy",
        ".eval.csv.20250101",
    ):
        assert temp_target(name) is None, name


def test_atomic_write_names_its_temporary_files_as_temp_target_reads_them(tmp_path):
    seen = []

    def write(file):
        seen.extend(os.listdir(tmp_path))
        file.write(b"x")

    atomic_write(tmp_path / "last.pt", write)
    assert [temp_target(name) for name in seen] == ["last.pt"]


def test_remove_stale_temps_deletes_only_temps_of_the_named_files(tmp_path):
    stale = [tmp_path / ".last.pt.metarl-k3j4h5g6.tmp", tmp_path / ".best.pt.metarl-k3j4h5g6.tmp"]
    kept = [
        tmp_path / "last.pt", tmp_path / ".notes.txt.metarl-k3j4h5g6.tmp", tmp_path / ".last.pt.bak",
        tmp_path / ".last.pt.old_copy", tmp_path / ".last.pt.20250101",
    ]
    for path in stale + kept:
        path.write_text("x")
    assert sorted(remove_stale_temps(tmp_path, ["last.pt", "best.pt"])) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


def _create(folder: RunFolder, overwrite: bool = False) -> str:
    """Claim ``folder`` for a new run (releasing its lock at once); returns the run id."""
    with folder.claim(overwrite) as run_id:
        return run_id


def _run_folder_with_foreign_files(root):
    folder = RunFolder(root)
    run_id = _create(folder)
    for path in (folder.metrics, folder.eval / "eval.json",
                 folder.tensorboard / "events.out.tfevents.1.host.2.0",
                 folder.baselines / "oracle.pt", folder.checkpoints / ".last.pt.metarl-abcdefgh.tmp"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("metarl")
    folder.config.write_text(config_header(run_id) + "seed: 0\n")
    for path in (folder.last, folder.best):
        save_checkpoint({"run_id": run_id}, path)
    foreign = [root / "notes.txt", folder.checkpoints / "mine.pt", folder.eval / "fig.pdf",
               root / "sub" / "data.bin", root / ".metrics.csv.20250101",
               folder.checkpoints / ".last.pt.old_copy", folder.eval / ".eval.csv.20250101"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user")
    return folder, foreign


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_overwrite_deletes_only_what_metarl_wrote(tmp_path):
    folder, foreign = _run_folder_with_foreign_files(tmp_path / "run")
    _create(folder, overwrite=True)
    assert _files(folder.root) == sorted(
        [MARKER, LOCK, *(p.relative_to(folder.root).as_posix() for p in foreign)]
    )
    assert all(p.read_text() == "user" for p in foreign)
    assert not folder.tensorboard.exists() and not folder.baselines.exists()


def test_overwrite_refuses_folders_metarl_did_not_create(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "notes.txt").write_text("thesis")
    (root / "config.yaml").write_text("name: x")
    with pytest.raises(RunFolderError, match=r"no \.metarl-run file"):
        _create(RunFolder(root), overwrite=True)
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml", "notes.txt"]


def test_overwrite_refuses_the_working_folder_and_its_parents(tmp_path, monkeypatch):
    folder, _ = _run_folder_with_foreign_files(tmp_path / "run")
    (folder.root / "sub").mkdir(exist_ok=True)
    monkeypatch.chdir(folder.root / "sub")
    for target in (".", "..", str(folder.root), str(tmp_path)):
        with pytest.raises(RunFolderError, match="current folder or one of its parents"):
            _create(RunFolder(target), overwrite=True)
    assert folder.config.read_text().endswith("seed: 0\n")


def test_a_new_run_needs_a_new_empty_or_metarl_folder(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RunFolderError, match="did not create"):
        _create(RunFolder(foreign))
    assert (foreign / "metrics.csv").read_text() == "a,b\n1,2\n"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="existing file"):
        _create(RunFolder(tmp_path / "file"))
    started = RunFolder(tmp_path / "started")
    _create(started)
    started.config.write_text("seed: 0\n")  # stopped before its first checkpoint
    with pytest.raises(RunFolderError, match="before its first checkpoint.*--overwrite"):
        _create(started)
    empty = RunFolder(tmp_path / "empty")
    empty.root.mkdir()
    _create(empty)
    assert empty.marker.is_file()


@pytest.mark.parametrize("linked", ["tb", "eval", "checkpoints", "baselines", "config.yaml"])
def test_metarl_never_deletes_or_writes_through_a_link_in_a_run_folder(tmp_path, linked):
    folder, _ = _run_folder_with_foreign_files(tmp_path / "run")
    shared = tmp_path / "shared"
    shared.mkdir()
    victims = [shared / "events.out.tfevents.9.other.1.0", shared / "eval.json", shared / "last.pt",
               shared / "oracle.pt", shared / "config.yaml"]
    for path in victims:
        path.write_text("another run's")
    link = folder.root / linked
    shutil.rmtree(link) if link.is_dir() else link.unlink()
    link.symlink_to(shared if linked != "config.yaml" else shared / "config.yaml")
    before = _files(folder.root)
    for attempt in (lambda: _create(folder, overwrite=True), lambda: _create(folder)):
        with pytest.raises(RunFolderError, match="symbolic link"):
            attempt()
    with pytest.raises(RunFolderError, match="symbolic link"), folder.locked():
        pass
    assert all(path.read_text() == "another run's" for path in victims)
    assert _files(folder.root) == before


def test_overwrite_deletes_nothing_where_the_marker_was_copied_in(tmp_path):
    run, _ = _run_folder_with_foreign_files(tmp_path / "run")
    user = RunFolder(tmp_path / "thesis")
    for path in (user.config, user.metrics, user.last, user.tensorboard / "events.out.tfevents.1"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user")
    shutil.copy(run.marker, user.marker)
    with pytest.raises(RunFolderError, match="not the config of the run"):
        _create(user, overwrite=True)
    user.config.write_text(run.config.read_text())  # even with the run's config copied too
    with pytest.raises(RunFolderError, match="belongs to another run"):
        _create(user, overwrite=True)
    user.config.unlink()
    with pytest.raises(RunFolderError, match="no config.yaml of the run"):
        _create(user, overwrite=True)
    user.marker.write_text("created by metarl train; --overwrite may replace its run\n")
    with pytest.raises(RunFolderError, match="names no run"):  # an older metarl's marker
        _create(user, overwrite=True)
    assert all(p.read_text() == "user" for p in (user.metrics, user.last))


def test_a_second_writer_of_a_run_folder_is_refused(tmp_path):
    folder, _ = _run_folder_with_foreign_files(tmp_path / "run")
    before = _files(folder.root)
    with hold_lock(folder.lock_file, "a test"):
        with pytest.raises(FolderLockedError, match="another metarl process"):
            _create(RunFolder(folder.root), overwrite=True)
        with pytest.raises(FolderLockedError), RunFolder(folder.root).locked():
            pass
    assert _files(folder.root) == before
    _create(folder, overwrite=True)  # free again once the holder is done


def test_a_folder_left_with_only_its_lock_counts_as_empty(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.root.mkdir()
    with hold_lock(folder.lock_file, "a test"):
        pass
    _create(folder)
    assert folder.marker.is_file()
