from django.core.management.base import BaseCommand

from core.services import schedules_install


class Command(BaseCommand):
    help = "Install the periodic tasks the apps declare (core.schedules) into django-celery-beat's database scheduler."

    def handle(self, *args, **options):
        installed = schedules_install()
        for name in installed:
            self.stdout.write(f"schedule installed: {name}")
