from django.core.management.base import BaseCommand, CommandError

from core.services import access_token_revoke


class Command(BaseCommand):
    help = "Revoke the API tokens of USERNAME (all of them, or the one whose key starts with --prefix)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--prefix", help="the first characters of the key (at least 8) to revoke only that one")

    def handle(self, *args, username, prefix, **options):
        if prefix is not None and len(prefix) < 8:
            raise CommandError("--prefix: give at least the key's first 8 characters.")
        revoked = access_token_revoke(username=username, prefix=prefix)
        if not revoked:
            raise CommandError(f"no token of {username!r}" + (f" starting with {prefix[:8]!r}" if prefix else ""))
        self.stdout.write(f"revoked {revoked} token(s) of {username}")
