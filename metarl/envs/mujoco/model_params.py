"""Any MuJoCo model as a task family: declare which compiled-model fields vary, and how.

A :class:`ModelField` names an ``mujoco.MjModel`` array (``body_mass``, ``geom_friction``,
``dof_damping``, ...) or a physics option of ``MjModel.opt`` (``opt.gravity``, ``opt.timestep``,
``opt.wind``, ``opt.density``, ``opt.viscosity``, ...), which of its elements vary (all, some rows
by name or index, one column),
how a task value acts on them (``"scale"`` the nominal value, scale it by ``base ** value``
(``"log-scale"``), or ``"set"`` it), and the training range. :class:`ModelParams` turns a list of
fields into task parameters for a compiled model and writes tasks into it: every write starts from
a saved copy of the nominal values, then MuJoCo's derived constants (subtree masses, inverse
weights, ``actuator_acc0``) are recomputed with ``mj_setConst``, so nothing of one task leaks into
the next.

Make your own MuJoCo family in 10 lines (any Gymnasium MuJoCo env, including your own
``MujocoEnv`` subclass with its own ``xml_file``; see ``docs/mujoco_families.md``)::

    # my_families.py
    import gymnasium as gym
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
    from metarl.envs.mujoco import ModelField, MujocoTaskEnv, register_family

    class SlipperyHopperEnv(MujocoTaskEnv, HopperEnv):
        '''Hopper whose foot friction and torso mass vary per task.'''
        family = "SlipperyHopper"
        model_fields = (
            ModelField("geom_friction", 0.3, 2.0, mode="set", index="foot_geom", column=0),
            ModelField("body_mass", 0.5, 2.0, index="torso", ood=(0.25, 3.0)),
        )

    register_family("my/SlipperyHopper-v0", SlipperyHopperEnv)

    if __name__ == "__main__":  # worker processes import this module: start them only from main
        envs = gym.make_vec("my/SlipperyHopper-v0", num_envs=8)  # one task per sub-env

Each field becomes a task parameter named after it (or ``name=``) whose shape is that of the
selected elements (``()`` with ``shared=True``). ``env.unwrapped.task_distribution`` then samples,
validates and splits these tasks like any family's, and ``env.reset(options={"task": t})`` writes
``t`` into ``env.unwrapped.model``. The class must be importable (defined at module level) for the
vector env's worker processes, which step it with its own ``step``; for Gymnasium's HalfCheetah,
Hopper, Walker2d, Ant and Humanoid, base it on :class:`~metarl.envs.mujoco.LocomotionEnv` instead
of ``MujocoTaskEnv`` to get the batched stepping (and the reward objectives) of metarl's families.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import mujoco
import numpy as np

from metarl.tasks import Parameter, Task, Uniform

__all__ = ["MODES", "BoundModelParams", "ModelField", "ModelParams"]

MODES = ("scale", "log-scale", "set")
"""How a task value acts on the nominal value ``x0``: ``x0 * v``, ``x0 * base ** v``, ``v``."""

# Prefix of an MjModel field -> the object type its rows index (for names in ``index``).
_OBJECTS = {
    "body": mujoco.mjtObj.mjOBJ_BODY,
    "geom": mujoco.mjtObj.mjOBJ_GEOM,
    "jnt": mujoco.mjtObj.mjOBJ_JOINT,
    "actuator": mujoco.mjtObj.mjOBJ_ACTUATOR,
    "site": mujoco.mjtObj.mjOBJ_SITE,
    "tendon": mujoco.mjtObj.mjOBJ_TENDON,
}

RowIndex = int | str | Sequence[int | str] | None


OPTION_PREFIX = "opt."
"""Prefix of the fields of ``MjModel.opt`` (physics options: gravity, timestep, wind, ...)."""


@cache
def _model_fields() -> list[str]:
    options = [f"{OPTION_PREFIX}{n}" for n in dir(mujoco.MjOption) if not n.startswith("_")]
    return sorted([*(n for n in dir(mujoco.MjModel) if not n.startswith("_")), *options])


def _owner(model: mujoco.MjModel, field: str) -> tuple[Any, str]:
    """The object holding ``field`` (``model`` or ``model.opt``) and the attribute's name."""
    if field.startswith(OPTION_PREFIX):
        return model.opt, field.removeprefix(OPTION_PREFIX)
    return model, field


def _values(model: mujoco.MjModel, field: str) -> Any:
    """The current value of ``field``: an array view, or a number (scalar options)."""
    owner, name = _owner(model, field)
    return getattr(owner, name)


def _write(model: mujoco.MjModel, field: str, selection: tuple[Any, ...], new: Any) -> None:
    """Write ``new`` into the ``selection`` of ``field``."""
    owner, name = _owner(model, field)
    current = getattr(owner, name)
    if isinstance(current, np.ndarray):
        current[selection] = new
    else:  # a scalar option (timestep, density, viscosity): its selection is (0,)
        setattr(owner, name, float(new))


