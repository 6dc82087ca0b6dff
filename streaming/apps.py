from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    verbose_name = "Live sales stream"

    def ready(self) -> None:
        from core.health import HEALTH_CHECKS
        from core.limits import body_cap_register
        from core.schedules import PERIODIC_SCHEDULES
        from sales.services import GAP_FILL
        from sales.signals import history_loaded
        from streaming.tasks import profile_refresh_after_load

        HEALTH_CHECKS.register("stream", "streaming.selectors.stream_health")
        # A load aligned to today fills the days up to it from the live generator's profile.
        GAP_FILL.register("streaming", "streaming.services.history_days_generate")
        PERIODIC_SCHEDULES.register("streaming", "streaming.tasks.periodic_schedules")
        history_loaded.connect(profile_refresh_after_load, dispatch_uid="streaming.profile_refresh_after_load")
        body_cap_register(path_prefix="/api/sales/ingest", cap=ingest_body_cap)


async def ingest_body_cap(scope: dict) -> int:
    """The ingest takes up to INGEST_MAX_BODY_BYTES (the view answers its own 413 naming it)."""
    from django.conf import settings

    return settings.INGEST_MAX_BODY_BYTES
