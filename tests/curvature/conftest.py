"""Every curvature test runs on one torch thread (the tiny exact problems of ``problems.py``)."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def _threads(one_thread):
    yield
