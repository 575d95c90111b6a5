from django.contrib import admin


class BaseAdmin(admin.ModelAdmin):
    """House defaults for every admin page: save buttons on top, joins declared per admin."""

    save_on_top = True
    list_per_page = 50
    show_full_result_count = False  # no full-table COUNT(*) on filtered lists


class HistoryInlineMixin:
    """A hash-chained history shown in the admin: the time in Paris and the action's French label
    (common.labels, through the event's `action_label`), for every journal of the product."""

    @admin.display(description="date (heure de Paris)")
    def at_paris(self, obj):
        from common.formatting import paris_datetime

        return paris_datetime(obj.at)

    @admin.display(description="action")
    def action_label(self, obj):
        return obj.action_label
