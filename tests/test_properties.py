"""Property-based checks: bad input of any shape gets a ValueError or TypeError with a message.

Hypothesis draws tasks, task dicts, reset options, ``--set`` overrides and config values (a
ConfigError of one line, or a valid config); each property runs 500 derandomized examples (the
same ones on every run; 300 for config values). Actions for env steps, observations for
``predict`` and user episodes for ``adapt`` (any dtype, shape and values: NaN, inf, huge,
booleans) get a clear error or a finite result, in fewer examples (they step envs and networks).
"""

import dataclasses
import string

import gymnasium as gym
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from metarl import Episode, Task
from metarl.envs import registered_ids
from metarl.runs.build import build
from metarl.runs.config import ConfigError, TrainConfig, load_config
from metarl.runs.kinds import agent_kind
from tests.agents.pearl.test_trainer import TINY as PEARL_OPTIONS

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


OPTION_KEYS = {
    kind: [f.name for f in dataclasses.fields(agent_kind(kind).options)]
    for kind in ("rl2", "pearl")
}
config_values = st.one_of(
    st.integers(min_value=-2, max_value=50),
    st.floats(min_value=-1.0, max_value=2.0),
    junk,
    st.sampled_from([10**5000, -(10**5000), 1e300, 5e-324, 2**63, 10**12, "", "\n", "1e30"]),
    st.lists(st.one_of(numbers, st.integers(min_value=-(10**13), max_value=10**13)), max_size=3),
)


def _config_data(keys: list[str]) -> st.SearchStrategy:
    """Mappings of some of ``keys`` (a few misspelt) to values of any type: small, huge, tiny,
    negative, NaN, inf, strings, nested lists."""
    return st.dictionaries(st.sampled_from([*keys, "", "lr"]), config_values, max_size=4)


CONFIG_DATA = st.one_of(
    _config_data(CONFIG_KEYS),
    st.sampled_from(sorted(OPTION_KEYS)).flatmap(
        lambda kind: _config_data(OPTION_KEYS[kind]).map(
            lambda options: {"agent": kind, "agent_options": options}
        )
    ),
)


@settings(PROPERTY, max_examples=300)
@given(data=CONFIG_DATA)
def test_config_values_give_a_valid_config_or_a_one_line_config_error(data):
    """Any key of TrainConfig (or of the RL^2 and PEARL options) with any value: a ConfigError
    whose message is one line, never another exception, or a config that checks out."""
    try:
        config = TrainConfig.from_dict(data)
    except ConfigError as err:
        message = str(err)
        assert message.strip() and "\n" not in message, message
        return
    assert set(config.to_dict()) == set(CONFIG_KEYS)
    config.kind_options()


NUMERIC = settings(PROPERTY, max_examples=80)
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint64, np.bool_, np.complex64]


def _plausible(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Moderate float32 values of ``shape``."""
    return hnp.arrays(np.float32, shape, elements=st.floats(-10, 10, width=32))


def _numeric(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Plausible values of ``shape``, or arrays of ``shape`` or another small one of any of
    ``DTYPES`` with any values (NaN, inf, extremes), or Python values."""
    shapes = st.one_of(st.just(shape), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
    fuzzed = st.one_of(hnp.arrays(st.sampled_from(DTYPES), shapes), arrays, junk)
    return st.one_of(_plausible(shape), fuzzed)


def assert_clear_error_or_finite(call) -> None:
    """``call()`` raises ValueError/TypeError with a message, or returns only finite numbers."""
    try:
        result = call()
    except (ValueError, TypeError) as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
        return
    assert all(np.isfinite(value).all() for value in result)


@pytest.fixture(scope="module")
def step_envs():
    """Single and vector envs of one numpy family and one MuJoCo family (where installed)."""
    envs = {}
    for env_id in ("metarl/Navigation2D-v0", "metarl/HalfCheetahVel-v0"):
        try:
            envs[f"{env_id} single"] = gym.make(env_id)
        except gym.error.DependencyNotInstalled:
            continue
        envs[f"{env_id} vector"] = gym.make_vec(env_id, num_envs=2)
    yield envs
    for env in envs.values():
        env.close()


@NUMERIC
@given(data=st.data())
def test_steps_raise_clear_errors_or_give_finite_results(step_envs, data):
    name = data.draw(st.sampled_from(sorted(step_envs)))
    env = step_envs[name]
    action = data.draw(_numeric(env.action_space.shape))
    try:
        assert_clear_error_or_finite(lambda: env.step(action)[:2])
    except gym.error.ResetNeeded as err:  # the first step of each env, before any reset
        assert "before calling" in str(err)
    env.reset(seed=0)


@pytest.fixture(scope="module")
def agents():
    """An untrained MAML, RL^2 and PEARL agent of Navigation2D, each with a policy adapted to
    the default task (what is checked does not depend on training)."""
    found = {}
    for kind, options in (("maml", {}), ("rl2", {}), ("pearl", PEARL_OPTIONS)):
        config = TrainConfig(
            env="metarl/Navigation2D-v0", env_kwargs={"max_episode_steps": 4}, agent=kind,
            agent_options=options, meta_batch_size=2, hidden_sizes=(8,),
        )
        trainer = build(config)
        agent = trainer.adaptive_agent()
        found[kind] = (trainer, agent, agent.adapt(agent.task_distribution.default_task()))
    yield found
    for trainer, *_ in found.values():
        trainer.close()


@NUMERIC
@given(data=st.data())
def test_predict_raises_clear_errors_or_acts_finitely(agents, data):
    _, _, policy = agents[data.draw(st.sampled_from(sorted(agents)))]
    obs = data.draw(st.one_of(_numeric((2,)), _numeric((3, 2))))
    deterministic = data.draw(st.booleans())
    assert_clear_error_or_finite(lambda: policy.predict(obs, deterministic=deterministic)[:1])


@NUMERIC
@given(data=st.data())
def test_adapt_from_episodes_raises_clear_errors_or_acts_finitely(agents, data):
    _, agent, _ = agents[data.draw(st.sampled_from(sorted(agents)))]
    steps = data.draw(st.integers(1, 4))
    shapes = {"observations": (steps, 2), "actions": (steps, 2), "rewards": (steps,)}
    fuzzed = data.draw(st.sampled_from([None, *shapes]))  # one array of any kind, or none
    episode = {
        name: data.draw(_numeric(shape) if name == fuzzed else _plausible(shape))
        for name, shape in shapes.items()
    }

    def adapt_and_act():
        policy = agent.adapt(episodes=[Episode(**episode)])
        return policy.predict(np.zeros(2, dtype=np.float32), deterministic=True)[:1]

    assert_clear_error_or_finite(adapt_and_act)
