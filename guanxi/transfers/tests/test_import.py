"""Importing customers and contacts through the services (no web layer)."""

from typing import cast

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.activities.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.transfers import services
from guanxi.transfers.models import ImportIssue, ImportJob, Status
from guanxi.transfers.tests.conftest import csv_bytes, make_upload

pytestmark = pytest.mark.django_db

HEADER = ["客户名称", "手机", "邮箱", "城市", "客户等级", "标签"]


def run_import(
    user,
    rows,
    *,
    kind="customers",
    header=None,
    mode="skip",
    all_or_nothing=False,
    name="customers.csv",
    content=None,
    batch_size=500,
):
    upload = make_upload(
        name, content if content is not None else csv_bytes([header or HEADER, *rows])
    )
    job = services.import_job_create(actor=user, kind=kind, upload=upload)
    services.import_job_configure(
        actor=user, job=job, mapping=job.mapping, duplicate_mode=mode, all_or_nothing=all_or_nothing
    )
    job.status = Status.RUNNING
    job.save()
    return services.import_job_run(job_id=job.pk, batch_size=batch_size)


def issues(job):
    return [(i.row, i.field, i.level) for i in ImportIssue.objects.filter(job=job)]


def test_valid_rows_create_customers_with_tags_owner_and_audit(users):
    # given a manager's file with two good rows
    manager = users["manager"]
    job = run_import(
        manager,
        [
            ["杭州万华化工", "138 0000 0001", "A@X.CN", "杭州市", "重点客户", "展会，VIP"],
            ["上海宝钢贸易", "", "", "上海市", "", ""],
        ],
    )
    # then both exist, owned by the importer, normalised, tagged, and logged as imported
    assert (job.status, job.created, job.failed) == (Status.DONE, 2, 0)
    wanhua = Customer.objects.get(name="杭州万华化工")
    assert (wanhua.owner, wanhua.mobile, wanhua.email, wanhua.tier) == (
        manager,
        "13800000001",
        "a@x.cn",
        "key",
    )
    assert wanhua.team_id == manager.team_id
    assert sorted(wanhua.tags.values_list("name", flat=True)) == ["VIP", "展会"]
    assert AuditEntry.objects.filter(customer_id=wanhua.pk, action="import").exists()
    assert job.rows_per_second


def test_invalid_rows_are_reported_with_row_number_and_field_and_good_rows_imported(users):
    # given rows 3 and 4 are bad (mobile, empty name) and 5 has an unknown tier
    job = run_import(
        users["admin"],
        [
            ["好客户", "13800000001", "", "", "", ""],
            ["坏手机", "12345", "", "", "", ""],
            ["", "13800000002", "", "", "", ""],
            ["坏等级", "", "", "", "超级", ""],
        ],
    )
    # then the good row is in, and each error names its row and field
    assert (job.created, job.failed, job.processed) == (1, 3, 4)
    assert issues(job) == [(3, "mobile", "error"), (4, "name", "error"), (5, "tier", "error")]
    assert Customer.objects.filter(name="好客户").exists()
    # and the error report holds row, field label, reason and the original values
    report = job.error_file.read().decode("utf-8-sig")
    assert "坏手机" in report and "12345" in report
    assert report.splitlines()[1].startswith("3,")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("skip", {"created": 0, "updated": 0, "skipped": 1, "count": 1, "email": ""}),
        ("update", {"created": 0, "updated": 1, "skipped": 0, "count": 1, "email": "new@x.cn"}),
        ("create", {"created": 1, "updated": 0, "skipped": 0, "count": 2, "email": ""}),
    ],
)
def test_duplicate_modes(users, mode, expected):
    # given an existing customer of the manager's team with the same mobile
    existing = cast(
        Customer,
        CustomerFactory(owner=users["rep1"], name="杭州万华", mobile="13800000001", email=""),
    )
    # when a row with the same mobile is imported in each mode
    job = run_import(
        users["manager"], [["万华化工", "13800000001", "new@x.cn", "", "", ""]], mode=mode
    )
    # then it is skipped, updates the existing one (only the given fields), or is added
    existing.refresh_from_db()
    assert (job.created, job.updated, job.skipped, job.failed) == (
        expected["created"],
        expected["updated"],
        expected["skipped"],
        0,
    )
    assert Customer.objects.filter(mobile="13800000001").count() == expected["count"]
    assert existing.email == expected["email"]
    if mode == "update":
        assert existing.name == "万华化工"
        assert existing.city == "杭州市"  # not in the file: left alone


