"""Config validation: every bad value or override is a ConfigError naming the key and what is allowed."""

import math
from pathlib import Path

import gymnasium as gym
import pytest

from metarl import memory
from metarl.cli import main
from metarl.runs.config import STEP_BOUNDS, ConfigError, TrainConfig, load_config
from metarl.runs.kinds import EnvSizes, agent_kind

CONFIGS = sorted(Path(__file__).parents[2].glob("configs/**/*.yaml"))
QUICK = str(Path(__file__).parents[2] / "configs" / "maml-trpo" / "navigation2d-quick.yaml")

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
        ("inner_lr=-0.1", "inner_lr must be a finite number in (0, 10], got -0.1"),
        ("max_kl=0", "max_kl must be a finite number in (0, 10], got 0"),
        ("cg_damping=-1.0e-5", "cg_damping must be a finite number in [0, 100], got -1e-05"),
        ("max_kl=1.0e+30", "max_kl must be a finite number in (0, 10], got 1e+30"),
        ("outer_lr=1.5", "outer_lr must be a finite number in (0, 1], got 1.5"),
        ("inner_lr=1.0e+300", "inner_lr must be a finite number in (0, 10], got 1e+300"),
        ("cg_damping=1.0e+30", "cg_damping must be a finite number in [0, 100], got 1e+30"),
        ("kl_coeff=1.0e+30", "kl_coeff must be a finite number in (0, 1000], got 1e+30"),
        ("target_kl=11", "target_kl must be a finite number in (0, 10], got 11"),
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


def test_an_int_too_long_to_print_is_named_without_printing_it():
    with pytest.raises(ConfigError, match=r"^iterations must be >= 1, got <int too long to print>$"):
        TrainConfig(iterations=-(10**5000))
    with pytest.raises(ConfigError, match=r"^hidden_sizes must be positive ints, got <tuple too long"):
        TrainConfig(hidden_sizes=(10**5000, -1))


def test_every_step_setting_takes_its_largest_value():
    config = TrainConfig(**STEP_BOUNDS, cg_damping=100.0)
    assert {name: getattr(config, name) for name in STEP_BOUNDS} == STEP_BOUNDS


@pytest.mark.parametrize(
    ("agent", "option", "value", "allowed"),
    [
        ("pearl", "learning_rate", 1e30, "(0, 1]"),
        ("pearl", "reward_scale", 1e30, "(0, 10000]"),
        ("pearl", "entropy_coef", 1e5, "(0, 10000]"),
        ("pearl", "kl_weight", 1e5, "[0, 10000]"),
        ("rl2", "learning_rate", 2.0, "(0, 1]"),
        ("rl2", "reward_scale", 1e30, "(0, 10000]"),
        ("rl2", "clip", 1.5, "(0, 1]"),
        ("rl2", "value_coeff", 1e30, "[0, 10000]"),
        ("rl2", "target_kl", 1e30, "(0, 10]"),
    ],
)
def test_agent_options_bound_their_step_sizes_and_scales(agent, option, value, allowed):
    with pytest.raises(ConfigError) as info:
        TrainConfig(agent=agent, agent_options={option: value})
    assert str(info.value) == (
        f"agent_options of agent '{agent}': {option} must be a finite number in {allowed}, "
        f"got {value!r}"
    )
    largest = float(allowed.split(", ")[1][:-1])
    assert getattr(TrainConfig(agent=agent, agent_options={option: largest}).kind_options(), option)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("iterations: 2\nmeta_batch_size: 3\niterations: 3\n",
         "duplicate key 'iterations' (first on line 1) at line 3, column 1"),
        ("env_kwargs:\n  a: 1\n  a: 2\n", "duplicate key 'a' (first on line 2) at line 3, column 3"),
        ("env_kwargs: {a: 1, a: 2}\n", "duplicate key 'a' (first on line 1) at line 1, column 20"),
        ("iterations: 1" + "0" * 5000, "Exceeds the limit (4300 digits)"),
    ],
)
def test_a_config_file_that_repeats_a_key_is_refused(tmp_path, text, problem):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"config file {path} is not valid YAML: {problem}")


