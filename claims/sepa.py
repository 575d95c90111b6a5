"""The SEPA credit-transfer file's check against its schema (pain.001.001.03, shipped with sepaxml).

sepaxml parses the XSD again for every file it validates (≈ 0.1 s, most of a batch's creation); here it is
parsed once per process. xmlschema is imported on first use: it costs ≈ 0.2 s at every process start, and
only a payment batch needs it.
"""

import functools
from pathlib import Path

import sepaxml.validation
from sepaxml.validation import ValidationError

SCHEMAS = Path(sepaxml.validation.__file__).resolve().parent / "schemas"


@functools.cache
def _schema(name: str):
    import xmlschema

    return xmlschema.XMLSchema(SCHEMAS / f"{name}.xsd")


def validate(xml: bytes, schema: str) -> bytes:
    """`xml` unchanged when it conforms to `schema` (sepaxml's name, e.g. "pain.001.001.03"); sepaxml's own
    ValidationError otherwise, as `export(validate=True)` raises."""
    import xmlschema

    try:
        _schema(schema).validate(xml.decode())
    except xmlschema.XMLSchemaValidationError as error:
        raise ValidationError(
            "The output SEPA file contains validation errors. This is likely due to an illegal value in one of "
            "your input fields."
        ) from error
    return xml
