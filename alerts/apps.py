from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from core.health import HEALTH_CHECKS
        from core.schedules import PERIODIC_SCHEDULES
        from streaming.services import INTRADAY_SHARE
        from streaming.signals import batch_recorded

        HEALTH_CHECKS.register("alerts", "alerts.selectors.alerts_health")
        PERIODIC_SCHEDULES.register("alerts", "alerts.tasks.periodic_schedules")
        # The live generator draws its day along the curve the rules are paced by.
        INTRADAY_SHARE.register("alerts", "alerts.selectors.intraday_share")
        batch_recorded.connect(batch_evaluate_enqueue, dispatch_uid="alerts.batch_evaluate_enqueue")


def batch_evaluate_enqueue(sender, *, event_id: int, **kwargs) -> None:
    """Queue the rules' evaluation for a recorded batch (sent on commit by streaming)."""
    from alerts.tasks import alerts_evaluate_batch
    from core.queueing import task_enqueue_or_warn

    task_enqueue_or_warn(alerts_evaluate_batch, kwargs={"event_id": event_id})
