from django.core.management.base import BaseCommand

from sales.selectors import WEEKLY, history_frequency
from sales.services import GAP_FILL_MAX_DAYS, history_gap_fill_since_last


class Command(BaseCommand):
    help = (
        "Fill the whole days between the history's last day and today with generated sales (marked generated): "
        f"a demo restarted after days off. Nothing when the history ends more than {GAP_FILL_MAX_DAYS} days ago, "
        "or when it is weekly."
    )

    def handle(self, *args, **options):
        days = history_gap_fill_since_last()
        if days:
            self.stdout.write(f"generated {len(days)} days up to today ({days[0]} to {days[-1]}, marked generated)")
        elif history_frequency() == WEEKLY:
            self.stdout.write("a weekly history: no days generated (the gap fill is daily-only)")
        else:
            self.stdout.write("no whole day missing before today")
