"""Fixtures of the sales tests."""

import pytest

from sales.tests.factories import dataset_installed


@pytest.fixture(scope="module")
def sales_dataset(django_db_setup, django_db_blocker):
    """The generated dataset, installed once per test module (module scope: the API tests only read it)."""
    with dataset_installed(django_db_blocker=django_db_blocker) as rows:
        yield rows
