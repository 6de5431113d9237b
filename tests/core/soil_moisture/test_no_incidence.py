"""No incidence angle (issue #29, finding 7): the core's refusal of samples without θ says where θ comes from."""

import numpy as np
import pytest

from sarsense.algorithms.soil_moisture import hybrid, terrain


def test_samples_without_theta_are_refused_with_where_to_get_it():
    n = 6
    cols = {"VV": np.linspace(-14, -10, n), "NDVI": np.full(n, 0.4)}
    with pytest.raises(ValueError, match="no field for predictor θ") as err:
        hybrid.assemble(["VV", "theta"], cols, np.array(["a"] * n), np.linspace(0.1, 0.3, n), np.ones(n, bool))
    text = str(err.value)
    assert terrain.NO_INCIDENCE_HINT in text and "add a field 'theta'" in text and "leave θ out" in text
    # with a field named as θ (any of its names) the same samples are accepted
    x, how = hybrid.assemble(["VV", "theta"], {**cols, "incidence_angle": np.full(n, 39.0)}, np.array(["a"] * n),
                             np.linspace(0.1, 0.3, n), np.ones(n, bool))
    assert x.shape == (n, 2) and (x[:, 1] == 39.0).all()
