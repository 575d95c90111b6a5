"""Request parsers of the API: bounded size and depth, and only text the database can store.

A body nested deeper than `MAX_DEPTH`, larger than `DATA_UPLOAD_MAX_MEMORY_SIZE`, with a number too
large to be finite, or holding a NUL character or a lone surrogate (PostgreSQL refuses the first,
UTF-8 the second) is refused with a 4xx JSON error before any view code sees it.
"""

import json
import math

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, parsers

MAX_DEPTH = 32

TOO_DEEP = f"Corps JSON trop imbriqué (au plus {MAX_DEPTH} niveaux)."
NOT_FINITE = "Nombre hors limites."
UNSTORABLE = "Caractère non autorisé (NUL ou caractère Unicode invalide)."
TOO_LARGE = "Corps de requête trop volumineux."


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = TOO_LARGE
    default_code = "request_too_large"


def unstorable(text):
    """True when `text` holds a NUL or a lone surrogate (neither can be stored nor encoded in UTF-8)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def check_data(data):
    """Refuse nesting beyond MAX_DEPTH (ParseError) and unstorable text (field errors), walking iteratively."""
    errors = {}
    top = [(data, 1, None)]
    while top:
        value, depth, field = top.pop()
        if depth > MAX_DEPTH:
            raise exceptions.ParseError(TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                name = field or str(key)
                if unstorable(str(key)):
                    errors.setdefault("non_field_errors", [UNSTORABLE])
                    continue
                top.append((item, depth + 1, name))
        elif isinstance(value, list | tuple):
            top.extend((item, depth + 1, field) for item in value)
        elif isinstance(value, str) and unstorable(value):
            errors.setdefault(field or "non_field_errors", [UNSTORABLE])
    if errors:
        raise exceptions.ValidationError(errors)


def _read(stream):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read(limit + 1) if stream is not None else b""
    if limit is not None and len(body) > limit:
        raise RequestTooLarge()
    return body


def _finite(text):
    number = float(text)
    if not math.isfinite(number):
        raise exceptions.ParseError(NOT_FINITE)
    return number


def _constant(name):
    raise exceptions.ParseError(NOT_FINITE)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(_read(stream).decode(encoding), parse_float=_finite, parse_constant=_constant)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
            raise exceptions.ParseError(f"JSON invalide : {error}") from None
        check_data(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        data = QueryDict(_read(stream), encoding=encoding)
        check_data(dict(data.lists()))
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        check_data(dict(result.data.lists()))
        return result
