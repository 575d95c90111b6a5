"""`{% load formatting %}`: the product's one money and count format (common.formatting) in templates."""

from django import template

from common import formatting

register = template.Library()


@register.filter
def euros(amount):
    """12345.6 → « 12 345,60 € »."""
    return formatting.euros(amount)


@register.filter
def count(value):
    """12345 → « 12 345 »."""
    return formatting.count(value)


@register.filter
def vat_rate(rate):
    """Decimal("0.2000") → « 20 % »."""
    return formatting.vat_rate(rate)


@register.filter
def paris_datetime(value):
    """An aware datetime → « 01/12/2026 14:09 » (Europe/Paris)."""
    return formatting.paris_datetime(value)


@register.filter
def percent(ratio):
    """Decimal("0.125") → « 12,5 % »; « — » when None."""
    return formatting.percent(ratio)


@register.filter
def number(value, places=0):
    """Decimal("4.25"), 2 → « 4,25 »; « — » when None."""
    if value is None:
        return formatting.MISSING
    return formatting.number(value, int(places))
