"""The daily sales history at (date, store, item) grain, and the daily rollups
(daily, and monthly per store and per item) that every write keeps in step so that aggregate
reads never scan the base table (sales/rollups.py holds their definitions).

Writers: `sales.services` only (the CSV loader and `sales_record_batch`, which
both the live generator and the ingest API go through).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# A store's or item's code as the files and the API give it: text such as `CA_1` or `FOODS_3_090`,
# or a number such as `1`.
CODE_MAX_LENGTH = 64
UNIT_MAX_LENGTH = 32

# Units are exact decimals (PostgreSQL numeric): fractions of a unit (kilograms, litres, dollars) to three
# places, and negative figures (returns). A row holds up to 999,999,999.999; a rollup sums up to 10**15.
UNITS_DECIMALS = 3
SALE_UNITS_DIGITS = 12
ROLLUP_UNITS_DIGITS = 18


class Region(models.Model):
    """A group of stores (a state, a district), known by its code."""

    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Category(models.Model):
    """The top of the item hierarchy (a category holds departments, a department holds items)."""

    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name or self.code


class Department(models.Model):
    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True, related_name="departments")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Store(models.Model):
    """A store, known by its `code` in files, URLs and the API. The integer id is internal (the history's
    key, for speed); a store whose code is a whole number n was given id n when it was created (when free)."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="stores")
    # What else the attribute file says about it (city, type, cluster...), kept as given.
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.code


