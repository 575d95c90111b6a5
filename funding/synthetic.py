"""A realistic, deterministic synthetic Annuaire Santé MSSanté extraction, for tests and benchmarks.

What it imitates (docs/spec/ANNUAIRE.md): the exact 31-column header, about 85 % PER and 15 % ORG
rows, a few CAB rows, mailboxes spread over about 300 operators' domains with a skewed (Zipf)
distribution — a few very large domains, a long tail of small ones — plus a handful of domains no
operator declared, and some addresses listed twice (one line per attachment). Optionally a
trailing `|` on every line, CRLF line endings, a BOM, or a zip around the text.
The same seed always writes the same bytes.
"""

import io
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from funding.annuaire import HEADER

# The five big national domains come first: they carry most of the mailboxes, like in the real file.
NATIONAL_DOMAINS = [
    "medecin.mssante.fr",
    "pharmacien.mssante.fr",
    "infirmier.mssante.fr",
    "chirurgien-dentiste.mssante.fr",
    "sage-femme.mssante.fr",
]
PREFIXES = ["ch", "chu", "clinique", "ght", "ehpad", "cpts", "msp", "labo", "radiologie", "centre-sante", "hopital"]
TOWNS = [
    "amiens", "angers", "annecy", "arras", "avignon", "bayonne", "besancon", "bordeaux", "brest", "caen",
    "chartres", "cholet", "dijon", "grenoble", "lens", "lille", "limoges", "lyon", "marseille", "metz",
    "montpellier", "mulhouse", "nancy", "nantes", "nice", "nimes", "niort", "orleans", "paris", "pau",
    "perpignan", "poitiers", "quimper", "reims", "rennes", "rouen", "strasbourg", "toulon", "toulouse", "tours",
]  # fmt: skip
FIRST_NAMES = [
    "marie", "jean", "pierre", "sophie", "nicolas", "isabelle", "philippe", "catherine", "thomas", "nathalie",
    "julien", "claire", "laurent", "anne", "francois", "camille", "olivier", "emilie", "david", "julie",
    "eric", "celine", "antoine", "aurelie", "michel", "sandrine", "alexandre", "valerie", "christophe", "lea",
]  # fmt: skip
LAST_NAMES = [
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy", "moreau",
    "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux", "vincent", "fournier",
    "morel", "girard", "andre", "lefevre", "mercier", "dupont", "lambert", "bonnet", "francois", "martinez",
]  # fmt: skip
PROFESSIONS = [
    ("10", "Médecin", "SM54", "Qualifié en Médecine Générale"),
    ("10", "Médecin", "SM26", "Qualifié en Cardiologie et maladies vasculaires"),
    ("21", "Pharmacien", "", ""),
    ("40", "Chirurgien-Dentiste", "SCD01", "Orthopédie dento-faciale"),
    ("50", "Sage-Femme", "", ""),
    ("60", "Infirmier", "", ""),
    ("70", "Masseur-Kinésithérapeute", "", ""),
]
SERVICES = ["secretariat", "accueil", "urgences", "cardiologie", "radiologie", "laboratoire", "pharmacie", "direction"]


@dataclass(frozen=True)
class SyntheticDomains:
    """The operators' domains with their weights, and the domains no operator declared."""

    operator_domains: tuple
    weights: tuple
    unknown_domains: tuple


def synthetic_domains(*, operator_domains=300, unknown_domains=20, seed=0):
    rng = random.Random(f"domains-{seed}")
    names = list(NATIONAL_DOMAINS)
    seen = set(names)
    while len(names) < operator_domains + unknown_domains:
        name = f"{rng.choice(PREFIXES)}-{rng.choice(TOWNS)}{'' if rng.random() < 0.5 else rng.randint(2, 99)}"
        name += ".mssante.fr"
        if name not in seen:
            seen.add(name)
            names.append(name)
    known = tuple(names[:operator_domains])
    # Zipf-like: domain i weighs 1 / (i + 1) ** 1.1 — a few huge domains and a long tail.
    weights = tuple(1 / (rank + 1) ** 1.1 for rank in range(operator_domains))
    return SyntheticDomains(operator_domains=known, weights=weights, unknown_domains=tuple(names[operator_domains:]))


