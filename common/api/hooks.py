"""drf-spectacular preprocessing hooks (settings.SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"])."""


def normalise_optional_slash_paths(endpoints, **kwargs):
    """Our API paths accept an optional trailing slash (`/?`, docs/spec/SPEC.md §6); document each once,
    without it."""
    seen = set()
    result = []
    for path, path_regex, method, callback in endpoints:
        clean = path.rstrip("/") if path.startswith("/api/v1/") else path
        if (clean, method) not in seen:
            seen.add((clean, method))
            result.append((clean, path_regex, method, callback))
    return result
