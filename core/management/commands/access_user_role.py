from django.core.management.base import BaseCommand

from core.access import GROUPS
from core.services import user_in_group_ensure


class Command(BaseCommand):
    help = (
        "Give USERNAME a role by adding it to the role's group: viewer (reads the dashboard), editor (reads, "
        "and uploads data from the browser) or ingest (POST /api/sales/ingest only). A missing user is created "
        "without a password: set one with `manage.py changepassword USERNAME`. The admin can do the same "
        "(Users, Groups)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=GROUPS, required=True)

    def handle(self, *args, username, role, **options):
        user_in_group_ensure(username=username, group=role)
        self.stdout.write(f"{username} is in the {role} group")
