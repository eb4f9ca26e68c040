import numpy as np
import pytest

import metarl  # noqa: F401  (registers the env ids)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
