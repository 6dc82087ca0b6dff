"""ASGI entry point served by Daphne.

The Django ASGI app is built before anything imports models (Channels' own
advice). Plain HTTP, including the SSE stream (an async Django view that
listens on a channels-redis group), goes through Django.
"""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi_app})
