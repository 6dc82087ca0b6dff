from django.core.management.base import BaseCommand

from core.access import GROUPS
from core.services import access_token_ensure, user_in_group_ensure


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME (created, with no password, if missing) after adding it to the group "
        "of its role: viewer (reads the API and the stream) or ingest (POST /api/sales/ingest only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=GROUPS, required=True)

    def handle(self, *args, username, role, **options):
        user = user_in_group_ensure(username=username, group=role)
        self.stdout.write(access_token_ensure(user=user))
