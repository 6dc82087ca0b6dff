from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    verbose_name = "Live sales stream"

    def ready(self) -> None:
        from core.health import health_check_register
        from core.limits import body_cap_register
        from sales.services import history_gap_fill_register

        health_check_register("stream", "streaming.selectors.stream_health")
        # A load aligned to today fills the days up to it from the live generator's profile.
        history_gap_fill_register("streaming.services.history_gap_fill")
        body_cap_register(path_prefix="/api/sales/ingest", cap=ingest_body_cap)


async def ingest_body_cap(scope: dict) -> int:
    """The ingest takes up to INGEST_MAX_BODY_BYTES (the view answers its own 413 naming it)."""
    from django.conf import settings

    return settings.INGEST_MAX_BODY_BYTES
