"""Demo data for `make run`: idempotent, safe to run again at any time."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from demo.claims import DEMO_COUNTS, demo_pdf_bytes, seed_claims
from demo.funding import seed_annuaire, seed_open_campaign
from demo.operators import OPERATORS, demo_iban
from funding.calendar import paris_today
from funding.models import Campaign, FundingSchedule
from operators import services as operator_services
from operators.enums import ContractStatus, EnrolmentState, ReferencingStatus
from operators.models import ContractV2, Enrolment, MailDomain, Membership, Operator, Referencing

DEMO_CAMPAIGN = "demo"


class Command(BaseCommand):
    help = "Crée (ou met à jour) les données de démonstration : campagne, opérateurs, utilisateurs, demandes."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-password", help="mot de passe de tous les comptes de démo")

    def handle(self, *args, password, **options):
        # Demo history is built through the real services. Their e-mails leave when the transaction
        # commits (on_commit): the dummy backend must still be in place then, or `make run` prints them.
        # The demo's SIRENs are fictitious: the company directory would refuse them (or, offline, make every
        # enrolment wait for its timeout), so the demo enrols without the check.
        demo = override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", COMPANY_API_URL="")
        with demo, transaction.atomic():
            campaign = self._seed(password)
        self.stdout.write(self.style.SUCCESS(f"Données de démonstration prêtes (campagne « {campaign.code} »)."))

    def _seed(self, password):
        today = paris_today()
        campaign, _ = Campaign.objects.update_or_create(
            code=DEMO_CAMPAIGN,
            defaults={
                "label": "Campagne de démonstration",
                "schedule": FundingSchedule.objects.get(code="segur-2023"),
                "developer_schedule": FundingSchedule.objects.get(code="segur-2023"),
                "opening_date": today - timedelta(days=210),
                "closure_date": today - timedelta(days=30),
                "advance_deadline": today + timedelta(days=30),
                "balance_deadline": today + timedelta(days=90),
            },
        )
        # Agents first: the instructor validates the demo enrolments below.
        self._user("agent", password, email="agent@asp.example", staff=True, group="instructeur")
        self._user("supervisor", password, email="supervisor@asp.example", staff=True, group="valideur")
        self._user("admin", password, email="admin@asp.example", staff=True, superuser=True)
        operators = {}
        for username, name, siren, kind, provider_siren, ref, domain in OPERATORS:
            operator, _ = Operator.objects.update_or_create(
                siren=siren,
                defaults={
                    "legal_name": name,
                    "kind": kind,
                    "provider": operators.get(provider_siren),
                    "iban": demo_iban(siren),
                    "bic": "AGRIFRPP",
                    "contact_email": f"contact@{domain}",
                },
            )
            operators[siren] = operator
            MailDomain.objects.update_or_create(name=domain, defaults={"operator": operator})
            Referencing.objects.update_or_create(
                number=ref,
                defaults={
                    "operator": operator,
                    "status": ReferencingStatus.VALID,
                    "granted_on": today - timedelta(days=60),
                },
            )
            ContractV2.objects.update_or_create(
                operator=operator,
                defaults={
                    "status": ContractStatus.COUNTERSIGNED,
                    "signed_on": today - timedelta(days=90),
                    "countersigned_on": today - timedelta(days=80),
                },
            )
            if username:
                user = self._user(username, password, email=f"{username}@{domain}")
                self._enrol(user, operator, referencing_number=ref)
                Membership.objects.update_or_create(user=user, defaults={"operator": operator, "is_active": True})

        self.extra_seed(campaign=campaign, operators=list(operators.values()), password=password)
        return campaign

    def extra_seed(self, *, campaign, operators, password):
        """The Annuaire and claims parts of the demo (demo.funding and demo.claims)."""
        domain_of = {name.split()[0].lower(): domain for *_, name, _, _, _, _, domain in OPERATORS}
        closure = {domain_of[name]: (org, per) for name, (_, org, per) in DEMO_COUNTS.items()}
        # Six months earlier every park was about 5 % smaller, except Zeta's, which has since tripled:
        # the growth check flags it.
        reference = {
            domain: (org * 95 // 100, per * 95 // 100) if domain != domain_of["zeta"] else (org // 3, per // 3)
            for domain, (org, per) in closure.items()
        }
        seed_annuaire(campaign=campaign, closure_mailboxes=closure, reference_mailboxes=reference, stdout=self.stdout)
        seed_claims(campaign=campaign, operators=operators, stdout=self.stdout)
        by_name = {operator.legal_name.split()[0].lower(): operator for operator in operators}
        seed_open_campaign(
            today=paris_today(),
            counts_by_operator={by_name[name]: DEMO_COUNTS[name] for name in ("alpha", "beta")},
        )

    @staticmethod
    def _enrol(user, operator, *, referencing_number):
        """The portal user's enrolment, filed and validated through the real services (once)."""
        if Enrolment.objects.filter(user=user, operator=operator, state=EnrolmentState.VALIDATED).exists():
            return
        # A database seeded before enrolments existed: the membership comes back through validation.
        Membership.objects.filter(user=user).update(is_active=False)
        enrolment = operator_services.enrolment_submit(
            user=user,
            legal_name=operator.legal_name,
            siren=operator.siren,
            kind=operator.kind,
            provider_siren=operator.provider.siren if operator.provider_id else "",
            provider_referencing_number=operator.provider.referencing_number if operator.provider_id else "",
            referencing_number=referencing_number,
            iban=operator.iban,
            bic=operator.bic,
            contact_email=operator.contact_email,
            vat_liable=operator.vat_liable,
            documents={
                kind: SimpleUploadedFile(f"{kind}.pdf", demo_pdf_bytes(), content_type="application/pdf")
                for kind in operator_services.required_enrolment_proof_kinds(vat_liable=operator.vat_liable)
            },
        )
        agent = get_user_model().objects.get(username="agent")
        operator_services.enrolment_validate(
            enrolment=enrolment, actor=agent, comment="Démonstration : pièces conformes."
        )

    @staticmethod
    def _user(username, password, *, email, staff=False, superuser=False, group=None):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.email = email
        user.is_staff = staff
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get_or_create(name=group)[0]])
        return user
