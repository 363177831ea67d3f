"""Exports: scoped to the user's access, exactly the filtered list, audited."""

import csv
import io

import pytest
import vobject
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from guanxi.activities.models import AuditEntry
from guanxi.customers.models import Contact, ContactLink
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.transfers import services
from guanxi.transfers.models import ExportJob, Status
from guanxi.transfers.tests.conftest import make_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(users):
    return {
        "rep1": CustomerFactory(owner=users["rep1"], name="上海宝钢贸易", tier="key"),
        "rep2": CustomerFactory(owner=users["rep2"], name="杭州万华化工", tier="key"),
        "rep2b": CustomerFactory(owner=users["rep2"], name="杭州娃哈哈", tier="ordinary"),
        "rep3": CustomerFactory(owner=users["rep3"], name="北京燕山石化"),
    }


def grant_export(user):
    user.user_permissions.add(Permission.objects.get(codename="export_customer"))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


def download(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_names(content: bytes) -> set[str]:
    assert content.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese correctly
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {row[0] for row in rows[1:]}


def test_rep2_export_never_contains_rep1_customers(client, users, book):
    # given rep2 is allowed to export
    rep2 = grant_export(users["rep2"])
    client.force_login(rep2)
    # when rep2 exports the whole list (no filters)
    response = client.get(reverse("transfers:export"), {"records": "customers", "format": "csv"})
    # then only rep2's customers are in it
    assert response.status_code == 200
    assert csv_names(download(response)) == {"杭州万华化工", "杭州娃哈哈"}


def test_export_is_exactly_the_filtered_list_and_is_audited(client, users, book):
    # given the executive filters key customers searching "万华"
    client.force_login(users["exec1"])
    response = client.get(
        reverse("transfers:export"),
        {"records": "customers", "format": "csv", "tier": "key", "q": "万华"},
    )
    # then the file holds exactly that list
    assert csv_names(download(response)) == {"杭州万华化工"}
    # and the export is logged with its row count and filters
    entry = AuditEntry.objects.get(action="export")
    assert entry.changes["rows"] == [None, 1]
    assert entry.changes["filters"][1]["tier"] == "key"
    assert entry.actor == users["exec1"]


def test_agent_cannot_export(client, users, book):
    client.force_login(users["agent1"])
    response = client.get(reverse("transfers:export"), {"records": "customers"})
    assert response.status_code == 403
    assert not ExportJob.objects.exists()


def test_xlsx_export_opens_with_headers_and_rows(client, users, book):
    client.force_login(users["exec1"])
    response = client.get(reverse("transfers:export"), {"records": "customers", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(download(response)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(book)  # a header row, then one row per customer
    assert {r[0] for r in rows[1:]} == {c.name for c in book.values()}


def test_large_export_runs_in_the_background_and_only_its_owner_downloads(
    client, users, book, monkeypatch, django_capture_on_commit_callbacks
):
    # given exports above two rows count as large
    monkeypatch.setattr(services, "EXPORT_INLINE_MAX", 2)
    client.force_login(users["exec1"])
    # when the executive exports four customers
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("transfers:export"), {"records": "customers"})
    # then they are sent to a progress page, which offers the file once done
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("transfers:export-detail", args=[job.pk])
    page = client.get(response.url, headers={"HX-Request": "true"})
    assert b"<html" not in page.content and b"every 1s" not in page.content
    assert reverse("transfers:export-download", args=[job.pk]).encode() in page.content
    file = client.get(reverse("transfers:export-download", args=[job.pk]))
    assert len(csv_names(download(file))) == 4
    # and nobody else can fetch it
    client.force_login(users["admin"])
    assert client.get(reverse("transfers:export-download", args=[job.pk])).status_code == 404
    assert client.get(reverse("transfers:export-detail", args=[job.pk])).status_code == 404


def test_contacts_vcard_round_trip(users, book):
    # given two contacts of a customer rep2 owns
    customer = book["rep2"]
    ContactFactory(
        name="张伟",
        mobile="13800000001",
        email="zw@x.cn",
        customer=customer,
        customer__title="采购经理",
    )
    ContactFactory(name="李娜", mobile="13800000002", customer=customer)
    admin = users["admin"]
    # when the contacts are exported as vCard 3.0
    job = services.export_job_run(
        job_id=services.export_job_create(actor=admin, kind="contacts", fmt="vcf", filters={}).pk
    )
    content = job.file.read()
    cards = list(vobject.readComponents(content.decode()))
    assert [c.version.value for c in cards] == ["3.0", "3.0"]
    assert {c.fn.value for c in cards} == {"张伟", "李娜"}
    # and imported again after the contacts were removed
    ContactLink.objects.all().delete()
    Contact.objects.all().delete()
    imported = services.import_job_create(
        actor=admin, kind="contacts", upload=make_upload("contacts.vcf", content)
    )
    services.import_job_start(actor=admin, job=imported)
    imported = services.import_job_run(job_id=imported.pk)
    # then the same contacts are back, linked to the customer by its name, with the title
    assert (imported.status, imported.created, imported.failed) == (Status.DONE, 2, 0)
    zhang = customer.contact_links.select_related("contact").get(contact__name="张伟")
    assert (zhang.contact.mobile, zhang.contact.email, zhang.title) == (
        "13800000001",
        "zw@x.cn",
        "采购经理",
    )


def test_customer_export_reimports_as_duplicates(users, book):
    # given an export of all customers
    admin = users["admin"]
    job = services.export_job_run(
        job_id=services.export_job_create(actor=admin, kind="customers", fmt="xlsx", filters={}).pk
    )
    # when the file is imported again in skip mode
    imported = services.import_job_create(
        actor=admin, kind="customers", upload=make_upload("back.xlsx", job.file.read())
    )
    assert imported.mapping[:3] == ["name", "kind", "industry"]
    services.import_job_start(actor=admin, job=imported)
    imported = services.import_job_run(job_id=imported.pk)
    # then every row is recognised as an existing customer
    assert (imported.created, imported.skipped, imported.failed) == (0, 4, 0)


def test_old_export_files_expire_but_the_job_record_stays(
    client, users, book, monkeypatch, django_capture_on_commit_callbacks
):
    # given a finished background export, forty days old
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(services, "EXPORT_INLINE_MAX", 2)
    client.force_login(users["exec1"])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("transfers:export"), {"records": "customers"})
    job = ExportJob.objects.get()
    assert job.file
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=40))
    # when files older than thirty days expire
    deleted = services.transfer_files_expire(older_than_days=30)
    # then the file is gone, the job is kept, and downloading it is a 404
    job.refresh_from_db()
    assert deleted == 1
    assert not job.file
    import os

    assert not os.path.exists(path)
    assert client.get(reverse("transfers:export-download", args=[job.pk])).status_code == 404
    # and a recent job is left alone
    assert services.transfer_files_expire(older_than_days=30) == 0
