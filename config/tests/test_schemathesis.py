"""The API does what its OpenAPI schema says: schemathesis (its Python API, with Hypothesis) against a real
Daphne with a viewer's token. Every operation, positive and negative examples (a bounded number each), all of
schemathesis' checks: a server error, an answer that does not match the schema and an invalid request that is
accepted all fail the test, which names the operation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, Phase, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAX_EXAMPLES = 25
MAX_QUERY_BYTES = 15_000
# A valid-looking request may still be refused with a documented 4xx: date_from after date_to (a rule across two
# parameters that OpenAPI cannot state) or a page past the end. Undocumented statuses are still caught by
# status_code_conformance, so only the "every schema-valid request succeeds" check is left out.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture
def tiny_history(db):
    from sales.models import Item, Store
    from sales.services import SaleRow, sales_record_batch

    Store.objects.bulk_create([Store(id=i, code=str(i), name=f"Store {i}") for i in (1, 2)])
    Item.objects.bulk_create([Item(id=i, code=str(i), name=f"Item {i}") for i in (1, 2)])
    first = timezone.localdate() - timedelta(days=20)
    sales_record_batch(
        rows=[
            SaleRow(date=first + timedelta(days=d), store_id=s, item_id=i, sales=d + s + i)
            for d in range(20)
            for s in (1, 2)
            for i in (1, 2)
        ]
    )


@pytest.fixture
def unthrottled_server(django_db_setup, viewer_token, tmp_path):
    """Daphne with a viewer's token and room for every generated request: some 30 operations x 2 modes x
    MAX_EXAMPLES run well past a user's per-minute rate, whose 429s would hide what this test is about."""
    from core.testing import DaphneProcess

    server = DaphneProcess(
        log_dir=tmp_path, headers={"Authorization": f"Token {viewer_token}"}, env={"API_USER_RATE": "1000000/minute"}
    )
    server.start()
    yield server
    server.stop()


def operation_check(operation, mode, headers) -> None:
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        # Daphne (Twisted) closes the connection on a request line over 16 KiB before Django sees it; a proxy in
        # front answers 414. Such a URL tests the HTTP server, not the API, so it is not generated.
        assume(len(urlencode(case.query or {}, doseq=True)) < MAX_QUERY_BYTES)
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)

    run()


def test_the_api_matches_its_schema(tiny_history, unthrottled_server):
    daphne_server = unthrottled_server
    schema = schemathesis.openapi.from_url(f"{daphne_server.url}/api/schema/", timeout=30)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                operation_check(operation, mode, daphne_server.headers)
            except Unsatisfiable:
                # No invalid request can be made of an operation that takes no input at all (the upload list).
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except BaseException as failure:
                if isinstance(failure, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert failures == [], "\n\n".join(failures)
