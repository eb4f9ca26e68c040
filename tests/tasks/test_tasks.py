import json

import numpy as np
import pytest

from metarl.tasks import (
    Arc,
    Choice,
    Dirichlet,
    Disk,
    Normal,
    Task,
    TaskDistribution,
    Uniform,
    tasks_from_json,
    tasks_to_json,
)


@pytest.fixture
def dist() -> TaskDistribution:
    return TaskDistribution(
        "Toy",
        [
            Uniform("speed", 0.0, 2.0, default=1.0, ood=(0.0, 3.0)),
            Uniform("goal", -0.5, 0.5, shape=(2,), default=(0.1, 0.2), ood=(-1.0, 1.0)),
        ],
    )


def test_task_is_immutable_hashable_and_round_trips_json_exactly(dist):
    tasks = dist.sample(20, seed=3)
    restored = tasks_from_json(json.dumps(json.loads(tasks_to_json(tasks))))
    assert restored == tasks
    assert [t.id for t in restored] == [t.id for t in tasks]
    assert {hash(t) for t in restored} == {hash(t) for t in tasks}
    assert len(set(tasks)) == 20
    with pytest.raises(ValueError, match="read-only"):
        tasks[0].params["goal"][0] = 1.0
    with pytest.raises(TypeError):
        tasks[0].params["speed"] = np.array(1.0)
    assert tasks[0].family == "Toy"


def test_task_equality_ignores_signed_zero_and_id_is_stable():
    a = Task("Toy", {"x": 0.0, "v": [1.5, -2.0]})
    b = Task("Toy", {"v": [1.5, -2.0], "x": -0.0})
    assert a == b and hash(a) == hash(b) and a.id == b.id
    # The id is a digest of the values: pinned so it is the same on every machine and version.
    assert a.id == Task.from_dict(a.to_dict()).id
    assert Task("Other", {"x": 0.0, "v": [1.5, -2.0]}) != a


def test_sample_is_deterministic_for_a_seed(dist):
    assert dist.sample(5, seed=1) == dist.sample(5, seed=1)
    assert dist.sample(5, seed=1) != dist.sample(5, seed=2)
    values = np.array([t["speed"] for t in dist.sample(2000, seed=0)])
    assert 0.0 <= values.min() and values.max() <= 2.0
    assert abs(values.mean() - 1.0) < 0.05


def test_splits_are_fixed_disjoint_and_ood_lies_outside(dist):
    test = dist.split("test")
    assert dist.split("test") is test
    assert len(test.tasks) == 40
    # the same sets from a fresh distribution object (as on another machine)
    fresh = TaskDistribution("Toy", list(dist.parameters.values()))
    assert fresh.split("test").tasks == test.tasks
    ood = dist.split("test-ood").tasks
    assert len(ood) == 40
    for task in ood:
        inside = 0.0 <= task["speed"] <= 2.0 and np.all(np.abs(task["goal"]) <= 0.5)
        assert not inside
    held_out = set(test.tasks) | set(ood)
    train = dist.split("train")
    assert not held_out & set(train.sample(5000, seed=0))
    assert train.split("test") is test


def test_train_split_rejects_test_tasks_even_when_they_would_be_drawn():
    # A one-point distribution: every draw equals the single test task, so train must reject all.
    class Constant(Uniform):
        def sample(self, rng, n):
            return np.full((n, *self.shape), 0.5)

    dist = TaskDistribution("Tiny", [Constant("p", 0.0, 1.0, default=0.5)], num_test=1)
    with pytest.raises(RuntimeError, match="excluded"):
        dist.split("train").sample(1, seed=0)


def test_finite_split_sampling(dist):
    test = dist.split("test")
    drawn = test.sample(40, seed=0)
    assert set(drawn) == set(test.tasks)
    with pytest.raises(ValueError, match="holds 40 tasks"):
        test.sample(41)


