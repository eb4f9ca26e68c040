"""The hashed model cache: SB3 policy weights as ``<kind>.pt`` beside ``<kind>.json``, which
records what they were trained with and their SHA-256."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from metarl.checkpoint import CheckpointError, load_plain
from metarl.files import atomic_write, atomic_write_text, remove_stale_temps

logger = logging.getLogger(__name__)


ModelT = TypeVar("ModelT", bound=BaseAlgorithm)


class CacheError(ValueError):
    """A cached model file exists but is damaged (unreadable, or not the file its metadata names).

    Delete the ``<kind>.pt`` / ``<kind>.json`` pair named in the message to retrain.
    """


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def cached_model(
    kind: str,
    config: dict[str, Any],
    cache_dir: Path | str,
    build: Callable[[], ModelT],
    timesteps: int,
) -> ModelT:
    """A model from ``build()`` with the cached policy weights ``cache_dir/<kind>.pt`` if its
    metadata records ``config``; else ``build()`` trained for ``timesteps`` and cached."""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model_path, meta_path = folder / f"{kind}.pt", folder / f"{kind}.json"
    remove_stale_temps(folder, [model_path.name, meta_path.name])  # left by a killed write
    reason = "no cached model"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            recorded = meta["config"]
            if not isinstance(recorded, dict):
                raise TypeError(f"'config' must be an object, got {recorded!r}")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
            raise CacheError(  # RecursionError: JSON nested beyond Python's recursion limit
                f"cannot read the cache metadata {meta_path}: {err}; delete it and {model_path} "
                "to retrain"
            ) from err
        if recorded != config:
            changed = sorted(
                k for k in set(recorded) | set(config) if recorded.get(k) != config.get(k)
            )
            reason = f"cached model was trained with different {changed}"
        elif not model_path.exists():
            reason = f"{model_path} is missing"
        else:
            if _sha256(model_path) != meta.get("sha256"):
                raise CacheError(
                    f"{model_path} does not match the SHA-256 recorded in {meta_path}; "
                    "delete both to retrain"
                )
            model = build()
            try:
                state = load_plain(model_path)  # weights_only: a crafted file runs no code
                model.policy.load_state_dict(state)
            except (CheckpointError, RuntimeError, TypeError, AttributeError) as err:
                raise CacheError(
                    f"cannot load the cached {kind} policy {model_path}: {err}; delete it and "
                    f"{meta_path} to retrain"
                ) from err
            logger.info("loaded the cached %s policy from %s", kind, model_path)
            return model
    logger.info("training the %s comparison agent (%s): %s", kind, reason, config)
    started = time.perf_counter()
    model = build()
    model.learn(total_timesteps=timesteps)
    seconds = time.perf_counter() - started
    meta_path.unlink(missing_ok=True)  # never leave old metadata next to new weights
    atomic_write(model_path, lambda file: torch.save(model.policy.state_dict(), file))
    meta = {
        "kind": kind,
        "config": config,
        "sha256": _sha256(model_path),
        "train_seconds": round(seconds, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {
            p: _version(p) for p in ("metarl", "stable_baselines3", "torch")
        },
    }
    atomic_write_text(meta_path, json.dumps(meta, indent=2))
    logger.info("trained the %s model in %.1f s; cached at %s", kind, seconds, model_path)
    return model
