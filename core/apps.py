from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core.health import HEALTH_CHECKS

        HEALTH_CHECKS.register("database", "core.health.database_health")
        HEALTH_CHECKS.register("redis", "core.health.redis_health")