def test_repeated_keys_are_refused_in_overrides_but_merge_keys_may_repeat_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML \(duplicate key 'a' \(first on line 1"):
        load_config(None, ["env_kwargs={a: 1, a: 2}"])
    path = tmp_path / "c.yaml"
    path.write_text("env_kwargs: &base {max_episode_steps: 5}\nagent_options:\n  <<: *base\n")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['max_episode_steps'\]"):
        load_config(path)  # the merge is read: its keys land in agent_options


@pytest.mark.parametrize(
    "text",
    [
        "env_kwargs: " + "[" * 100_000 + "]" * 100_000,
        "env_kwargs: " + "{a: " * 100_000 + "1" + "}" * 100_000,
        "".join("  " * i + "a:\n" for i in range(3000)) + "  " * 3000 + "1\n",
    ],
    ids=["lists", "flow-mappings", "block-mappings"],
)
def test_a_config_file_nested_too_deeply_names_the_file(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^config file {path} is nested too deeply to read"):
        load_config(path)


def test_a_binary_config_file_names_the_file(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"iterations: 2\n\xff\xfe\x00\x81")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"config file {path} is not UTF-8 text (byte 0xff at offset 14); a config is a YAML text "
        "file"
    )


def _sizes(config: TrainConfig) -> EnvSizes:
    """The env's sizes, or sizes above every shipped family's (Humanoid: 348 observation floats,
    17 action floats) where the family's simulator is not installed."""
    try:
        return EnvSizes.of(config.env, config.env_kwargs)
    except gym.error.DependencyNotInstalled:
        return EnvSizes(400, 20, config.env_kwargs.get("max_episode_steps", 500))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_file_fits_a_16_gib_machine(path):
    """The memory estimate accepts every shipped config, paper-size ones included (the largest,
    PEARL on AntGoal, preallocates 12.7 GiB of replay buffers)."""
    config = load_config(path)
    needs = agent_kind(config.agent).memory(config, _sizes(config))
    memory.require_memory(needs, ConfigError, available=16 * 2**30)


HOSTILE = [
    (["hidden_sizes=[1000000000000]"], "hidden_sizes [1000000000000] would need about"),
    (["hidden_sizes=[100000, 100000]"], "hidden_sizes [100000, 100000] would need about 112 GiB"),
    (["meta_batch_size=1000000000"], "meta_batch_size 1000000000 x num_inner_steps 1 would"),
    (["episodes_per_task=1000000000"], "x episodes_per_task 1000000000 x"),
    (["env_kwargs={max_episode_steps: 1000000000000}"], "max_episode_steps 1000000000000 would"),
    (
        ["env=metarl/Bandit-v0", "env_kwargs={num_test_tasks: 1000000000}"],
        "Bandit: num_test 1000000000 would need about",
    ),
    (["agent=rl2", "agent_options={hidden_size: 1000000000}"], "agent_options.hidden_size 10000"),
    (["agent=pearl", "agent_options={replay_capacity: 1000000000}"], "replay_capacity 1000000000"),
    (["max_kl=1.0e+30"], "max_kl must be a finite number in (0, 10], got 1e+30"),
    (["agent=pearl", "agent_options={learning_rate: 1.0e+30}"], "learning_rate must be a finite"),
]
"""``--set`` values, and what the one-line error of ``metarl train`` holds."""


@pytest.mark.parametrize(("sets", "expected"), HOSTILE, ids=lambda v: str(v)[:40])
def test_train_refuses_sizes_beyond_memory_and_absurd_steps_in_one_line_leaving_no_folder(
    tmp_path, capsys, monkeypatch, sets, expected
):
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * 2**30)  # the same on any machine
    tiny = ["iterations=2", "meta_batch_size=2", "episodes_per_task=2"]
    out = tmp_path / "run"
    argv = ["train", "--config", QUICK, *[f"--set={s}" for s in tiny + sets], "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("metarl train: error: ")
    assert expected in err
    assert "this machine has 16 GiB" in err or "must be a finite number" in err
    assert not out.exists()


def test_maml_hyperparameters_read_under_agent_options_like_every_kind(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("agent: maml\nagent_options:\n  inner_lr: 0.05\n  hidden_sizes: [16, 16]\n")
    config = load_config(path)
    assert config.inner_lr == 0.05 and config.hidden_sizes == (16, 16)
    assert config == TrainConfig(inner_lr=0.05, hidden_sizes=(16, 16))
    assert load_config(None, ["agent_options.max_kl=0.02"]).max_kl == 0.02
    assert TrainConfig().with_overrides(["agent_options.outer=ppo"]).outer == "ppo"
    path.write_text("inner_lr: 0.1\nagent_options:\n  inner_lr: 0.05\n")
    with pytest.raises(ConfigError, match=r"\['inner_lr'\] given both as top-level"):
        load_config(path)
    path.write_text("agent_options:\n  lr: 0.05\n")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['lr'\] of agent 'maml'"):
        load_config(path)
