"""RFC 3161 time-stamps (rfc3161-client): ask a time-stamp authority to stamp some bytes, and check
a stamp later. Used by the audit checkpoints (claims.audit)."""

import hashlib
import urllib.error
import urllib.request

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
MAX_RESPONSE_BYTES = 1024 * 1024


class TimestampError(Exception):
    """The authority could not be reached, refused, or its answer does not stamp these bytes."""


def _roots(ca_file):
    with open(ca_file, "rb") as pem:
        return x509.load_pem_x509_certificates(pem.read())


def _verify(response, data, *, builder, ca_file):
    """Check that `response` stamps `data` (its SHA-256) and, with `ca_file`, that its signature
    chains to one of those certificates."""
    imprint = response.tst_info.message_imprint
    if imprint.hash_algorithm != SHA256_OID or imprint.message != hashlib.sha256(data).digest():
        raise TimestampError("le jeton d'horodatage ne porte pas sur ce contenu")
    if ca_file:
        for root in _roots(ca_file):
            builder = builder.add_root_certificate(root)
        try:
            builder.build().verify_message(response, data)
        except (VerificationError, ValueError) as error:
            raise TimestampError(f"jeton d'horodatage invalide : {error}") from error


def request_timestamp(data, *, url, timeout, ca_file=""):
    """Stamp `data` (bytes) at the RFC 3161 authority `url`; returns (DER TimeStampResp, time)."""
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    http_request = urllib.request.Request(  # noqa: S310 (an operator-configured URL)
        url,
        data=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as answer:  # noqa: S310
            body = answer.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise TimestampError(f"autorité d'horodatage injoignable : {getattr(error, 'reason', error)}") from error
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError("réponse de l'autorité d'horodatage trop volumineuse")
    try:
        response = decode_timestamp_response(body)
    except ValueError as error:
        raise TimestampError(f"réponse d'horodatage illisible : {error}") from error
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"horodatage refusé (statut {response.status}) : {response.status_string}")
    if response.tst_info.nonce != request.nonce:
        raise TimestampError("la réponse d'horodatage ne correspond pas à la demande (nonce)")
    _verify(response, data, builder=VerifierBuilder.from_request(request), ca_file=ca_file)
    return response.as_bytes(), response.tst_info.gen_time


def check_timestamp(response_der, data, *, ca_file=""):
    """The time a stored stamp (DER TimeStampResp) gives `data`; raises TimestampError."""
    try:
        response = decode_timestamp_response(bytes(response_der))
    except ValueError as error:
        raise TimestampError(f"jeton d'horodatage illisible : {error}") from error
    _verify(response, data, builder=VerifierBuilder(), ca_file=ca_file)
    return response.tst_info.gen_time
