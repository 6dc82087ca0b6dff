"""ASGI entry point served by Daphne.

The Django ASGI app is built before anything imports models (Channels' own
advice). Plain HTTP goes through Django. The live stream (an async Django view
that listens on a channels-redis group through the hub) has a handler of its
own with an async-only middleware chain, so an open stream holds no thread
(see config/handlers.py).
"""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)

from config.handlers import AsyncOnlyASGIHandler  # noqa: E402

stream_asgi_app = AsyncOnlyASGIHandler(middleware=settings.STREAM_MIDDLEWARE)
STREAM_PATHS = frozenset({"/api/stream", "/api/stream/"})


async def http_application(scope, receive, send) -> None:
    app = stream_asgi_app if scope["path"] in STREAM_PATHS else django_asgi_app
    await app(scope, receive, send)


application = ProtocolTypeRouter({"http": http_application})
