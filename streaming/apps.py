from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    verbose_name = "Live sales stream"

    def ready(self) -> None:
        from core.health import health_check_register

        health_check_register("stream", "streaming.selectors.stream_health")
