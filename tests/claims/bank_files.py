"""Bank return files for the tests, written per the ISO 20022 message definitions and validated
against the XSDs vendored in tests/fixtures/iso20022 (see its README for where they come from).

- `pain002(...)`: a Customer Payment Status Report (pain.002.001.03) answering one of our pain.001;
- `camt054(...)`: a Bank-to-Customer Debit/Credit Notification (camt.054.001.02) on the debtor account.
"""

from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import xmlschema

XSD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "iso20022"
DEBTOR_IBAN = "FR7630001007941234567890185"


@cache
def schema(kind):
    return xmlschema.XMLSchema(str(XSD_DIR / f"{kind}.xsd"))


def validate(content, kind):
    """Raise when `content` is not a valid `kind` message (e.g. "pain.002.001.03")."""
    schema(kind).validate(content.decode() if isinstance(content, bytes) else content)


def _reason(code):
    return f"<StsRsnInf><Rsn><Cd>{escape(code)}</Cd></Rsn></StsRsnInf>" if code else ""


def pain002(*, original_message_id, transactions, msg_id="PSR-0001", created="2026-01-05T09:30:00", group=None):
    """`transactions`: [(end_to_end_id, status, reason_code or "", amount or None, execution date iso)]."""
    txs = []
    for index, (e2e, status, reason, amount, executed) in enumerate(transactions, start=1):
        ref = ""
        if amount is not None or executed:
            ref = "<OrgnlTxRef>"
            if amount is not None:
                ref += f'<Amt><InstdAmt Ccy="EUR">{Decimal(amount):.2f}</InstdAmt></Amt>'
            if executed:
                ref += f"<ReqdExctnDt>{executed}</ReqdExctnDt>"
            ref += "</OrgnlTxRef>"
        txs.append(
            f"<TxInfAndSts><StsId>STS-{index}</StsId><OrgnlEndToEndId>{escape(e2e)}</OrgnlEndToEndId>"
            f"<TxSts>{status}</TxSts>{_reason(reason)}{ref}</TxInfAndSts>"
        )
    statuses = {status for _, status, _, _, _ in transactions}
    group_status = group or (statuses.pop() if len(statuses) == 1 else "PART")
    payment_info = (
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-1</OrgnlPmtInfId>{''.join(txs)}</OrgnlPmtInfAndSts>" if txs else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<CstmrPmtStsRpt>"
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm>"
        "<InitgPty><Nm>Banque de l'agence</Nm></InitgPty></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(original_message_id)}</OrgnlMsgId>"
        f"<OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId><GrpSts>{group_status}</GrpSts>"
        f"{_reason(transactions[0][2] if group == 'RJCT' and transactions else '')}</OrgnlGrpInfAndSts>"
        f"{payment_info}"
        "</CstmrPmtStsRpt></Document>"
    ).encode()


def camt054(*, entries, msg_id="NTF-0001", created="2026-01-06T07:00:00"):
    """`entries`: [dict(e2e, amount, booked_on (iso), direction "DBIT" | "CRDT", reason (return code))]."""
    rows = []
    for index, entry in enumerate(entries, start=1):
        returned = entry.get("reason") is not None or entry.get("direction") == "CRDT"
        direction = entry.get("direction", "CRDT" if returned else "DBIT")
        sub_family = "RRTN" if returned else "ESCT"
        return_info = f"<RtrInf><Rsn><Cd>{entry['reason']}</Cd></Rsn></RtrInf>" if entry.get("reason") else ""
        amount = f"{Decimal(entry['amount']):.2f}"
        rows.append(
            f"<Ntry><NtryRef>{index}</NtryRef>"
            f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts>{entry.get("status", "BOOK")}</Sts>'
            f"<BookgDt><Dt>{entry['booked_on']}</Dt></BookgDt><ValDt><Dt>{entry['booked_on']}</Dt></ValDt>"
            f"<AcctSvcrRef>BK-{index:04d}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
            "<NtryDtls><TxDtls>"
            f"<Refs>{'<EndToEndId>' + escape(entry['e2e']) + '</EndToEndId>' if entry.get('e2e') else ''}</Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
            f"{return_info}"
            "</TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<BkToCstmrDbtCdtNtfctn>"
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{msg_id}-1</Id><CreDtTm>{created}</CreDtTm>"
        f"<Acct><Id><IBAN>{DEBTOR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{''.join(rows)}"
        "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()
