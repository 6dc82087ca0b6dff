from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.services import schedules_install


class Command(BaseCommand):
    help = (
        "Bring a fresh installation to a working state: migrate, install the periodic schedules and, when the "
        "database holds no sales yet, load TRAIN_CSV_PATH (generating a realistic sample there first if it is absent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--align-to-today", action="store_true", help="shift the loaded history to end last week")

    def handle(self, *args, align_to_today, **options):
        call_command("migrate", interactive=False, verbosity=0)
        for name in schedules_install():
            self.stdout.write(f"schedule installed: {name}")
        # By name, like the commands below: core imports none of the apps built on it.
        if apps.get_model("sales", "Sale").objects.exists():
            self.stdout.write("sales already loaded (reload with: manage.py load_train PATH)")
            return
        path = Path(settings.TRAIN_CSV_PATH)
        if not path.exists():
            self.stdout.write(f"{path} not found: generating a realistic sample there")
            call_command("generate_sample", str(path))
        call_command("load_train", str(path), align_to_today=align_to_today)