@dataclass(frozen=True)
class ModelField:
    """One ``MjModel`` field that varies per task.

    Args:
        field: the ``MjModel`` attribute, e.g. ``"body_mass"``, ``"geom_friction"``, or
            ``"opt.<name>"`` for a physics option: ``"opt.gravity"`` (3,), ``"opt.wind"`` (3,),
            ``"opt.timestep"``, ``"opt.density"``, ``"opt.viscosity"`` (scalars).
        low, high: training range of the task value (a factor for ``"scale"``, an exponent for
            ``"log-scale"``, the value itself for ``"set"``).
        mode: ``"scale"`` (default), ``"log-scale"`` or ``"set"`` (see :data:`MODES`).
        base: base of ``"log-scale"``: the element becomes ``nominal * base ** value``.
        shared: one task value for every selected element (default: one per element).
        index: rows that vary: an int, a name (``"torso"``; joint names for ``dof_*`` fields), or
            a sequence of them; ``None``: every row. A single int or name selects one row, so the
            parameter drops that axis (a scalar for a 1-D field: ``task(body_mass=1.5)``);
            ``opt`` arrays take int indices (``opt.gravity`` index 2: the vertical component).
        column: the one column that varies in a 2-D field (``0``: sliding friction); ``None``:
            every column.
        ood: ``(low, high)`` envelope of the test-ood region (see :class:`metarl.tasks.Uniform`).
        ood_per_element: test-ood tasks have every element outside the training range.
        default: the default task's value; ``None``: the nominal model (1 for ``"scale"``, 0 for
            ``"log-scale"``, the nominal values for ``"set"``).
        name: task parameter name; defaults to ``field`` without ``opt.``.
    """

    field: str
    low: float
    high: float
    mode: str = "scale"
    base: float = 1.5
    shared: bool = False
    index: RowIndex = None
    column: int | None = None
    ood: tuple[float, float] | None = None
    ood_per_element: bool = False
    default: Any = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"ModelField mode must be one of {MODES}, got {self.mode!r}")
        if self.field not in _model_fields():
            close = difflib.get_close_matches(self.field, _model_fields(), n=3)
            hint = f"; did you mean {close}?" if close else ""
            raise ValueError(f"unknown MjModel field {self.field!r}{hint}")
        if self.mode == "scale" and not self.low > 0:
            raise ValueError(
                f"ModelField {self.field!r}: scale factors must be > 0, got low={self.low!r}"
            )
        if self.mode == "log-scale" and not (self.base > 0 and self.base != 1):
            raise ValueError(
                f"ModelField {self.field!r}: log-scale base must be > 0 and != 1, got {self.base!r}"
            )

    @property
    def parameter_name(self) -> str:
        """Name of the task parameter: ``name``, or the field's (``gravity`` for ``opt.gravity``)."""
        return self.name or self.field.removeprefix(OPTION_PREFIX)


class BoundModelParams:
    """:class:`ModelParams` resolved against one compiled model: its parameters, and ``apply``."""

    def __init__(self, fields: Sequence[ModelField], model: mujoco.MjModel):
        self.fields = tuple(fields)
        self._selections = [_select(f, model) for f in self.fields]
        self._nominal = [
            np.array(np.atleast_1d(_values(model, f.field))[sel], dtype=np.float64)
            for f, sel in zip(self.fields, self._selections, strict=True)
        ]
        self.parameters: list[Parameter] = [
            _parameter(f, nominal) for f, nominal in zip(self.fields, self._nominal, strict=True)
        ]

    def apply(self, model: mujoco.MjModel, task: Task, scratch: mujoco.MjData) -> None:
        """Write ``task`` (already validated) into ``model``, starting from the nominal values.

        ``scratch`` is an ``MjData`` of ``model`` that ``mj_setConst`` may overwrite.
        """
        for field, sel, nominal in zip(self.fields, self._selections, self._nominal, strict=True):
            value = task.params[field.parameter_name]
            if field.mode == "scale":
                new = nominal * value
            elif field.mode == "log-scale":
                new = nominal * np.power(field.base, value)
            else:
                new = np.broadcast_to(value, nominal.shape)
            _write(model, field.field, sel, new)
        mujoco.mj_setConst(model, scratch)


