"""Small planning instances shared by the planning tests."""

from __future__ import annotations

import pytest

from safeground.planning.synthetic import synthetic_instance


@pytest.fixture(scope="session")
def small_instance():
    """12 areas, 3 settlements, 4 teams (NTS, TS, manual, dog), 12 weeks."""
    return synthetic_instance(n_areas=12, n_settlements=3, n_teams=4, horizon_weeks=12, seed=0)


@pytest.fixture(scope="session")
def medium_instance():
    """40 areas, 8 settlements, 4 teams, 26 weeks: the MILP-sized case."""
    return synthetic_instance(seed=0)
