"""Property-based checks: bad input of any shape gets a ValueError or TypeError with a message.

Hypothesis draws tasks, task dicts, reset options and ``--set`` overrides; each property runs
500 derandomized examples (the same ones on every run).
"""

import dataclasses
import string

import gymnasium as gym
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metarl import Task
from metarl.envs import registered_ids
from metarl.runs.config import ConfigError, TrainConfig, load_config

pytestmark = pytest.mark.slow

PROPERTY = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CHEAP_IDS = [
    "metarl/Navigation2D-v0",
    "metarl/Bandit-v0",
    "metarl/TabularMDP-v0",
    "metarl/CartPole-v0",
    "metarl/Pendulum-v0",
    "metarl/MountainCarContinuous-v0",
]


def _distributions() -> dict:
    """Every registered family's task distribution (MuJoCo ones where MuJoCo is installed)."""
    found = {}
    for env_id in registered_ids():
        try:
            env = gym.make(env_id)
        except gym.error.DependencyNotInstalled:
            continue
        found[env_id] = env.unwrapped.task_distribution
        env.close()
    return found


DISTRIBUTIONS = _distributions()

HUGE = 10**400  # beyond float64: OverflowError in a plain conversion
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0.0, -0.0, 1e308, -1e-320]),
    st.sampled_from([HUGE, -HUGE]),
)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5), st.binary(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=6,
)
arrays = st.one_of(numbers, st.lists(numbers, max_size=4), st.lists(st.lists(numbers, max_size=3)))


def _param_values(dist) -> st.SearchStrategy:
    """Mostly plausible values for the family's parameters, some wrong, some junk."""
    names = list(dist.parameters)
    plausible = st.fixed_dictionaries(
        {
            name: st.one_of(arrays, st.just(dist.default_task().params[name].tolist()), junk)
            for name in names
        }
    )
    extra = st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=4)), arrays)
    return st.one_of(plausible, extra, st.tuples(plausible, extra).map(lambda p: {**p[0], **p[1]}))


def _task_or_params(family: str, params: dict):
    """A Task of ``params`` where they make one, else the raw dict (also a bad task)."""
    try:
        return Task(family, params)
    except (ValueError, TypeError):
        return params


def assert_clear_error(call) -> None:
    """``call()`` succeeds or raises ValueError/TypeError with a non-empty one-line-able message."""
    try:
        call()
    except (ValueError, TypeError) as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"


@PROPERTY
@given(
    data=st.one_of(
        junk,
        st.fixed_dictionaries({"family": st.one_of(st.text(max_size=8), junk), "params": junk}),
        st.fixed_dictionaries(
            {
                "family": st.sampled_from(["Toy", ""]),
                "params": st.dictionaries(st.text(max_size=4), arrays),
            }
        ),
    )
)
def test_task_from_dict_raises_only_clear_errors(data):
    assert_clear_error(lambda: Task.from_dict(data))


@PROPERTY
@given(data=st.data())
def test_every_familys_validate_raises_only_clear_errors(data):
    env_id = data.draw(st.sampled_from(sorted(DISTRIBUTIONS)))
    dist = DISTRIBUTIONS[env_id]
    family = data.draw(st.one_of(st.just(dist.family), st.text(min_size=1, max_size=6)))
    params = data.draw(_param_values(dist))

    def validate():
        task = Task(family, params) if data.draw(st.booleans()) else data.draw(junk)
        dist.validate(task)

    assert_clear_error(validate)


@pytest.fixture(scope="module")
def cheap_envs():
    envs = {env_id: (gym.make(env_id), gym.make_vec(env_id, num_envs=2)) for env_id in CHEAP_IDS}
    yield envs
    for single, vector in envs.values():
        single.close()
        vector.close()


@PROPERTY
@given(data=st.data())
def test_reset_options_raise_only_clear_errors(cheap_envs, data):
    env_id = data.draw(st.sampled_from(CHEAP_IDS))
    single, vector = cheap_envs[env_id]
    dist = single.unwrapped.task_distribution
    tasks = st.one_of(
        st.sampled_from(list(dist.split("test").tasks[:5])),
        _param_values(dist).map(lambda params: _task_or_params(dist.family, params)),
        junk,
    )
    key = st.one_of(st.sampled_from(["task", "tasks"]), st.text(max_size=5))
    options = st.one_of(
        st.none(), junk, st.dictionaries(key, st.one_of(tasks, st.lists(tasks, max_size=3)))
    )
    env = data.draw(st.sampled_from([single, vector]))
    chosen = data.draw(options)
    assert_clear_error(lambda: env.reset(seed=0, options=chosen))
    env.reset(seed=0)  # the env still works after a rejected reset


CONFIG_KEYS = [f.name for f in dataclasses.fields(TrainConfig)]
yaml_text = st.one_of(
    st.text(alphabet=string.printable, max_size=12),
    junk.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()).filter(
        lambda t: "\n" not in t
    ),
    st.sampled_from(
        ["[1,", "{a:", "!!python/object:os.system", "!!float x", ".nan", "-.inf", "*x"]
    ),
)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text("iterations: 2\nmeta_batch_size: 2\n")
    return path


@PROPERTY
@given(
    overrides=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(CONFIG_KEYS), yaml_text).map("=".join),
            st.text(alphabet=string.printable, max_size=16),
        ),
        max_size=3,
    )
)
def test_config_overrides_raise_only_clear_errors(config_file, overrides):
    assert issubclass(ConfigError, ValueError)
    assert_clear_error(lambda: load_config(config_file, overrides))
