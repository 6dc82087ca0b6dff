from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core.health import health_check_register

        health_check_register("database", "core.health.database_health")
        health_check_register("redis", "core.health.redis_health")
