"""The bank's return files (ISO 20022), read into one plain list of lines.

- pain.002.001.03 (Customer Payment Status Report): the status of each transfer of a pain.001 we
  sent, by OrgnlEndToEndId — accepted (ACCP, ACSP, ACSC, ACWC), rejected (RJCT, with its reason
  code), or still pending (ACTC, PDNG, RCVD, PART); a group or payment-information status applies to
  the transfers listed without their own, and a whole file rejected without any transfer listed
  rejects every line of the original message (OrgnlMsgId).
- camt.054.001.02 (Bank-to-Customer Debit/Credit Notification): entries booked on our account, each
  transfer by EndToEndId — a booked debit is the transfer paid on its booking date; a credit, a
  reversal or an entry carrying return information (RtrInf) is the transfer returned.

Parsed with defusedxml (no DTD, no entity expansion) by namespace and element path, never with
regular expressions. Nothing here touches the database: claims.payments applies the lines.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from django.utils import timezone

from common.exceptions import InvalidInput

PAIN_002 = "pain.002.001.03"
CAMT_054 = "camt.054.001.02"
NAMESPACES = {f"urn:iso:std:iso:20022:tech:xsd:{name}": name for name in (PAIN_002, CAMT_054)}

ACCEPTED, RETURNED, PENDING = "accepted", "returned", "pending"

PAIN_002_STATUSES = {
    "ACCP": ACCEPTED,  # accepted customer profile
    "ACSP": ACCEPTED,  # accepted, settlement in process
    "ACSC": ACCEPTED,  # accepted, settlement completed
    "ACWC": ACCEPTED,  # accepted with change
    "RJCT": RETURNED,
    "ACTC": PENDING,  # technical validation only
    "PDNG": PENDING,
    "RCVD": PENDING,
    "PART": PENDING,  # a group status: the transfers say which ones
}

# ISO 20022 external reason codes (ExternalStatusReason1Code / ExternalReturnReason1Code) met on
# SEPA credit-transfer rejects and returns, in French.
REASON_CODES = {
    "AC01": "IBAN incorrect",
    "AC04": "compte clos",
    "AC06": "compte bloqué",
    "AC13": "type de compte du bénéficiaire invalide",
    "AG01": "opération interdite sur ce compte",
    "AG02": "code opération invalide",
    "AM04": "provision insuffisante",
    "AM05": "virement en double",
    "BE04": "adresse du bénéficiaire manquante",
    "CNOR": "banque du bénéficiaire non joignable",
    "CUST": "annulation à la demande du donneur d'ordre",
    "DUPL": "virement en double",
    "FF01": "format de fichier invalide",
    "FOCR": "retour après une demande d'annulation",
    "MD07": "titulaire du compte décédé",
    "MS02": "refus du bénéficiaire, motif non précisé",
    "MS03": "motif non précisé par la banque",
    "RC01": "BIC incorrect",
    "RR01": "identification du compte du donneur d'ordre manquante (motif réglementaire)",
    "RR02": "nom ou adresse du donneur d'ordre manquant (motif réglementaire)",
    "RR03": "nom ou adresse du bénéficiaire manquant (motif réglementaire)",
    "RR04": "motif réglementaire",
    "TM01": "reçu après l'heure limite",
}


def reason_label(code):
    """An ISO reason code in French: "AC04 — compte clos"; an unknown code is shown as given."""
    code = (code or "").strip().upper()
    if not code:
        return "motif non communiqué"
    label = REASON_CODES.get(code)
    return f"{code} — {label}" if label else f"{code} — motif non répertorié"


@dataclass(frozen=True)
class ReturnLine:
    """One transfer's status in a return file."""

    position: str  # where it sits in the file, for the report ("transaction 2", "écriture 3")
    end_to_end_id: str  # "" when the bank gave none (reported as unmatched)
    outcome: str  # ACCEPTED, RETURNED or PENDING
    status: str  # the bank's code: TxSts, or BOOK/DBIT, CRDT…
    booked_on: date | None = None
    amount: Decimal | None = None
    reason_code: str = ""
    # pain.002 rejecting a whole message without listing its transfers: every line of that message.
    original_message_id: str = ""


@dataclass(frozen=True)
class ReturnFile:
    kind: str  # PAIN_002 or CAMT_054
    message_id: str
    created_on: date | None
    lines: list


class _Reader:
    """Namespaced find/text helpers over one message."""

    def __init__(self, namespace):
        self.ns = {"m": namespace}

    def _path(self, path):
        return "/".join(f"m:{step}" for step in path.split("/"))

    def find(self, node, path):
        return node.find(self._path(path), self.ns) if node is not None else None

    def findall(self, node, path):
        return node.findall(self._path(path), self.ns) if node is not None else []

    def text(self, node, path):
        found = self.find(node, path)
        return (found.text or "").strip() if found is not None else ""


def _date(value):
    """An ISODate or ISODateTime as a date (a time with an offset is read in Paris time)."""
    if not value:
        return None
    try:
        if "T" not in value:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"Date illisible dans le fichier : « {value} ».") from None
    if timezone.is_aware(moment):
        return timezone.localtime(moment).date()
    return moment.date()


def _amount(value):
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"Montant illisible dans le fichier : « {value} ».") from None


