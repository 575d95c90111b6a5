"""The demo's fictitious operators (their SIRENs pass the Luhn check; the company directory is not asked)."""

from operators.enums import OperatorKind

D, B = OperatorKind.DEVELOPER, OperatorKind.BUYER
ALPHA = "123456782"
OPERATORS = [
    # (portal user, legal name, SIREN, kind, provider SIREN, referencing number, domain)
    ("op-alpha", "Alpha Santé Messagerie", ALPHA, D, None, "REF-MSS-ALPHA-001", "alpha-sante.mssante.fr"),
    ("op-beta", "Beta Clinique Numérique", "987654324", B, ALPHA, "REF-MSS-BETA-002", "beta-clinique.mssante.fr"),
    (None, "Gamma Hôpitaux Connectés", "555123454", D, None, "REF-MSS-GAMMA-003", "gamma-hopitaux.mssante.fr"),
    (None, "Delta Santé Libérale", "412345670", D, None, "REF-MSS-DELTA-004", "delta-liberal.mssante.fr"),
    (None, "Epsilon Centre de Santé", "312345671", B, ALPHA, "REF-MSS-EPSILON-005", "epsilon-cds.mssante.fr"),
    (None, "Zeta Biologie", "212345672", D, None, "REF-MSS-ZETA-006", "zeta-bio.mssante.fr"),
]  # fmt: skip


def demo_iban(siren):
    """A valid French IBAN of its own for each demo operator (one IBAN shared by several operators is
    a fraud signal): bank 30006, branch 00001, the SIREN as account number, then the RIB key."""
    bank, branch, account = "30006", "00001", f"00{siren}"
    rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    return f"FR{98 - int(bban + '152700') % 97:02d}{bban}"
