"""The run folder: its paths, the marker that proves metarl made it, its lock, and what metarl may
delete.

``train`` writes the marker ``.metarl-run`` before anything else. The marker names the run (a
random run id), which the run's ``config.yaml`` (its first line) and checkpoints repeat. Only a
folder holding a marker is ever cleared (``--overwrite``), only when its config and checkpoints
name the marker's run, and then only of the files metarl writes there (:data:`OWNED`); anything
else in it stays. metarl never writes or deletes through a symbolic link in a run folder, and one
process at a time writes a run (the lock file ``.metarl-lock``, held for the whole run).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from metarl.files import atomic_write_text, hold_lock, remove_stale_temps, temp_target

__all__ = ["LOCK", "MARKER", "OWNED", "RunFolder", "RunFolderError", "config_header"]

MARKER = ".metarl-run"
"""Name of the file that marks a folder as made by ``metarl train`` and names its run."""
LOCK = ".metarl-lock"
"""Name of the lock file of a run folder (and of an evaluation's output folder)."""

EVALUATION_FILES = ("eval.json", "eval.csv", "adaptation.png")
"""What ``metarl evaluate`` writes in its folder (``eval/<split>``)."""

OWNED: dict[str, tuple[str, ...]] = {
    ".": ("config.yaml", "metrics.csv"),
    "checkpoints": ("last.pt", "best.pt"),
    "tb": ("events.out.tfevents.*",),
    **{f"eval/{split}": EVALUATION_FILES for split in ("test", "test-ood")},
    "eval": EVALUATION_FILES,  # written there by metarl before one folder per split
    "baselines": tuple(
        f"{kind}.{ext}" for kind in ("pretrained", "oracle", "rl2") for ext in ("pt", "json", "zip")
    ),
}
"""Subfolder -> glob patterns of the files metarl writes there (``.``: the run folder itself)."""

_HEADER = "# metarl run {run_id}: the resolved config of this run, written by metarl train\n"


def config_header(run_id: str | None) -> str:
    """The first line of a run's ``config.yaml`` (a YAML comment naming the run), or ``""``
    for a run without an id (a run folder made by an older metarl)."""
    return _HEADER.format(run_id=run_id) if run_id else ""


class RunFolderError(FileExistsError):
    """A folder cannot be used for a new run, or cannot be overwritten."""


class RunFolder:
    """Paths of a run folder (see :mod:`metarl.runs.train` for its layout)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.marker = self.root / MARKER
        self.lock_file = self.root / LOCK
        self.config = self.root / "config.yaml"
        self.metrics = self.root / "metrics.csv"
        self.tensorboard = self.root / "tb"
        self.checkpoints = self.root / "checkpoints"
        self.last = self.checkpoints / "last.pt"
        self.best = self.checkpoints / "best.pt"
        self.eval = self.root / "eval"
        self.baselines = self.root / "baselines"

    def holds_run(self) -> bool:
        """Whether a run was started here (its config or metrics or a checkpoint exists)."""
        return any(p.exists() for p in (self.config, self.metrics, self.last, self.best))

    def run_id(self) -> str | None:
        """The run id the marker names; ``None`` without a marker, or for a marker written by an
        older metarl (which named no run)."""
        try:
            data = json.loads(self.marker.read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        run_id = data.get("run_id") if isinstance(data, dict) else None
        return run_id if isinstance(run_id, str) and run_id else None

    def check_links(self) -> None:
        """Refuse a run folder in which metarl would write or delete through a symbolic link.

        Raises:
            RunFolderError: the folder, one of its subfolders of :data:`OWNED` or one of the
                files metarl writes there is a symbolic link.
        """
        paths = [self.root, self.marker, self.lock_file, *(self.root / sub for sub in OWNED)]
        links = [path for path in [*paths, *self._owned_entries()] if path.is_symlink()]
        if links:
            raise RunFolderError(
                f"{links[0]} is a symbolic link; metarl never writes or deletes through a link "
                "in a run folder: replace it with a real folder or file, or choose another --out"
            )

    @contextmanager
    def claim(self, overwrite: bool = False) -> Iterator[str]:
        """Claim ``root`` for a new run and hold its lock for the ``with`` block; yields the new
        run's id. ``root`` must be a new or empty folder, or a run folder metarl made
        (``overwrite`` first deletes that run's files). Writes the marker.

        Raises:
            RunFolderError: ``root`` is a file or a link, holds a run (without ``overwrite``), is
                a non-empty folder without the marker, or (``overwrite``) holds files of another
                run than the marker's.
            FolderLockedError: another metarl process is writing ``root``.
        """
        self._check_claim(overwrite)  # before anything is written
        self.root.mkdir(parents=True, exist_ok=True)
        with hold_lock(self.lock_file, f"the run folder {self.root}"):
            self._check_claim(overwrite)  # again, now that no other process can change it
            remove_stale_temps(self.root, [MARKER])  # a run killed while writing its marker
            if overwrite and self.marker.is_file():
                self.clear()
            run_id = uuid.uuid4().hex
            atomic_write_text(
                self.marker,
                json.dumps({"run_id": run_id, "written_by": "metarl train"}) + "\n",
            )
            yield run_id

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock of an existing run folder for the ``with`` block (``--resume``).

        Raises:
            RunFolderError: the folder holds a symbolic link metarl would write through.
            FolderLockedError: another metarl process is writing it.
        """
        self.check_links()
        with hold_lock(self.lock_file, f"the run folder {self.root}"):
            self.check_links()
            yield

    def _check_claim(self, overwrite: bool) -> None:
        if self.root.is_symlink() or (self.root.exists() and not self.root.is_dir()):
            raise RunFolderError(
                f"--out {self.root} is an existing file or link; choose a new folder"
            )
        if not self.root.exists():
            return
        if overwrite:
            self._check_not_working_folder()
        self.check_links()
        if self.marker.is_file():
            if overwrite:
                self._check_overwrite()
            elif self.last.is_file():
                raise RunFolderError(
                    f"{self.root} already holds a run; continue it with --resume {self.root}, "
                    "start it over with --overwrite, or choose another --out"
                )
            elif self.holds_run():
                raise RunFolderError(
                    f"{self.root} already holds a run that stopped before its first checkpoint; "
                    "start it over with --overwrite, or choose another --out"
                )
        elif any(  # what a run killed while claiming the folder leaves does not count
            entry.name != LOCK and temp_target(entry.name) != MARKER
            for entry in self.root.iterdir()
        ):
            raise RunFolderError(self._foreign(overwrite))

    def _foreign(self, overwrite: bool) -> str:
        """Why a non-empty folder without the marker is refused."""
        if overwrite:
            return (
                f"--overwrite refuses {self.root}: metarl did not create it (no {MARKER} file), "
                "so it may hold files that are not a run's; choose another --out"
            )
        return (
            f"--out {self.root} is a non-empty folder that metarl did not create (no {MARKER} "
            "file); choose a new or empty folder"
        )

    def _owned_entries(self) -> list[Path]:
        """The entries named as :data:`OWNED` says (temporary files of their writes included), in
        the subfolders that are real folders, not links."""
        found = []
        for sub, patterns in OWNED.items():
            folder = self.root / sub
            if folder.is_dir() and not folder.is_symlink():
                found += [
                    entry for entry in folder.iterdir()
                    if any(fnmatch(temp_target(entry.name) or entry.name, p) for p in patterns)
                ]
        return found

    def _owned_files(self) -> list[Path]:
        """The files among :meth:`_owned_entries` (callers have refused links already)."""
        return [entry for entry in self._owned_entries() if entry.is_file()]

    def _check_not_working_folder(self) -> None:
        resolved = self.root.resolve()
        cwd = Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise RunFolderError(
                f"--overwrite refuses {self.root}: it is the current folder or one of its parents"
            )

    def _check_overwrite(self) -> None:
        """Refuse ``--overwrite`` unless the run files here belong to the run the marker names."""
        self._check_not_working_folder()
        refuse = f"--overwrite refuses {self.root}:"
        run_id = self.run_id()
        if run_id is None:
            raise RunFolderError(
                f"{refuse} its {MARKER} names no run (it was written by an older metarl or copied "
                "from elsewhere); delete the run's files yourself or choose another --out"
            )
        if self.config.is_file():
            with open(self.config, encoding="utf-8", errors="replace") as file:
                first = file.readline()
            if first != config_header(run_id):
                raise RunFolderError(
                    f"{refuse} {self.config} is not the config of the run {MARKER} names "
                    f"({run_id}); metarl deletes only its own run's files"
                )
        elif any(temp_target(path.name) is None for path in self._owned_files()):
            raise RunFolderError(
                f"{refuse} it holds run files but no config.yaml of the run {MARKER} names "
                f"({run_id}); metarl deletes only its own run's files"
            )
        for path in (self.last, self.best):
            if path.is_file() and checkpoint_run_id(path) != run_id:
                raise RunFolderError(
                    f"{refuse} {path} belongs to another run than the one {MARKER} names "
                    f"({run_id}); metarl deletes only its own run's files"
                )

    def clear(self) -> None:
        """Delete the files metarl wrote here (:data:`OWNED`), keeping the marker and anything
        else, after checking that they are this run's; links are never followed or deleted.

        Raises:
            RunFolderError: ``root`` is the working folder or one of its parents, lacks the
                marker, names no run, holds another run's files or a symbolic link.
        """
        if not self.root.exists() or not any(self.root.iterdir()):
            return
        if not self.marker.is_file():
            raise RunFolderError(self._foreign(overwrite=True))
        self.check_links()
        self._check_overwrite()
        for path in self._owned_files():
            path.unlink()
        for sub in OWNED:
            folder = self.root / sub
            if sub != "." and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def remove_temps(self, *subfolders: str) -> None:
        """Delete the temporary files interrupted writes left in ``subfolders`` (keys of
        :data:`OWNED`)."""
        for sub in subfolders:
            remove_stale_temps(self.root / sub, OWNED[sub])


def checkpoint_run_id(path: Path) -> str | None:
    """The run id a checkpoint records (``None``: unreadable, or written by an older metarl)."""
    from metarl.checkpoint import CheckpointError, load_plain

    try:
        state = load_plain(path)
    except CheckpointError:
        return None
    run_id = state.get("run_id") if isinstance(state, dict) else None
    return run_id if isinstance(run_id, str) else None