def test_validate_names_bad_values(dist):
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['mass'\].*allowed"):
        dist.task(mass=1.0)
    with pytest.raises(ValueError, match=r"'speed'.*\[0, 3\].*4\.5"):
        dist.task(speed=4.5)
    with pytest.raises(ValueError, match=r"'goal'.*shape \(2,\).*\(3,\)"):
        dist.task(goal=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        dist.task(speed=float("nan"))
    with pytest.raises(TypeError, match="numeric"):
        dist.task(speed="fast")
    with pytest.raises(TypeError, match="expected a metarl.Task"):
        dist.validate({"speed": 1.0})
    with pytest.raises(ValueError, match="family 'Other'"):
        dist.validate(Task("Other", {"speed": 1.0, "goal": [0, 0]}))
    with pytest.raises(ValueError, match=r"lacks parameter\(s\) \['goal'\]"):
        dist.validate(Task("Toy", {"speed": 1.0}))
    with pytest.raises(ValueError, match="unknown split 'valid'.*allowed"):
        dist.split("valid")
    with pytest.raises(ValueError, match="n must be"):
        dist.sample(-1)


def test_families_without_outside_have_no_ood_split():
    dist = TaskDistribution("N", [Normal("r", 1.0, 1.0, shape=(3,))])
    assert dist.split_names == ("train", "test")
    with pytest.raises(ValueError, match="allowed: \\['train', 'test'\\]"):
        dist.split("test-ood")


def test_dirichlet_validation():
    dist = TaskDistribution("D", [Dirichlet("p", (2, 3))])
    rows = dist.sample(3, seed=0)[0]["p"]
    np.testing.assert_allclose(rows.sum(-1), 1.0)
    with pytest.raises(ValueError, match="summing to 1"):
        dist.task(p=[[0.5, 0.5, 0.5], [1, 0, 0]])


def test_finite_distributions_split_into_every_task_for_train_and_test():
    dist = TaskDistribution("Dir", [Choice("direction", (1, -1), default=1.0)])
    assert dist.is_finite and dist.split_names == ("train", "test")
    assert [t["direction"] for t in dist.split("test").tasks] == [-1.0, 1.0]
    drawn = [t["direction"] for t in dist.split("train").sample(100, seed=0)]
    assert set(drawn) == {-1.0, 1.0} and 30 < drawn.count(1.0) < 70
    assert dist.sample(10, seed=3) == dist.sample(10, seed=3)
    with pytest.raises(ValueError, match=r"'direction' of Dir must be one of \{-1, 1\}, got 0.0"):
        dist.task(direction=0.0)
    with pytest.raises(ValueError, match="at least two distinct finite values"):
        Choice("d", (1.0, 1.0), default=1.0)
    mixed = TaskDistribution(
        "Mixed", [Choice("d", (-1, 1), default=1), Uniform("v", 0, 1, default=0)]
    )
    assert not mixed.is_finite and len(mixed.split("test").tasks) == 40
    with pytest.raises(ValueError, match="continuous parameters"):
        mixed.all_tasks()


def test_disk_parameter_samples_uniformly_in_area_and_rings_outside():
    dist = TaskDistribution("Goal", [Disk("goal", 3.0, default=(1.0, 0.0), ood_radius=4.0)])
    radii = np.hypot(*np.array([t["goal"] for t in dist.sample(4000, seed=0)]).T)
    assert radii.max() <= 3.0
    assert np.mean(radii <= 1.5) == pytest.approx(0.25, abs=0.03)  # area, not radius, is uniform
    ood = np.hypot(*np.array([t["goal"] for t in dist.split("test-ood").tasks]).T)
    assert np.all((ood > 3.0) & (ood <= 4.0))
    assert dist.parameters["goal"].describe_ood() == "distance in (3, 4]"
    with pytest.raises(ValueError, match=r"'goal' of Goal must lie within distance 4"):
        dist.task(goal=(4.0, 1.0))


def test_arc_parameter_draws_angles_uniformly_on_the_circle():
    dist = TaskDistribution("Goal", [Arc("goal", 1.0, 0.0, np.pi, default=(0.0, 1.0))])
    goals = np.array([t["goal"] for t in dist.sample(4000, seed=0)])
    np.testing.assert_allclose(np.hypot(*goals.T), 1.0, atol=1e-12)
    angles = np.arctan2(goals[:, 1], goals[:, 0])
    assert angles.min() >= 0.0 and angles.max() <= np.pi
    assert np.mean(angles <= np.pi / 4) == pytest.approx(0.25, abs=0.03)
    test_goals = np.array([t["goal"] for t in dist.split("test").tasks])
    assert len(test_goals) == 40 and not dist.parameters["goal"].has_ood
    assert dist.task(goal=(-1.0, 0.0))["goal"].tolist() == [-1.0, 0.0]  # the arc's end is allowed
    for off_arc in [(0.5, 0.5), (0.0, -1.0)]:
        with pytest.raises(ValueError, match=r"must lie on the circle of radius 1 at an angle U\[0, pi\]"):
            dist.task(goal=off_arc)
    with pytest.raises(ValueError, match="need -pi <= low < high <= pi"):
        Arc("goal", 1.0, 0.0, 4.0, default=(1.0, 0.0))


def test_per_element_ood_puts_every_element_outside_the_training_range():
    param = Uniform("u", -3.0, 3.0, shape=(6,), default=0.0, ood=(-4.0, 4.0), ood_per_element=True)
    dist = TaskDistribution("Rand", [param])
    values = np.array([t["u"] for t in dist.split("test-ood").tasks])
    assert np.all((np.abs(values) > 3.0) & (np.abs(values) <= 4.0))
    assert (values > 0).mean() == pytest.approx(0.5, abs=0.1)
    assert param.describe_ood() == "every element in [-4, -3) or (3, 4]"
    with pytest.raises(ValueError, match="ood_per_element needs an ood envelope"):
        Uniform("u", 0.0, 1.0, default=0.0, ood_per_element=True)


def test_multiples_of_pi_print_as_pi():
    assert Uniform("angle", 0.0, 2 * np.pi, default=0.0).describe() == "U[0, 2pi]"


def _deep_list(depth: int) -> list:
    value: list = [1.0]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**400, r"parameter 'x' of Toy must be finite \(within float64\), got 1000"),
        ([1.0, 10**400], r"must be finite \(within float64\)"),
        (_deep_list(10_000), r"'x' of Toy must be a number or a regular nested list of numbers"),
    ],
)
def test_from_dict_turns_overflow_and_deep_nesting_into_value_errors(value, message):
    data = {"family": "Toy", "params": {"x": value}}
    with pytest.raises(ValueError, match=message) as info:
        Task.from_dict(data)
    assert len(str(info.value)) < 300  # a bounded message, even for a 10,000-deep list
    dist = TaskDistribution("Toy", [Uniform("x", 0.0, 1.0, default=0.5)])
    with pytest.raises(ValueError, match=message.replace("parameter 'x' of Toy", "")):
        dist.validate(Task("Toy", {"x": 0.5})) and dist.parameters["x"].coerce(value, "Toy")


def test_task_names_of_mixed_types_raise_type_error():
    with pytest.raises(TypeError, match="parameter names must be strings, got 1"):
        Task("Toy", {"x": 0.5, 1: 0.5})
