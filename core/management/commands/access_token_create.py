from django.core.management.base import BaseCommand

from core.access import GROUPS
from core.services import access_token_create, user_in_group_ensure


class Command(BaseCommand):
    help = (
        "Print a new API token of USERNAME (created, with no password, if missing) after adding it to the group "
        "of its role: viewer (reads the API and the stream) or ingest (POST /api/sales/ingest only). The key is "
        "stored only as a digest: this is the one time it is shown. Revoke with access_token_revoke."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=GROUPS, required=True)
        parser.add_argument("--expires-days", type=int, help="valid for this many days (default: until revoked)")

    def handle(self, *args, username, role, expires_days, **options):
        if expires_days is not None and expires_days < 1:
            self.stderr.write("--expires-days must be 1 or more")
            raise SystemExit(2)
        user = user_in_group_ensure(username=username, group=role)
        self.stdout.write(access_token_create(user=user, expires_days=expires_days))
        self.stderr.write("Keep this key now: it is stored only as a digest and cannot be shown again.")