def test_update_of_a_customer_the_importer_may_not_edit_is_an_error(users):
    # given a customer of rep3 (north team), outside the east manager's scope
    CustomerFactory(owner=users["rep3"], name="北京燕山石化", mobile="13900000009")
    # when the manager imports a row matching it in update mode
    job = run_import(users["manager"], [["燕山石化", "13900000009", "", "", "", ""]], mode="update")
    # then the row is reported, not silently dropped, and nothing changes
    assert (job.updated, job.failed) == (0, 1)
    assert "may not change" in ImportIssue.objects.get(job=job).message
    assert Customer.objects.get(mobile="13900000009").name == "北京燕山石化"


def test_the_same_customer_twice_in_one_file_is_created_once_in_skip_mode(users):
    job = run_import(
        users["admin"],
        [["甲公司", "13800000001", "", "", "", ""], ["甲公司二", "13800000001", "", "", "", ""]],
    )
    assert (job.created, job.skipped) == (1, 1)
    assert "row 2" in ImportIssue.objects.get(job=job).message


def test_all_or_nothing_imports_nothing_when_one_row_is_bad(users):
    # given a file with one bad row among good ones, imported all-or-nothing
    job = run_import(
        users["admin"],
        [["甲", "", "", "", "", ""], ["乙", "123", "", "", "", ""], ["丙", "", "", "", "", ""]],
        all_or_nothing=True,
        batch_size=2,
    )
    # then no customer is created and the bad row is reported
    assert Customer.objects.count() == 0
    assert (job.status, job.created, job.failed) == (Status.DONE, 0, 1)
    assert issues(job) == [(3, "mobile", "error")]
    assert "Nothing was imported" in job.message


def test_all_or_nothing_imports_everything_when_all_rows_are_good(users):
    job = run_import(
        users["admin"],
        [["甲", "", "", "", "", ""], ["乙", "", "", "", "", ""], ["丙", "", "", "", "", ""]],
        all_or_nothing=True,
        batch_size=2,
    )
    assert (job.created, job.failed, job.processed) == (3, 0, 3)
    assert Customer.objects.count() == 3


def test_rerunning_a_finished_job_does_nothing(users):
    # given a finished import
    job = run_import(users["admin"], [["甲", "", "", "", "", ""]])
    # when the task runs again (a retried Celery message)
    again = services.import_job_run(job_id=job.pk)
    # then nothing is imported twice
    assert again.status == Status.DONE
    assert Customer.objects.count() == 1


def test_an_interrupted_job_resumes_after_the_last_committed_batch(users, monkeypatch):
    # given a worker that dies (not an exception the job catches) in the second batch
    rows = [[f"客户{i}", "", "", "", "", ""] for i in range(5)]
    real = services._Importer.process
    calls = {"n": 0}

    def dying(self, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(services._Importer, "process", dying)
    with pytest.raises(KeyboardInterrupt):
        run_import(users["admin"], rows, batch_size=2)
    job = ImportJob.objects.get()
    assert (job.status, job.processed, Customer.objects.count()) == (Status.RUNNING, 2, 2)
    # when the task is delivered again
    monkeypatch.setattr(services._Importer, "process", real)
    job = services.import_job_run(job_id=job.pk, batch_size=2)
    # then it finishes the rest without duplicating the first batch
    assert (job.status, job.processed, job.created) == (Status.DONE, 5, 5)
    assert Customer.objects.count() == 5


def test_a_rep_without_the_import_permission_cannot_import(users):
    with pytest.raises(PermissionDenied):
        services.import_job_create(
            actor=users["rep1"], kind="customers", upload=make_upload("a.csv", b"name\nx\n")
        )


def test_contacts_link_to_customers_by_uscc_or_name_visible_to_the_importer(users):
    # given two customers in the manager's scope and one outside it
    a = cast(
        Customer, CustomerFactory(owner=users["rep1"], name="甲公司", uscc="91330100MA2B3C4D5N")
    )
    b = cast(Customer, CustomerFactory(owner=users["rep2"], name="乙公司"))
    CustomerFactory(owner=users["rep3"], name="丙公司")
    header = ["姓名", "手机", "职务", "客户名称", "统一社会信用代码"]
    rows = [
        ["张三", "13800000001", "采购经理", "", "91330100MA2B3C4D5N"],
        ["李四", "13800000002", "", "乙公司", ""],
        ["王五", "13800000003", "", "丙公司", ""],
        ["赵六", "13800000004", "", "不存在", ""],
    ]
    # when the manager imports contacts
    job = run_import(users["manager"], rows, kind="contacts", header=header, name="contacts.csv")
    # then contacts link by USCC or name; invisible and unknown customers are errors
    assert (job.created, job.failed) == (2, 2)
    assert a.contacts.get().name == "张三"
    assert a.contact_links.get().title == "采购经理"
    assert b.contacts.get().mobile == "13800000002"
    assert [i[0] for i in issues(job)] == [4, 5]
    assert Contact.objects.count() == 2