def _rpps(rng):
    return f"10{rng.randrange(10**9):09d}"


def iter_lines(*, rows, seed=0, domains=None, org_share=0.15, cab_share=0.0005, duplicate_share=0.0008,
               unknown_share=0.002):  # fmt: skip
    """Yield `rows` data lines (31 fields, no line ending) in a deterministic order."""
    rng = random.Random(seed)
    domains = domains or synthetic_domains(seed=seed)
    cumulative = []
    total = 0.0
    for weight in domains.weights:
        total += weight
        cumulative.append(total)
    recent = []
    for n in range(rows):
        draw = rng.random()
        if recent and draw < duplicate_share:
            # The same mailbox attached to a second structure: one more line, same address.
            kind, address = rng.choice(recent)
        else:
            if rng.random() < unknown_share:
                domain = rng.choice(domains.unknown_domains)
            else:
                domain = rng.choices(domains.operator_domains, cum_weights=cumulative)[0]
            draw = rng.random()
            if draw < cab_share:
                kind, address = "CAB", f"cabinet.{n:x}@{domain}"
            elif draw < cab_share + org_share:
                kind, address = "ORG", f"{rng.choice(SERVICES)}.{n:x}@{domain}"
            else:
                kind = "PER"
                address = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}.{n:x}@{domain}"
            recent.append((kind, address))
            if len(recent) > 1000:
                recent.pop(0)
        yield _line(rng, kind, address)


def _line(rng, kind, address):
    town = rng.choice(TOWNS)
    postcode = f"{rng.randrange(1, 96):02d}{rng.randrange(1000):03d}"
    structure = ["1", f"{rng.randrange(10**9):09d}", rng.choice(SERVICES).capitalize() if kind == "ORG" else ""]
    company = f"{rng.choice(PREFIXES).upper()} de {town.capitalize()}"
    if kind == "PER":
        rpps = _rpps(rng)
        code, label, skill, skill_label = rng.choice(PROFESSIONS)
        person = ["8", rpps, f"8{rpps}", *structure, rng.choice(["DR", "M", "MME"]),
                  rng.choice(LAST_NAMES).upper(), rng.choice(FIRST_NAMES).capitalize(), "C", "Civil", code, label,
                  skill, skill_label]  # fmt: skip
    else:
        person = ["", "", "", *structure, "", "", "", "", "", "", "", "", ""]
    address_fields = [company, "", "", "", str(rng.randrange(1, 200)), "", "R", "de la République", "",
                      f"{postcode} {town.upper()}", postcode, postcode[:2], "France"]  # fmt: skip
    return "|".join([kind, address, *person, "True" if rng.random() < 0.9 else "False", *address_fields])


def write_extraction(
    path,
    *,
    rows,
    seed=0,
    trailing_pipe=False,
    crlf=False,
    bom=False,
    as_zip=False,
    domains=None,
    duplicate_share=0.0008,
):
    """Write a synthetic extraction of `rows` data lines at `path` (a .zip holds one .txt); return `path`."""
    path = Path(path)
    ending = "\r\n" if crlf else "\n"
    tail = "|" if trailing_pipe else ""

    def write_text(binary):
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
        text.write(("\ufeff" if bom else "") + HEADER + tail + ending)
        buffer = []
        for line in iter_lines(rows=rows, seed=seed, domains=domains, duplicate_share=duplicate_share):
            buffer.append(line + tail + ending)
            if len(buffer) >= 10_000:
                text.write("".join(buffer))
                buffer = []
        text.write("".join(buffer))
        text.flush()
        text.detach()

    if as_zip:
        inner = path.with_suffix(".txt").name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open(inner, "w") as raw:
            write_text(raw)
    else:
        with open(path, "wb") as raw:
            write_text(raw)
    return path
