"""Routes of the alerts API (with and without a trailing slash)."""

from rest_framework.routers import SimpleRouter

from alerts import api

router = SimpleRouter()
# The project's routes answer with and without the slash (the constructor only takes a boolean).
router.trailing_slash = "/?"
router.register("api/alerts/rules", api.RuleViewSet, basename="alert-rule")
router.register("api/alerts/contact-points", api.ContactPointViewSet, basename="alert-contact-point")
router.register("api/alerts/silences", api.SilenceViewSet, basename="alert-silence")
router.register("api/alerts/states", api.AlertStateViewSet, basename="alert-state")
router.register("api/alerts/history", api.HistoryViewSet, basename="alert-history")
router.register("api/alerts/notifications", api.NotificationViewSet, basename="alert-notification")

urlpatterns = router.urls
