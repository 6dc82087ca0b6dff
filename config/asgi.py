"""ASGI entry point served by Daphne.

The Django ASGI app is built before anything imports models (Channels' own
advice). Plain HTTP goes through Django, with request threads reused (see
config/handlers.py). The live stream (an async Django view
that listens on a channels-redis group through the hub) has a handler of its
own with an async-only middleware chain, so an open stream holds no thread
(see config/handlers.py).
"""

import os

import django
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_POOL", "true")  # the web process pools its connections (config/settings.py)
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application() does

from django.conf import settings  # noqa: E402  (after Django is set up)

from config.handlers import AsyncOnlyASGIHandler, ThreadReusingASGIHandler  # noqa: E402
from core.addresses import ClientAddressMiddleware  # noqa: E402
from core.limits import BodyCapMiddleware  # noqa: E402

django_asgi_app = ThreadReusingASGIHandler()
stream_asgi_app = AsyncOnlyASGIHandler(middleware=settings.STREAM_MIDDLEWARE)
# The stream and its status probe: async views, served with no thread hop at all.
STREAM_PATHS = frozenset({"/api/stream", "/api/stream/", "/api/stream/status", "/api/stream/status/"})


async def http_application(scope, receive, send) -> None:
    app = stream_asgi_app if scope["path"] in STREAM_PATHS else django_asgi_app
    await app(scope, receive, send)


# The client's address from trusted proxies only (core/addresses.py), then bodies over their route's
# cap refused before the application reads them (core/limits.py).
application = ProtocolTypeRouter({"http": ClientAddressMiddleware(BodyCapMiddleware(http_application))})
