"""The agents' groups and permissions are declared once (common.roles) and synced after every migrate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from common.roles import ROLE_PERMISSIONS, role_permissions, sync_roles
from tests.factories import agent, validator

pytestmark = pytest.mark.django_db

# What the migrations that used to grant them left in every database (read from one migrated with
# them): the declaration keeps existing databases exactly where they were.
EXPECTED = {
    "instructeur": {
        "claims.add_recovery",
        "claims.change_claim",
        "claims.change_recovery",
        "claims.view_bankreturn",
        "claims.view_claim",
        "claims.view_claimevent",
        "claims.view_deadlineextension",
        "claims.view_document",
        "claims.view_payment",
        "claims.view_paymentattempt",
        "claims.view_paymentbatch",
        "claims.view_paymentbatchevent",
        "claims.view_recovery",
        "funding.add_mailboxcount",
        "funding.change_mailboxcount",
        "funding.view_annuairesnapshot",
        "funding.view_campaign",
        "funding.view_fundingschedule",
        "funding.view_growthcheck",
        "funding.view_mailboxcount",
        "operators.add_contractv2",
        "operators.add_maildomain",
        "operators.add_referencing",
        "operators.change_bankdetailschange",
        "operators.change_contractv2",
        "operators.change_enrolment",
        "operators.change_fraudflag",
        "operators.change_maildomain",
        "operators.change_operator",
        "operators.change_referencing",
        "operators.view_bankdetailschange",
        "operators.view_bankdetailsevent",
        "operators.view_bankdetailsproof",
        "operators.view_contractv2",
        "operators.view_enrolment",
        "operators.view_enrolmentdocument",
        "operators.view_enrolmentevent",
        "operators.view_fraudflag",
        "operators.view_invitation",
        "operators.view_maildomain",
        "operators.view_membership",
        "operators.view_operator",
        "operators.view_referencing",
        "operators.view_webhook",
        "operators.view_webhookdelivery",
    },
    "valideur": {
        "claims.add_deadlineextension",
        "claims.add_payment",
        "claims.change_claim",
        "claims.change_recovery",
        "claims.view_bankreturn",
        "claims.view_claim",
        "claims.view_claimevent",
        "claims.view_deadlineextension",
        "claims.view_document",
        "claims.view_payment",
        "claims.view_paymentattempt",
        "claims.view_paymentbatch",
        "claims.view_paymentbatchevent",
        "claims.view_recovery",
        "funding.view_annuairesnapshot",
        "funding.view_campaign",
        "funding.view_fundingschedule",
        "funding.view_growthcheck",
        "funding.view_mailboxcount",
        "operators.change_bankdetailschange",
        "operators.change_fraudflag",
        "operators.view_bankdetailschange",
        "operators.view_bankdetailsevent",
        "operators.view_bankdetailsproof",
        "operators.view_contractv2",
        "operators.view_enrolment",
        "operators.view_enrolmentdocument",
        "operators.view_enrolmentevent",
        "operators.view_fraudflag",
        "operators.view_invitation",
        "operators.view_maildomain",
        "operators.view_membership",
        "operators.view_operator",
        "operators.view_referencing",
        "operators.view_webhook",
        "operators.view_webhookdelivery",
    },
}


def held():
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


def test_a_migrated_database_holds_exactly_the_declared_roles():
    assert held() == EXPECTED
    declared = {role: {f"{app}.{codename}" for app, codename in role_permissions(role)} for role in ROLE_PERMISSIONS}
    assert declared == EXPECTED


def test_every_declared_permission_exists():
    assert sync_roles().missing == []


def test_syncing_twice_changes_nothing_the_second_time(capsys):
    call_command("sync_roles")
    first = held()
    assert "rien à changer" in capsys.readouterr().out
    call_command("sync_roles")
    assert held() == first == EXPECTED
    assert "rien à changer" in capsys.readouterr().out


def test_sync_restores_a_drifted_database_and_says_what_it_changed(capsys):
    instructeur = Group.objects.get(name="instructeur")
    instructeur.permissions.remove(Permission.objects.get(codename="add_recovery"))
    instructeur.permissions.add(Permission.objects.get(codename="delete_claim"))  # granted by hand
    Group.objects.get(name="valideur").delete()
    Group.objects.create(name="support")  # not a declared role: left alone

    call_command("sync_roles")
    out = capsys.readouterr().out
    assert "instructeur : + claims.add_recovery" in out
    assert "instructeur : − claims.delete_claim" in out
    assert "groupe « valideur » créé" in out
    assert "valideur : + claims.add_payment" in out
    assert held() == {**EXPECTED, "support": set()}
    call_command("sync_roles")
    assert "rien à changer" in capsys.readouterr().out


def test_every_migrate_brings_the_groups_back_to_the_declaration():
    Group.objects.get(name="valideur").permissions.clear()
    call_command("migrate", verbosity=0)
    assert held() == EXPECTED


def test_the_admin_follows_the_declared_roles(client):
    client.force_login(agent())
    assert client.get(reverse("admin:operators_maildomain_add")).status_code == 200
    assert client.get(reverse("admin:claims_recovery_changelist")).status_code == 200
    client.force_login(validator())
    assert client.get(reverse("admin:operators_maildomain_add")).status_code == 403
    assert client.get(reverse("admin:operators_maildomain_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