class Item(models.Model):
    """An item, known by its `code`; see Store for the id."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="items")
    # What its units are (kg, litres, dollars); blank: the default, settings.SALES_DEFAULT_UNIT.
    unit = models.CharField(max_length=UNIT_MAX_LENGTH, blank=True, default="", db_default="")
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def unit_name(self) -> str:
        """What its units are called: its own unit, else the default (settings.SALES_DEFAULT_UNIT)."""
        return self.unit or settings.SALES_DEFAULT_UNIT


class Sale(models.Model):
    """Units of one item sold in one store on one day."""

    date = models.DateField()
    # No foreign-key constraint in the database (db_constraint=False), on purpose: PostgreSQL checks one
    # per inserted row and per key, two for every series on a one-day append (tens of thousands of
    # series: a quarter of its time, README). Every row still names a store and an item that exist:
    # every writer goes through sales.services, which creates the stores and items a file names before
    # writing its rows and refuses unknown ones from ingest; neither is ever deleted (PROTECT here, and
    # the admin refuses).
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="sales", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="sales", db_index=False, db_constraint=False)
    # Negative on a day of net returns.
    sales = models.DecimalField(max_digits=SALE_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    # Drawn by the demo's generator (the live stream, or the days filled between a loaded history and
    # today), not reported: the API, the admin and the page say so. A row is generated only while all
    # its units are. db_default: the loader writes sales_sale with SQL and leaves the column out.
    generated = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "store", "item"], name="sale_date_store_item_uniq"),
        ]
        indexes = [
            models.Index(fields=["store", "date"], name="sale_store_date_idx"),
            # An item, or a few store-item series: the metrics, the forecast's actuals, the bulk history
            # reads (by runs of items) and the list filtered by item. With the units included PostgreSQL
            # answers from the index alone; a store filter reads the item's other stores too (a handful
            # of stores), which costs far less than the alternative's price on every write. Led by item
            # and date rather than by store and item: a day appended for every series (tens of thousands)
            # lands on one leaf page per item, a few thousand pages, instead of one per series (about
            # a tenth of the pages dirtied: README, Benchmarks).
            models.Index(fields=["item", "date", "store"], include=["sales"], name="sale_item_date_store_idx"),
            # Only the generated rows (a few days and today in the demo): the page asks for the first one.
            models.Index(fields=["date"], condition=models.Q(generated=True), name="sale_generated_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} store {self.store_id} item {self.item_id}: {self.sales}"


class DailyTotal(models.Model):
    """Sales of all stores and items on one day. Every rollup also counts its `rows`: the
    sales_sale rows it sums, so that counts never scan the base table."""

    date = models.DateField(unique=True)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.sales}"


class DailyStoreTotal(models.Model):
    date = models.DateField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="dailystore_store_date_uniq")]
        indexes = [models.Index(fields=["date"], name="dailystore_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} store {self.store_id}: {self.sales}"


class DailyItemTotal(models.Model):
    date = models.DateField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, db_index=False)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "date"], name="dailyitem_item_date_uniq")]
        indexes = [models.Index(fields=["date"], name="dailyitem_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} item {self.item_id}: {self.sales}"


class MonthlyStoreTotal(models.Model):
    """Sales of one store in one calendar month (`month`: its 1st day). With thousands of
    items a ranking over years reads some 60 rows per store or item here instead of 1,800."""

    month = models.DateField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="monthlystore_store_month_uniq")]
        indexes = [models.Index(fields=["month"], name="monthlystore_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} store {self.store_id}: {self.sales}"


class MonthlyItemTotal(models.Model):
    month = models.DateField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, db_index=False)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "month"], name="monthlyitem_item_month_uniq")]
        indexes = [models.Index(fields=["month"], name="monthlyitem_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} item {self.item_id}: {self.sales}"


class MonthlyStoreItemTotal(models.Model):
    """Sales of one item in one store in one calendar month: what answers a selection on stores
    and items at once (a store's items ranked, an item's stores), some 60 rows per store-item
    for five years instead of 1,800 days."""

    month = models.DateField()
    # Like Sale, no constraint in the database: the first day of a month adds a row per series (tens of thousands).
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    sales = models.DecimalField(max_digits=ROLLUP_UNITS_DIGITS, decimal_places=UNITS_DECIMALS)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "item", "month"], name="monthlystoreitem_uniq"),
        ]
        indexes = [models.Index(fields=["item", "store", "month"], name="monthlystoreitem_item_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} store {self.store_id} item {self.item_id}: {self.sales}"


# ---------------------------------------------------------------- rollups by department
# Keyed by the item's department at the time of the write (rollups_add joins the deltas to sales_item);
# `rollups_hierarchy_rebuild` recomputes them after an item changes department. Categories are read
# through the department and regions through the store (a join at read time on a table of a few
# hundred rows), so moving a department or a store needs no rebuild. Units of items with no department
# sit in the row whose department is null (one per key, NULLS NOT DISTINCT), so that a level's groups
# always add up to the total. Sales as exact decimals (numeric(18,3)), like every rollup. No foreign-key
# constraints in the database, like MonthlyStoreItemTotal: a day adds a row per store and department.


class DailyDepartmentTotal(models.Model):
    date = models.DateField()
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, null=True, db_index=False, db_constraint=False
    )
    sales = models.DecimalField(max_digits=18, decimal_places=3)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "date"], name="dailydepartment_uniq", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["date"], name="dailydepartment_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} department {self.department_id}: {self.sales}"


class MonthlyDepartmentTotal(models.Model):
    month = models.DateField()
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, null=True, db_index=False, db_constraint=False
    )
    sales = models.DecimalField(max_digits=18, decimal_places=3)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "month"], name="monthlydepartment_uniq", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["month"], name="monthlydepartment_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} department {self.department_id}: {self.sales}"


class DailyStoreDepartmentTotal(models.Model):
    """Sales of one department in one store on one day: what answers a store or region selection
    together with a department or category one (Foods in Texas), without reading every item's rows."""

    date = models.DateField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, null=True, db_index=False, db_constraint=False
    )
    sales = models.DecimalField(max_digits=18, decimal_places=3)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "department", "date"], name="dailystoredepartment_uniq", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["date"], name="dailystoredept_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} store {self.store_id} department {self.department_id}: {self.sales}"


class MonthlyStoreDepartmentTotal(models.Model):
    month = models.DateField()
    store = models.ForeignKey(Store, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, null=True, db_index=False, db_constraint=False
    )
    sales = models.DecimalField(max_digits=18, decimal_places=3)
    rows = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "department", "month"], name="monthlystoredepartment_uniq", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["month"], name="monthlystoredept_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} store {self.store_id} department {self.department_id}: {self.sales}"