def parse(content):
    """Read a pain.002.001.03 or camt.054.001.02 file (bytes); InvalidInput in French otherwise."""
    try:
        root = SafeElementTree.fromstring(content, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise InvalidInput("Le fichier n'est pas un XML lisible (ou contient une DTD, refusée).") from None
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    kind = NAMESPACES.get(namespace)
    if local != "Document" or kind is None:
        raise InvalidInput(
            "Format de retour bancaire non reconnu : sont acceptés les rapports d'état pain.002.001.03 et "
            "les avis de débit camt.054.001.02 (ISO 20022)."
        )
    reader = _Reader(namespace)
    return _pain_002(root, reader) if kind == PAIN_002 else _camt_054(root, reader)


def _reason(reader, node, path):
    """The first reason code under `node` (ISO code, else the bank's proprietary one)."""
    for reason in reader.findall(node, path):
        code = reader.text(reason, "Rsn/Cd") or reader.text(reason, "Rsn/Prtry")
        if code:
            return code
    return ""


def _pain_002(root, reader):
    report = reader.find(root, "CstmrPmtStsRpt")
    if report is None:
        raise InvalidInput("Rapport pain.002 incomplet : élément CstmrPmtStsRpt absent.")
    created_on = _date(reader.text(report, "GrpHdr/CreDtTm"))
    group = reader.find(report, "OrgnlGrpInfAndSts")
    original_message_id = reader.text(group, "OrgnlMsgId")
    group_status = reader.text(group, "GrpSts")
    group_reason = _reason(reader, group, "StsRsnInf")
    lines = []
    for payment_info in reader.findall(report, "OrgnlPmtInfAndSts"):
        info_status = reader.text(payment_info, "PmtInfSts") or group_status
        info_reason = _reason(reader, payment_info, "StsRsnInf") or group_reason
        transactions = reader.findall(payment_info, "TxInfAndSts")
        if not transactions and PAIN_002_STATUSES.get(info_status) == RETURNED:
            lines.append(_whole_message_rejected(original_message_id, info_status, info_reason, len(lines) + 1))
        for tx in transactions:
            status = reader.text(tx, "TxSts") or info_status
            outcome = PAIN_002_STATUSES.get(status, PENDING)
            booked_on = None
            if outcome == ACCEPTED:
                booked_on = (
                    _date(reader.text(tx, "AccptncDtTm"))
                    or _date(reader.text(tx, "OrgnlTxRef/ReqdExctnDt"))
                    or created_on
                )
            lines.append(
                ReturnLine(
                    position=f"transaction {len(lines) + 1}",
                    end_to_end_id=reader.text(tx, "OrgnlEndToEndId"),
                    outcome=outcome,
                    status=status or "—",
                    booked_on=booked_on,
                    amount=_amount(reader.text(tx, "OrgnlTxRef/Amt/InstdAmt")),
                    reason_code=(_reason(reader, tx, "StsRsnInf") or info_reason) if outcome == RETURNED else "",
                )
            )
    if not lines and PAIN_002_STATUSES.get(group_status) == RETURNED:
        lines.append(_whole_message_rejected(original_message_id, group_status, group_reason, 1))
    return ReturnFile(kind=PAIN_002, message_id=reader.text(report, "GrpHdr/MsgId"), created_on=created_on, lines=lines)


def _whole_message_rejected(message_id, status, reason, index):
    return ReturnLine(
        position=f"message {message_id or '?'} rejeté en entier",
        end_to_end_id="",
        outcome=RETURNED,
        status=status,
        reason_code=reason,
        original_message_id=message_id,
    )


def _camt_054(root, reader):
    notification = reader.find(root, "BkToCstmrDbtCdtNtfctn")
    if notification is None:
        raise InvalidInput("Avis camt.054 incomplet : élément BkToCstmrDbtCdtNtfctn absent.")
    lines = []
    entries = [entry for ntfctn in reader.findall(notification, "Ntfctn") for entry in reader.findall(ntfctn, "Ntry")]
    for number, entry in enumerate(entries, start=1):
        status = reader.text(entry, "Sts")
        direction = reader.text(entry, "CdtDbtInd")
        reversal = reader.text(entry, "RvslInd").lower() == "true"
        booked_on = _date(reader.text(entry, "BookgDt/Dt") or reader.text(entry, "BookgDt/DtTm"))
        details = [tx for group in reader.findall(entry, "NtryDtls") for tx in reader.findall(group, "TxDtls")]
        for index, tx in enumerate(details or [None], start=1):
            returned = direction == "CRDT" or reversal or reader.find(tx, "RtrInf") is not None
            outcome = PENDING if status != "BOOK" else RETURNED if returned else ACCEPTED
            amount = (
                reader.text(tx, "AmtDtls/TxAmt/Amt")
                or reader.text(tx, "AmtDtls/InstdAmt/Amt")
                or (reader.text(entry, "Amt") if len(details) <= 1 else "")
            )
            lines.append(
                ReturnLine(
                    position=f"écriture {number}" + (f", détail {index}" if len(details) > 1 else ""),
                    end_to_end_id=reader.text(tx, "Refs/EndToEndId"),
                    outcome=outcome,
                    status=f"{status or '—'} {direction or '—'}" + (" (contrepassation)" if reversal else ""),
                    booked_on=booked_on if outcome == ACCEPTED else None,
                    amount=_amount(amount),
                    reason_code=_reason(reader, tx, "RtrInf") if outcome == RETURNED else "",
                )
            )
    return ReturnFile(
        kind=CAMT_054,
        message_id=reader.text(notification, "GrpHdr/MsgId"),
        created_on=_date(reader.text(notification, "GrpHdr/CreDtTm")),
        lines=lines,
    )
