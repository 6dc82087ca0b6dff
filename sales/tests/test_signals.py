"""`history_loaded`: sent once a load that asked for follow-ups has committed, never for one that did not."""

from __future__ import annotations

import pytest
from django.db import transaction

from sales.services import sales_load_csv
from sales.signals import history_loaded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    """What history_loaded's receivers are sent during the test, and whether the load had committed by then."""
    calls: list[dict] = []

    def receiver(**kwargs) -> None:
        calls.append({"appended": kwargs["appended"], "in_transaction": transaction.get_connection().in_atomic_block})

    history_loaded.connect(receiver, dispatch_uid="test-heard")
    yield calls
    history_loaded.disconnect(dispatch_uid="test-heard")


@pytest.fixture
def broken_receiver():
    def receiver(**_kwargs) -> None:
        raise RuntimeError("this receiver is broken")

    history_loaded.connect(receiver, dispatch_uid="test-broken")
    yield
    history_loaded.disconnect(dispatch_uid="test-broken")


def csv(tmp_path, text: str = "date,store,item,sales\n2017-01-01,1,1,5\n2017-01-02,1,1,6\n"):
    path = tmp_path / "train.csv"
    path.write_text(text)
    return path


def test_a_load_announces_the_new_history_after_it_commits(tmp_path, heard, broken_receiver, settings):
    # Nothing may reach the broker from here (the apps' own receivers are connected too): none answers.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with transaction.atomic():
        sales_load_csv(path=csv(tmp_path))
        assert heard == []
    assert heard == [{"appended": False, "in_transaction": False}]

    sales_load_csv(path=csv(tmp_path, "date,store,item,sales\n2017-01-03,1,1,7\n"), append=True)
    assert heard[-1] == {"appended": True, "in_transaction": False}


def test_a_load_without_followups_or_refused_announces_nothing(tmp_path, heard):
    sales_load_csv(path=csv(tmp_path), followups=False)
    with pytest.raises(Exception, match="no data rows"):
        sales_load_csv(path=csv(tmp_path, "date,store,item,sales\n"))
    assert heard == []