class ModelParams:
    """A declarative list of :class:`ModelField` s: the task parameters of a MuJoCo family.

    >>> params = ModelParams([ModelField("body_mass", 0.5, 2.0)])  # doctest: +SKIP
    >>> bound = params.bind(env.unwrapped.model)  # doctest: +SKIP
    """

    def __init__(self, fields: Sequence[ModelField]):
        fields = tuple(fields)
        if not fields or not all(isinstance(f, ModelField) for f in fields):
            raise TypeError(f"need a non-empty sequence of ModelField, got {fields!r}")
        self.fields = fields

    def bind(self, model: mujoco.MjModel) -> BoundModelParams:
        """Resolve names and shapes against ``model`` and save its nominal values."""
        return BoundModelParams(self.fields, model)


def _select(field: ModelField, model: mujoco.MjModel) -> tuple[Any, ...]:
    """The numpy index of the elements of ``model.<field>`` that ``field`` varies."""
    value = _values(model, field.field)
    if isinstance(value, float):  # a scalar option
        if field.index is not None or field.column is not None:
            raise ValueError(f"MjModel field {field.field!r} is a number: give no index or column")
        return (0,)
    array = value
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or array.ndim not in (1, 2):
        kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise ValueError(
            f"MjModel field {field.field!r} holds {kind} values; only 1-D or 2-D float arrays "
            "(body_mass, geom_friction, dof_damping, opt.gravity, ...) and float options "
            "(opt.timestep, opt.density, ...) can vary"
        )
    rows: Any = slice(None) if field.index is None else _rows(field, model, len(array))
    if isinstance(field.index, int | str) and len(rows) == 1:
        rows = int(rows[0])  # one row: the parameter drops the axis
    if field.column is None:
        return (rows,)
    if array.ndim != 2 or not 0 <= field.column < array.shape[1]:
        allowed = "none (1-D field)" if array.ndim == 1 else f"0..{array.shape[1] - 1}"
        raise ValueError(
            f"column {field.column!r} of MjModel field {field.field!r} does not exist; "
            f"allowed: {allowed}"
        )
    return (rows, field.column)


def _rows(field: ModelField, model: mujoco.MjModel, size: int) -> np.ndarray:
    items = [field.index] if isinstance(field.index, int | str) else list(field.index)
    rows: list[int] = []
    for item in items:
        if isinstance(item, str):
            rows.extend(_rows_of_name(field.field, model, item))
        elif isinstance(item, int | np.integer) and 0 <= item < size:
            rows.append(int(item))
        else:
            raise ValueError(
                f"index {item!r} of MjModel field {field.field!r} is out of range; "
                f"allowed: names or ints in 0..{size - 1}"
            )
    if len(set(rows)) != len(rows) or not rows:
        raise ValueError(f"index of {field.field!r} must select distinct rows, got {field.index!r}")
    return np.array(rows)


def _rows_of_name(field: str, model: mujoco.MjModel, name: str) -> list[int]:
    prefix = field.split("_", 1)[0]
    if prefix == "dof":  # dof rows are named by their joint
        joint = _object_id(field, model, mujoco.mjtObj.mjOBJ_JOINT, model.njnt, name)
        start = int(model.jnt_dofadr[joint])
        stop = int(model.jnt_dofadr[joint + 1]) if joint + 1 < model.njnt else model.nv
        return list(range(start, stop))
    if prefix not in _OBJECTS:
        raise ValueError(
            f"rows of MjModel field {field!r} have no names; give int indices instead of {name!r}"
        )
    count = getattr(model, f"n{prefix}")
    return [_object_id(field, model, _OBJECTS[prefix], count, name)]


def _object_id(field: str, model: mujoco.MjModel, kind: Any, count: int, name: str) -> int:
    index = mujoco.mj_name2id(model, kind, name)
    if index < 0:
        names = [mujoco.mj_id2name(model, kind, i) for i in range(count)]
        raise ValueError(
            f"no {kind.name[6:].lower()} named {name!r} for MjModel field {field!r}; "
            f"allowed: {[n for n in names if n]}"
        )
    return index


def _parameter(field: ModelField, nominal: np.ndarray) -> Uniform:
    shape = () if field.shared else nominal.shape
    if field.default is not None:
        default = field.default
    elif field.mode == "set":
        if field.shared and not np.all(nominal == nominal.flat[0]):
            raise ValueError(
                f"ModelField {field.field!r}: shared 'set' needs default=, the nominal values "
                f"differ ({nominal.tolist()})"
            )
        default = nominal.flat[0] if field.shared else nominal
    else:
        default = 1.0 if field.mode == "scale" else 0.0
    doc = f"{field.mode} of MjModel.{field.field}" + (
        "" if field.index is None else f"[{field.index}]"
    )
    try:
        return Uniform(
            field.parameter_name,
            field.low,
            field.high,
            default=default,
            ood=field.ood,
            ood_per_element=field.ood_per_element,
            shape=shape,
            doc=doc,
        )
    except ValueError as err:
        raise ValueError(
            f"ModelField {field.field!r}: {err}; the default task is the nominal model unless "
            "default= is given"
        ) from err
