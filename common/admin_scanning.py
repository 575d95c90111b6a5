"""The antivirus column the admin shows for every stored proof (common.scanning)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.enums import ScanStatus
from common.formatting import paris_datetime


def download_column(url_name):
    """The « fichier » column of a stored proof: its name, a link to the download view `url_name`
    only when the file is usable; a file being scanned or quarantined is never served."""

    @admin.display(description="fichier")
    def download(self, obj):
        if not obj.is_usable:
            return obj.original_name
        url = reverse(url_name, args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)

    return download


@admin.display(description="analyse antivirus")
def scan_column(self, obj):
    """« en cours d'analyse », « analysée, saine » (when), « infectée — en quarantaine » with the
    signature clamd named, or « non analysée » with why."""
    if obj.scan_status == ScanStatus.INFECTED:
        return format_html(
            '<strong class="scan-infected">{}</strong> : virus « {} » ({})',
            obj.scan_label,
            obj.scan_signature,
            paris_datetime(obj.scanned_at) if obj.scanned_at else "",
        )
    if obj.scan_status == ScanStatus.CLEAN:
        return format_html("{} ({})", obj.scan_label, paris_datetime(obj.scanned_at) if obj.scanned_at else "")
    if obj.scan_detail:
        return format_html('{} <span class="help">{}</span>', obj.scan_label, obj.scan_detail)
    return obj.scan_label
