from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    verbose_name = "Live sales stream"

    def ready(self) -> None:
        from core.health import health_check_register
        from sales.services import history_gap_fill_register

        health_check_register("stream", "streaming.selectors.stream_health")
        # A load aligned to today fills the days up to it from the live generator's profile.
        history_gap_fill_register("streaming.services.history_gap_fill")
