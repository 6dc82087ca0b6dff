"""Delivery to real receivers: a signed webhook to an HTTP server, an email to an SMTP server (aiosmtpd),
refusals, retries and a contact point that keeps failing."""

from __future__ import annotations

import email
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import ContactPoint, DeliveryAttempt, Notification, Rule
from alerts.tests.conftest import NOON
from core.devstack import free_port
from streaming.services import sales_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def loopback_allowed(settings):
    settings.ALERTS_WEBHOOK_ALLOW = ["loopback"]


def _firing_rule(point: ContactPoint) -> Rule:
    rule = Rule.objects.create(
        name="anything sold",
        level="store_item",
        store_id=1,
        item_id=1,
        condition="threshold",
        direction="above",
        threshold=0,
        created_at=NOON - timedelta(hours=1),
        updated_at=NOON,
    )
    rule.contact_points.add(point)
    return rule


def _fire(point: ContactPoint) -> Notification:
    _firing_rule(point)
    sales_ingest(rows=[(1, 1, 3)], timestamp=NOON)
    summary = services.alerts_evaluate(now=NOON)
    (notification_id,) = summary.notifications
    return Notification.objects.get(pk=notification_id)


def test_a_signed_webhook_reaches_a_real_receiver(shop, clock, receiver, loopback_allowed):
    point = services.contact_point_save(
        fields={"name": "hook", "kind": "webhook"}, url=receiver.url, signing_key="s3cret"
    )
    notification = _fire(point)
    outcome = services.notification_deliver(notification_id=notification.pk)
    assert outcome.status == "sent"
    (request,) = receiver.requests
    assert request["signed"]
    assert request["key"] == request["body"]["idempotency_key"] == notification.idempotency_key
    (series,) = request["body"]["series"]
    # The series by its codes, as the API and the stream name it (its internal ids are 1 and 1).
    assert (series["store"], series["item"], series["to"], series["actual"]) == ("CA_1", "FOODS_3_090", "Alerting", 3)
    # Sent once: a second delivery call finds nothing pending.
    assert services.notification_deliver(notification_id=notification.pk) is None
    assert len(receiver.requests) == 1


def test_a_wrong_signing_key_does_not_verify(shop, clock, receiver, loopback_allowed):
    point = services.contact_point_save(
        fields={"name": "hook", "kind": "webhook"}, url=receiver.url, signing_key="other"
    )
    services.notification_deliver(notification_id=_fire(point).pk)
    assert [r["signed"] for r in receiver.requests] == [False]


def test_an_email_reaches_a_real_smtp_server_with_the_key_as_message_id(shop, clock, settings):
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content)
            return "250 OK"

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        point = ContactPoint.objects.create(name="mail", kind="email", addresses=["manager@example.com"])
        notification = _fire(point)
        assert services.notification_deliver(notification_id=notification.pk).status == "sent"
    finally:
        controller.stop()
    (raw,) = sink.messages
    message = email.message_from_bytes(raw)
    assert message["To"] == "manager@example.com"
    assert message["Message-ID"] == f"<{notification.idempotency_key}@localhost>"
    assert "store CA_1 item FOODS_3_090: 3 so far, above 0" in message.get_payload()


def test_a_webhook_to_a_loopback_address_is_refused_unless_allowed(shop, clock, receiver, settings):
    settings.ALERTS_WEBHOOK_ALLOW = []
    settings.ALERTS_FAILING_AFTER = 2
    point = services.contact_point_save(fields={"name": "hook", "kind": "webhook"}, url=receiver.url, signing_key="k")
    notification = _fire(point)
    outcome = services.notification_deliver(notification_id=notification.pk)
    assert outcome.status == "pending" and outcome.retry_in > 0
    attempt = DeliveryAttempt.objects.get(notification=notification)
    assert not attempt.ok and "loopback address" in attempt.error
    assert receiver.requests == []
    # It keeps failing: the contact point shows as failing in /health's details.
    clock.move_to(timezone.now() + timedelta(hours=1))
    services.notification_deliver(notification_id=notification.pk)
    point.refresh_from_db()
    assert point.failing
    from alerts.selectors import alerts_health

    assert alerts_health()["failing_contact_points"] == ["hook"]


def test_retries_back_off_and_the_notification_is_sent_once(shop, clock, loopback_allowed, settings):
    from alerts.tests.helpers import WebhookReceiver

    settings.ALERTS_RETRY_BASE_MS = 1000
    flaky = WebhookReceiver(signing_key="k", fail_first=2)
    flaky.start()
    try:
        point = services.contact_point_save(fields={"name": "hook", "kind": "webhook"}, url=flaky.url, signing_key="k")
        notification = _fire(point)
        waits = []
        for _ in range(5):
            outcome = services.notification_deliver(notification_id=notification.pk)
            if outcome is None or outcome.retry_in is None:
                break
            waits.append(outcome.retry_in)
            # Not yet due: nothing is sent before the backoff has passed.
            assert services.notification_deliver(notification_id=notification.pk).retry_in > 0
            clock.move_to(timezone.now() + timedelta(seconds=outcome.retry_in))
    finally:
        flaky.stop()
    assert waits == [1.0, 2.0]
    assert len(flaky.requests) == 3 and len(flaky.accepted) == 1
    results = list(
        DeliveryAttempt.objects.filter(notification=notification).order_by("at").values_list("ok", flat=True)
    )
    assert results == [False, False, True]
    point.refresh_from_db()
    assert point.failures == 0 and not point.failing


def test_secrets_are_encrypted_at_rest(shop, receiver):
    point = services.contact_point_save(
        fields={"name": "hook", "kind": "webhook"}, url=receiver.url, signing_key="s3cret"
    )
    stored = ContactPoint.objects.filter(pk=point.pk).values_list("url_sealed", "signing_key_sealed").get()
    assert "127.0.0.1" not in stored[0] and "s3cret" not in stored[1]
