"""The run folder: its paths, the marker that proves metarl made it, and what metarl may delete.

``train`` writes the marker ``.metarl-run`` before anything else. Only a folder holding it is
ever cleared (``--overwrite``), and then only of the files metarl writes there (:data:`OWNED`);
anything else in it stays.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from metarl.files import atomic_write_text, remove_stale_temps, temp_target

__all__ = ["MARKER", "OWNED", "RunFolder", "RunFolderError"]

MARKER = ".metarl-run"
"""Name of the file that marks a folder as made by ``metarl train``."""

OWNED: dict[str, tuple[str, ...]] = {
    ".": ("config.yaml", "metrics.csv"),
    "checkpoints": ("last.pt", "best.pt"),
    "tb": ("events.out.tfevents.*",),
    "eval": ("eval.json", "eval.csv", "adaptation.png"),
    "baselines": tuple(
        f"{kind}.{ext}" for kind in ("pretrained", "oracle", "rl2") for ext in ("pt", "json", "zip")
    ),
}
"""Subfolder -> glob patterns of the files metarl writes there (``.``: the run folder itself)."""


class RunFolderError(FileExistsError):
    """A folder cannot be used for a new run, or cannot be overwritten."""


class RunFolder:
    """Paths of a run folder (see :mod:`metarl.training` for its layout)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.marker = self.root / MARKER
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

    def create(self, overwrite: bool = False) -> None:
        """Claim ``root`` for a new run: a new or empty folder, or a run folder metarl made
        (``overwrite`` first deletes that run's files). Writes the marker.

        Raises:
            RunFolderError: ``root`` is a file, holds a run (without ``overwrite``), or is a
                non-empty folder without the marker.
        """
        if self.root.exists() and not self.root.is_dir():
            raise RunFolderError(f"--out {self.root} is an existing file; choose a folder")
        remove_stale_temps(self.root, [MARKER])  # a run killed while writing its marker
        if overwrite:
            self.clear()
        if self.marker.is_file():
            if self.last.is_file():
                raise RunFolderError(
                    f"{self.root} already holds a run; continue it with --resume {self.root}, "
                    "start it over with --overwrite, or choose another --out"
                )
            if self.holds_run():
                raise RunFolderError(
                    f"{self.root} already holds a run that stopped before its first checkpoint; "
                    "start it over with --overwrite, or choose another --out"
                )
        elif self.root.is_dir() and any(self.root.iterdir()):
            raise RunFolderError(
                f"--out {self.root} is a non-empty folder that metarl did not create (no "
                f"{MARKER} file); choose a new or empty folder"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.marker, "created by metarl train; --overwrite may replace its run\n")

    def clear(self) -> None:
        """Delete the files metarl wrote here (:data:`OWNED`), keeping the marker and anything
        else; a missing or empty folder is left as it is.

        Raises:
            RunFolderError: ``root`` is the working folder or one of its parents, or lacks the
                marker.
        """
        if not self.root.exists():
            return
        resolved = self.root.resolve()
        cwd = Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise RunFolderError(
                f"--overwrite refuses {self.root}: it is the current folder or one of its parents"
            )
        if not any(self.root.iterdir()):
            return
        if not self.marker.is_file():
            raise RunFolderError(
                f"--overwrite refuses {self.root}: metarl did not create it (no {MARKER} file), "
                "so it may hold files that are not a run's; choose another --out"
            )
        for sub, patterns in OWNED.items():
            folder = self.root / sub
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                name = temp_target(entry.name) or entry.name
                if entry.is_file() and any(fnmatch(name, p) for p in patterns):
                    entry.unlink()
            if sub != "." and not any(folder.iterdir()):
                folder.rmdir()

    def remove_temps(self, *subfolders: str) -> None:
        """Delete the temporary files interrupted writes left in ``subfolders`` (keys of
        :data:`OWNED`)."""
        for sub in subfolders:
            remove_stale_temps(self.root / sub, OWNED[sub])
