from django.contrib import admin


class BaseAdmin(admin.ModelAdmin):
    """House defaults for every admin page: save buttons on top, joins declared per admin."""

    save_on_top = True
    list_per_page = 50
    show_full_result_count = False  # no full-table COUNT(*) on filtered lists
