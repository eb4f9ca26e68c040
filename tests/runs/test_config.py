"""Config validation: every bad value or override is a ConfigError naming the key and what is allowed."""

import math

import pytest

from metarl.runs.config import ConfigError, TrainConfig, load_config

FLOAT_KEYS = sorted(
    name for name, value in TrainConfig().to_dict().items() if isinstance(value, float)
)


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1" + "0" * 400])
def test_every_float_key_refuses_nan_and_inf(key, value):
    with pytest.raises(ConfigError, match=rf"^{key} must be a finite number"):
        TrainConfig().with_overrides([f"{key}={value}"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("inner_lr=-0.1", "inner_lr must be a finite number > 0, got -0.1"),
        ("max_kl=0", "max_kl must be a finite number > 0, got 0"),
        ("cg_damping=-1.0e-5", "cg_damping must be a finite number >= 0, got -1e-05"),
        ("seed=-1", "seed must be an int in [0, 4294967295], got -1"),
        ("seed=4294967296", "seed must be an int in [0, 4294967295], got 4294967296"),
        ("seed=" + "9" * 30, "seed must be an int in [0, 4294967295], got 9999"),
    ],
)
def test_out_of_range_values_name_the_key_and_the_range(override, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig().with_overrides([override])
    assert str(info.value).startswith(message)


def test_the_largest_seed_is_allowed():
    assert TrainConfig().with_overrides(["seed=4294967295"]).seed == 2**32 - 1
    assert TrainConfig().with_overrides(["cg_damping=0"]).cg_damping == 0
    assert math.isfinite(TrainConfig().with_overrides(["inner_lr=1.0e-300"]).inner_lr)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("hidden_sizes=[1,", "expected the node content"),
        ("x=!!python/object:os.system", "could not determine a constructor"),
        ("x=!!python/object/apply:os.system ['echo hacked']", "could not determine a constructor"),
        ("x=!!float abc", "could not convert string to float"),
        ("x=" + "[" * 5000, "recursion"),
    ],
)
def test_malformed_yaml_overrides_name_the_override(tmp_path, override, problem):
    path = tmp_path / "c.yaml"
    path.write_text("iterations: 3\n")
    with pytest.raises(ConfigError, match=problem) as info:
        load_config(path, [override])
    assert "--set " in str(info.value) and "not valid YAML" in str(info.value)
    assert override[:20] in str(info.value)


def test_old_key_names_are_read_under_their_new_names(tmp_path):
    """Runs written before the rename (``baseline``, ``baseline_timesteps``) stay loadable."""
    path = tmp_path / "config.yaml"
    path.write_text("baseline: mlp\nbaseline_timesteps: 500\n")
    config = load_config(path)
    assert (config.value_function, config.comparison_timesteps) == ("mlp", 500)
    path.write_text("baseline: mlp\nvalue_function: linear\n")
    with pytest.raises(ConfigError, match=r"\['baseline'\] were renamed to \['value_function'\]"):
        load_config(path)
