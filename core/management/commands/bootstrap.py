import secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.access import VIEWER_GROUP
from core.services import schedules_install, user_in_group_ensure

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Bring a fresh installation to a working state: migrate, install the periodic schedules and, when the "
        "database holds no sales yet, load TRAIN_CSV_PATH (generating a realistic sample there first if it is absent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--align-to-today", action="store_true", help="shift the loaded history to end last week")
        parser.add_argument(
            "--demo-login",
            metavar="PASSWORD_FILE",
            help=f"create the local demo user {DEMO_USERNAME!r} (viewer group) with the password kept in this file "
            "(written with a random password if missing); `make run` uses it",
        )

    def handle(self, *args, align_to_today, demo_login, **options):
        call_command("migrate", interactive=False, verbosity=0)
        for name in schedules_install():
            self.stdout.write(f"schedule installed: {name}")
        if demo_login:
            password = demo_password_read(path=Path(demo_login))
            user_in_group_ensure(username=DEMO_USERNAME, group=VIEWER_GROUP, password=password)
            self.stdout.write(f"demo login: {DEMO_USERNAME} (password in {demo_login})")
        # By name, like the commands below: core imports none of the apps built on it.
        if apps.get_model("sales", "Sale").objects.exists():
            self.stdout.write("sales already loaded (reload with: manage.py load_train PATH)")
            if align_to_today:
                # The demo again after days off: the days it missed, generated, so the history reaches today.
                call_command("fill_gap", stdout=self.stdout)
            return
        path = Path(settings.TRAIN_CSV_PATH)
        if not path.exists():
            self.stdout.write(f"{path} not found: generating a realistic sample there")
            call_command("generate_sample", str(path))
        call_command("load_train", str(path), align_to_today=align_to_today)


def demo_password_read(*, path: Path) -> str:
    """The demo password kept in `path`, written (readable by its owner only) with a random one if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()
