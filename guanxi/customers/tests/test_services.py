"""Customer services: merge, handover, delete/restore/purge, notes and mentions, attachments,
contacts on the timeline, reassignment notifications."""

import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from guanxi.activities.models import AuditEntry, Notification
from guanxi.customers import services
from guanxi.customers.models import (
    Address,
    Attachment,
    Contact,
    ContactLink,
    Customer,
    Note,
)
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory, TagFactory
from guanxi.users import roles
from guanxi.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(name="报价单.pdf", size=100, content_type="application/pdf"):
    return SimpleUploadedFile(name, b"x" * size, content_type=content_type)


def _actions(customer_id) -> list[str]:
    return list(
        AuditEntry.objects.filter(customer_id=customer_id)
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- merge ------------------------------------------------------------------------------


@pytest.fixture
def pair(users):
    """A target and its duplicate, each with contacts, addresses, notes, files and tags."""
    admin = users["admin"]
    target = CustomerFactory(owner=users["rep1"], name="万华化工", notes="老客户")
    source = CustomerFactory(
        owner=users["rep2"],
        name="万华化工（重复）",
        mobile="13800138000",
        email="info@wanhua.example",
        notes="展会认识",
        remarks={"erp": "C-001"},
    )
    shared = ContactFactory(customer=target, name="共同联系人")
    ContactLink.objects.create(customer=source, contact=shared, title="采购")
    only_source = ContactFactory(customer=source, name="源联系人")
    services.address_save(
        actor=admin, customer=source, address=Address(province="浙江省", city="杭州市")
    )
    services.address_save(
        actor=admin, customer=target, address=Address(province="上海市", city="上海市")
    )
    note = services.note_create(actor=admin, customer=source, body="源客户的备注")
    attachment = services.attachment_add(actor=admin, customer=source, upload=_upload())
    source.tags.add(TagFactory(name="展会"))
    target.tags.add(TagFactory(name="重点"))
    return {
        "target": target,
        "source": source,
        "shared": shared,
        "only_source": only_source,
        "note": note,
        "attachment": attachment,
    }


def test_merge_moves_everything_to_the_target_and_soft_deletes_the_source(users, pair):
    target, source = pair["target"], pair["source"]
    source_history = set(
        AuditEntry.objects.filter(customer_id=source.pk).values_list("pk", flat=True)
    )
    assert source_history
    # when the duplicate is merged into the target
    services.customer_merge(actor=users["admin"], target=target, source=source)
    target.refresh_from_db()
    source.refresh_from_db()
    # then contacts (the shared one once), addresses, notes, files and tags moved
    assert sorted(c.name for c in target.contacts.all()) == ["共同联系人", "源联系人"]
    assert ContactLink.objects.filter(customer=target, contact=pair["shared"]).count() == 1
    assert not ContactLink.objects.filter(customer=source).exists()
    assert sorted(a.city for a in target.addresses.all()) == ["上海市", "杭州市"]
    assert target.addresses.filter(is_primary=True).count() == 1
    assert Note.objects.get(pk=pair["note"].pk).customer_id == target.pk
    assert Attachment.objects.get(pk=pair["attachment"].pk).customer_id == target.pk
    assert set(target.tags.values_list("name", flat=True)) == {"展会", "重点"}
    # and the source's timeline now belongs to the target
    moved = set(AuditEntry.objects.filter(customer_id=target.pk).values_list("pk", flat=True))
    assert source_history <= moved
    assert not AuditEntry.objects.filter(customer_id=source.pk).exists()
    # empty target fields were filled in, existing ones kept
    assert target.mobile == "13800138000"
    assert target.email == "info@wanhua.example"
    assert target.name == "万华化工"
    assert target.notes == "老客户\n\n展会认识"
    assert target.remarks == {"erp": "C-001"}
    # the source is soft-deleted and points at the target
    assert source.deleted_at is not None
    assert source.deleted_by == users["admin"]
    assert source.merged_into == target
    merge = AuditEntry.objects.get(customer_id=target.pk, action="merge")
    assert merge.actor == users["admin"]
    assert "万华化工（重复）" in merge.message
    # search finds the target by the number it inherited
    assert target.search_text.count("13800138000") == 1


def test_merge_into_itself_is_refused(users, pair):
    with pytest.raises(ValidationError):
        services.customer_merge(actor=users["admin"], target=pair["target"], source=pair["target"])
    pair["target"].refresh_from_db()
    assert pair["target"].deleted_at is None


def test_merge_keeps_one_primary_contact(users):
    target = CustomerFactory(owner=users["rep1"])
    source = CustomerFactory(owner=users["rep1"])
    ContactFactory(customer=target, name="甲", customer__is_primary=True)
    ContactFactory(customer=source, name="乙", customer__is_primary=True)
    services.customer_merge(actor=users["admin"], target=target, source=source)
    assert target.contact_links.filter(is_primary=True).count() == 1


# --- handover and reassign ------------------------------------------------------------------


def test_handover_shares_all_customers_round_robin_and_logs(
    users, django_capture_on_commit_callbacks
):
    # given rep1 owns five customers (one of them in the trash)
    leaving, a, b = users["rep1"], users["rep2"], users["rep3"]
    owned = [CustomerFactory(owner=leaving, name=f"客户{i}") for i in range(5)]
    services.customer_delete(actor=leaving, customer=owned[4])
    untouched = CustomerFactory(owner=users["manager"])
    # when the administrator hands rep1 over to rep2 and rep3
    with django_capture_on_commit_callbacks(execute=True):
        result = services.user_handover(
            actor=users["admin"], from_user=leaving, to_users=[a, b], deactivate=True
        )
    # then the customers alternate by id: 3 to rep2, 2 to rep3, none left with rep1
    assert result == {a.pk: 3, b.pk: 2}
    owners = [Customer.objects.get(pk=c.pk).owner for c in owned]
    assert owners == [a, b, a, b, a]
    assert not Customer.objects.filter(owner=leaving).exists()
    assert Customer.objects.get(pk=owned[0].pk).team == a.team
    untouched.refresh_from_db()
    assert untouched.owner == users["manager"]
    # each customer's timeline records the handover
    for c in owned:
        entry = AuditEntry.objects.get(customer_id=c.pk, action="handover")
        assert entry.actor == users["admin"]
        assert entry.changes["owner"][0] == str(leaving)
    summary = AuditEntry.objects.get(subject_type="user", subject_id=leaving.pk)
    assert summary.action == "handover"
    assert summary.changes["customers"][0] == 5
    # the departing user is deactivated, the receivers are told
    leaving.refresh_from_db()
    assert leaving.is_active is False
    assert Notification.objects.filter(user=a, kind="assigned").count() == 1
    assert Notification.objects.filter(user=b, kind="assigned").count() == 1


def test_handover_refuses_no_receiver_and_self(users):
    rep = users["rep1"]
    CustomerFactory(owner=rep)
    with pytest.raises(ValidationError):
        services.user_handover(actor=users["admin"], from_user=rep, to_users=[])
    with pytest.raises(ValidationError):
        services.user_handover(actor=users["admin"], from_user=rep, to_users=[rep, users["rep2"]])
    assert Customer.objects.get().owner == rep


def test_reassign_notifies_the_new_owner_once(users, django_capture_on_commit_callbacks):
    customers = [CustomerFactory(owner=users["rep1"]) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.customers_reassign(
            actor=users["manager"],
            customers=Customer.objects.filter(pk__in=[c.pk for c in customers]),
            new_owner=users["rep2"],
        )
    assert moved == 3
    notes = list(Notification.objects.filter(user=users["rep2"]))
    assert len(notes) == 1
    assert notes[0].kind == "assigned"
    assert notes[0].actor == users["manager"]
    assert not Notification.objects.exclude(user=users["rep2"]).exists()
    assert AuditEntry.objects.filter(action="owner").count() == 3


def test_reassign_to_oneself_sends_no_notification(users, django_capture_on_commit_callbacks):
    c = CustomerFactory(owner=users["rep1"])
    with django_capture_on_commit_callbacks(execute=True):
        services.customers_reassign(
            actor=users["manager"],
            customers=Customer.objects.filter(pk=c.pk),
            new_owner=users["manager"],
        )
    assert Customer.objects.get(pk=c.pk).owner == users["manager"]
    assert not Notification.objects.exists()


def test_reassign_to_an_inactive_user_is_refused(users):
    gone = UserFactory(username="gone", role=roles.SALES_REP, is_active=False)
    c = CustomerFactory(owner=users["rep1"])
    with pytest.raises(ValidationError):
        services.customers_reassign(
            actor=users["admin"], customers=Customer.objects.filter(pk=c.pk), new_owner=gone
        )
    assert Customer.objects.get(pk=c.pk).owner == users["rep1"]


# --- delete, restore, purge -------------------------------------------------------------------


def test_delete_and_restore_are_logged(users):
    c = CustomerFactory(owner=users["rep1"])
    services.customer_delete(actor=users["manager"], customer=c)
    c.refresh_from_db()
    assert c.deleted_at is not None
    assert c.deleted_by == users["manager"]
    services.customer_restore(actor=users["manager"], customer=c)
    c.refresh_from_db()
    assert c.deleted_at is None
    assert c.deleted_by is None
    assert _actions(c.pk)[-2:] == ["delete", "restore"]


def test_purge_only_from_the_trash_and_the_audit_trail_survives(
    users, settings, django_capture_on_commit_callbacks
):
    admin = users["admin"]
    c = CustomerFactory(owner=users["rep1"], name="待清除")
    pk = c.pk
    ContactFactory(customer=c)
    services.note_create(actor=admin, customer=c, body="备注")
    attachment = services.attachment_add(actor=admin, customer=c, upload=_upload())
    path = attachment.file.path
    # a live customer cannot be purged
    with pytest.raises(ValidationError):
        services.customer_purge(actor=admin, customer=c)
    assert Customer.objects.filter(pk=c.pk).exists()
    # from the trash it can
    services.customer_delete(actor=admin, customer=c)
    c.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):  # files go once it commits
        services.customer_purge(actor=admin, customer=c)
    assert not Customer.objects.filter(pk=pk).exists()
    assert not Note.objects.exists()
    assert not Attachment.objects.exists()
    assert not os.path.exists(path)
    # the history is kept, ending with the purge and a snapshot of the record
    assert _actions(pk)[-2:] == ["delete", "purge"]
    purge = AuditEntry.objects.get(customer_id=pk, action="purge")
    assert purge.actor == admin
    assert purge.changes["snapshot"][1]["name"] == "待清除"
    assert "note" in _actions(pk)


# --- notes and mentions -------------------------------------------------------------------------


def test_a_mention_notifies_the_mentioned_user_only(users, django_capture_on_commit_callbacks):
    c = CustomerFactory(owner=users["rep1"], name="万华化工")
    with django_capture_on_commit_callbacks(execute=True):
        note = services.note_create(
            actor=users["rep1"], customer=c, body="@manager 请审批报价，@rep1 自己跟进 @nobody"
        )
    assert set(note.mentions.values_list("username", flat=True)) == {"manager", "rep1"}
    notified = list(Notification.objects.all())
    assert [n.user for n in notified] == [users["manager"]]
    assert notified[0].kind == "mention"
    assert notified[0].actor == users["rep1"]
    assert "万华化工" in notified[0].message
    assert notified[0].url == reverse("customers:customer-detail", args=[c.pk]) + f"#note-{note.pk}"
    assert AuditEntry.objects.get(customer_id=c.pk, action="note").message.startswith("@manager")


def test_no_notification_without_commit(users, django_capture_on_commit_callbacks):
    c = CustomerFactory(owner=users["rep1"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.note_create(actor=users["rep1"], customer=c, body="@manager 看一下")
    assert len(callbacks) == 1
    assert not Notification.objects.exists()


def test_inactive_users_are_not_notified(users, django_capture_on_commit_callbacks):
    UserFactory(username="former", is_active=False)
    c = CustomerFactory(owner=users["rep1"])
    with django_capture_on_commit_callbacks(execute=True):
        services.note_create(actor=users["rep1"], customer=c, body="@former 还记得吗")
    assert not Notification.objects.exists()


def test_a_mention_at_the_end_of_a_sentence_notifies(users, django_capture_on_commit_callbacks):
    c = CustomerFactory(owner=users["rep1"])
    with django_capture_on_commit_callbacks(execute=True):
        services.note_create(actor=users["rep1"], customer=c, body="Please approve, @manager.")
    assert Notification.objects.filter(user=users["manager"]).count() == 1


def test_an_empty_note_is_refused(users):
    c = CustomerFactory(owner=users["rep1"])
    with pytest.raises(ValidationError):
        services.note_create(actor=users["rep1"], customer=c, body="  \n ")
    assert not Note.objects.exists()


# --- attachments ----------------------------------------------------------------------------


def test_attachment_is_stored_and_logged(users):
    c = CustomerFactory(owner=users["rep1"])
    attachment = services.attachment_add(
        actor=users["agent1"], customer=c, upload=_upload("../../合同 V2.PDF", size=42)
    )
    assert attachment.name == "合同 V2.PDF"
    assert attachment.size == 42
    assert attachment.uploaded_by == users["agent1"]
    assert attachment.file.name.startswith(f"attachments/{c.pk}/")
    assert attachment.file.read() == b"x" * 42
    assert _actions(c.pk)[-1] == "attach"


def test_attachment_over_the_size_limit_is_refused(users, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    c = CustomerFactory(owner=users["rep1"])
    services.attachment_add(actor=users["rep1"], customer=c, upload=_upload(size=1024))
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=users["rep1"], customer=c, upload=_upload(size=1025))
    assert "file" in exc.value.message_dict
    assert Attachment.objects.count() == 1


@pytest.mark.parametrize("name", ["setup.exe", "script.sh", "noextension", "page.html", "a.pdf.js"])
def test_attachment_of_a_disallowed_type_is_refused(users, name):
    c = CustomerFactory(owner=users["rep1"])
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=users["rep1"], customer=c, upload=_upload(name))
    extension = name.rsplit(".", 1)[-1] if "." in name else "?"
    assert f"“{extension}”" in exc.value.message_dict["file"][0]
    assert not Attachment.objects.exists()
    assert "attach" not in _actions(c.pk)


def test_upload_page_reports_the_limit_and_download_is_scoped(client, users, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    c = CustomerFactory(owner=users["rep1"])
    client.force_login(users["rep1"])
    url = reverse("customers:attachment-upload", args=[c.pk])
    response = client.post(url, {"file": _upload(size=11)}, follow=True)
    assert "The file is larger than" in response.content.decode()
    assert not Attachment.objects.exists()
    client.post(url, {"file": _upload("备忘.txt", size=5, content_type="text/plain")})
    attachment = Attachment.objects.get()
    download = reverse("customers:attachment-download", args=[attachment.pk])
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"xxxxx"
    client.force_login(users["rep2"])
    assert client.get(download).status_code == 404


# --- contacts and addresses on the timeline ---------------------------------------------------


def test_contact_create_update_link_unlink_delete_are_on_the_timeline(users):
    rep = users["rep1"]
    c1 = CustomerFactory(owner=rep)
    c2 = CustomerFactory(owner=rep)
    contact = services.contact_create(
        actor=rep,
        customer=c1,
        data={"name": "王经理", "mobile": "+86 139 0000 0001"},
        title="采购经理",
        is_primary=True,
    )
    assert contact.mobile == "13900000001"
    assert contact.name_initials == "wjl"
    link = ContactLink.objects.get(customer=c1, contact=contact)
    assert (link.title, link.is_primary) == ("采购经理", True)
    created = AuditEntry.objects.get(customer_id=c1.pk, action="create", subject_type="contact")
    assert created.changes["name"] == [None, "王经理"]

    services.contact_link(actor=rep, contact=contact, customer=c2, title="顾问")
    link2 = AuditEntry.objects.get(customer_id=c2.pk, action="link")
    assert link2.subject_id == contact.pk
    assert link2.changes["title"] == [None, "顾问"]

    services.contact_update(
        actor=rep, contact=Contact.objects.get(pk=contact.pk), data={"name": "王总"}
    )
    for customer in (c1, c2):
        update = AuditEntry.objects.get(customer_id=customer.pk, action="update")
        assert update.changes == {"name": ["王经理", "王总"]}

    services.contact_unlink(actor=rep, contact=contact, customer=c2)
    assert not ContactLink.objects.filter(customer=c2).exists()
    assert AuditEntry.objects.filter(customer_id=c2.pk, action="unlink").exists()

    services.contact_delete(actor=rep, contact=contact)
    assert Contact.objects.get(pk=contact.pk).deleted_at is not None
    assert AuditEntry.objects.filter(customer_id=c1.pk, action="delete").exists()
    assert not AuditEntry.objects.filter(customer_id=c2.pk, action="delete").exists()


def test_contact_update_without_changes_logs_nothing(users):
    c = CustomerFactory(owner=users["rep1"])
    contact = ContactFactory(customer=c, name="李四")
    services.contact_update(actor=users["rep1"], contact=contact, data={"name": "李四"})
    assert not AuditEntry.objects.filter(action="update").exists()


def test_contact_with_a_bad_mobile_is_refused(users):
    c = CustomerFactory(owner=users["rep1"])
    with pytest.raises(ValidationError) as exc:
        services.contact_create(
            actor=users["rep1"], customer=c, data={"name": "张", "mobile": "123"}
        )
    assert "mobile" in exc.value.message_dict
    assert not Contact.objects.exists()


def test_only_one_primary_contact_per_customer(users):
    c = CustomerFactory(owner=users["rep1"])
    first = services.contact_create(
        actor=users["rep1"], customer=c, data={"name": "甲"}, is_primary=True
    )
    services.contact_create(actor=users["rep1"], customer=c, data={"name": "乙"}, is_primary=True)
    primaries = list(
        c.contact_links.filter(is_primary=True).values_list("contact__name", flat=True)
    )
    assert primaries == ["乙"]
    assert not ContactLink.objects.get(customer=c, contact=first).is_primary


def test_the_first_address_is_primary_and_sets_the_customers_region(users):
    c = CustomerFactory(owner=users["rep1"], province="", city="")
    services.address_save(
        actor=users["rep1"], customer=c, address=Address(province="浙江省", city="宁波市")
    )
    c.refresh_from_db()
    assert (c.province, c.city) == ("浙江省", "宁波市")
    assert c.addresses.get().is_primary
    assert "宁波" in c.search_text
    assert AuditEntry.objects.filter(customer_id=c.pk, subject_type="address").exists()


def test_customer_create_and_update_validate_through_the_service(users):
    rep = users["rep1"]
    with pytest.raises(ValidationError) as exc:
        services.customer_create(
            actor=rep, data={"name": "王先生", "kind": "person", "uscc": "91350100M000100Y43"}
        )
    assert "uscc" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=rep, data={"name": "王先生", "lunar_birthday": "13-40"})
    assert "lunar_birthday" in exc.value.message_dict
    customer = services.customer_create(actor=rep, data={"name": "  王   先生 "})
    assert customer.name == "王 先生"
    assert customer.owner == rep
    assert customer.team == rep.team


def test_a_mention_does_not_notify_a_colleague_who_cannot_see_the_customer(
    users, django_capture_on_commit_callbacks
):
    # given a customer of rep1, which rep2 (another sub-team) may not see
    customer = CustomerFactory(owner=users["rep1"])
    # when rep1 mentions both rep2 and the manager
    with django_capture_on_commit_callbacks(execute=True):
        services.note_create(actor=users["rep1"], customer=customer, body="@rep2 @manager 请跟进")
    # then only the manager, who can see it, is told (the notice names the customer)
    assert users["manager"].notifications.filter(kind="mention").count() == 1
    assert not users["rep2"].notifications.exists()


def test_the_longest_chinese_names_fit_their_pinyin_columns(users):
    # a 200-character company name and a 100-character contact name of six-letter syllables
    customer = services.customer_create(
        actor=users["rep1"], data={"name": "庄" * 200, "kind": "company"}
    )
    contact = services.contact_create(
        actor=users["rep1"], customer=customer, data={"name": "双" * 100}
    )
    customer.refresh_from_db()
    contact.refresh_from_db()
    assert customer.name_pinyin.startswith("zhuang") and len(customer.name_pinyin) == 600
    assert contact.name_pinyin.startswith("shuang") and len(contact.name_pinyin) == 600
    assert customer.name_initials == "z" * 200


def test_merge_moves_opportunities_leads_and_follow_ups_too(users):
    from guanxi.activities.services import follow_up_plan
    from guanxi.sales.models import Opportunity
    from guanxi.sales.services import opportunity_create
    from guanxi.sales.tests.factories import LeadFactory

    target, source = CustomerFactory(owner=users["rep1"]), CustomerFactory(owner=users["rep1"])
    opportunity = opportunity_create(
        actor=users["rep1"], data={"name": "年度采购", "customer": source, "amount": "5000"}
    )
    lead = LeadFactory(owner=users["rep1"], customer=source)
    follow_up = follow_up_plan(
        actor=users["rep1"], customer=source, method="call", due_at=timezone.now()
    )
    services.customer_merge(actor=users["rep1"], target=target, source=source)
    assert Opportunity.objects.get(pk=opportunity.pk).customer_id == target.pk
    lead.refresh_from_db()
    follow_up.refresh_from_db()
    assert (lead.customer_id, follow_up.customer_id) == (target.pk, target.pk)


def test_purging_a_customer_with_opportunities_is_refused_with_a_reason(users):
    from guanxi.sales.services import opportunity_create

    customer = CustomerFactory(owner=users["rep1"])
    opportunity_create(
        actor=users["rep1"], data={"name": "年度采购", "customer": customer, "amount": "5000"}
    )
    services.customer_delete(actor=users["admin"], customer=customer)
    customer.refresh_from_db()
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.customer_purge(actor=users["admin"], customer=customer)
    assert "opportunities; move or delete them first" in str(exc.value)
    assert Customer.objects.filter(pk=customer.pk).exists()
