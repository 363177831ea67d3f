"""The import pages end to end with the Django test client."""

import pytest
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.transfers.models import ImportJob, Status
from guanxi.transfers.tests.conftest import csv_bytes, make_upload, xlsx_bytes

pytestmark = pytest.mark.django_db


def upload(client, name, content, kind="customers"):
    return client.post(
        reverse("transfers:import-new"), {"kind": kind, "file": make_upload(name, content)}
    )


def mapping_post(job, **extra):
    data = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    data.update({"duplicate_mode": "skip"}, **extra)
    return data


def test_upload_mapping_preview_start_progress_done(
    client, users, django_capture_on_commit_callbacks
):
    # given the manager and a GB18030 CSV as WPS saves it, one row bad
    CustomerFactory(owner=users["rep1"], name="已有客户", mobile="13800000009")
    client.force_login(users["manager"])
    content = csv_bytes(
        [
            ["客户名称", "手机", "城市", "备用"],
            ["杭州万华化工", "13800000001", "杭州市", "x"],
            ["坏手机", "123", "", ""],
            ["已有客户", "13800000009", "", ""],
        ],
        "gb18030",
    )
    # when the file is uploaded
    response = upload(client, "客户.csv", content)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("transfers:import-mapping", args=[job.pk])
    # then the mapping page pre-selects the guessed fields
    page = client.get(response.url).content.decode()
    assert 'name="col_0"' in page and '<option value="name" selected>' in page
    assert job.mapping == ["name", "mobile", "city", ""]
    # when the user asks for a preview (htmx)
    preview = client.post(
        response.url, {**mapping_post(job), "preview": "1"}, headers={"HX-Request": "true"}
    )
    # then only the fragment comes back, with a verdict per row
    body = preview.content.decode()
    assert preview.status_code == 200 and "<html" not in body
    assert 'id="preview"' in body
    assert "will be created" in body and "will be skipped" in body
    assert "Mobile" in body and "123" in body
    assert Customer.objects.count() == 1  # nothing written by the preview
    # when the import is started
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response.url, {**mapping_post(job), "start": "1"})
    assert started.url == reverse("transfers:import-detail", args=[job.pk])
    # then the progress fragment shows the finished counts and stops polling
    fragment = client.get(started.url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and "every 1s" not in fragment
    assert 'data-count="created">1<' in fragment and 'data-count="failed">1<' in fragment
    assert 'data-count="skipped">1<' in fragment
    job.refresh_from_db()
    assert job.status == Status.DONE
    # and the error report downloads for its owner only
    report = client.get(reverse("transfers:import-errors", args=[job.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert report.status_code == 200 and "坏手机" in text
    client.force_login(users["admin"])
    assert client.get(reverse("transfers:import-errors", args=[job.pk])).status_code == 404
    assert client.get(reverse("transfers:import-detail", args=[job.pk])).status_code == 404


def test_running_job_progress_polls_every_second(client, users):
    client.force_login(users["admin"])
    upload(client, "a.csv", csv_bytes([["名称"], ["甲"]]))
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=Status.RUNNING, total=10, processed=4)
    page = client.get(reverse("transfers:import-detail", args=[job.pk]))
    body = page.content.decode()
    assert 'hx-trigger="every 1s"' in body and "width: 40%" in body


def test_user_without_any_import_permission_gets_403(client, users):
    # a service agent may import neither customers, contacts nor leads
    client.force_login(users["agent1"])
    assert client.get(reverse("transfers:import-new")).status_code == 403
    assert upload(client, "a.csv", b"name\nx\n").status_code == 403


def test_rep_may_not_import_customers(client, users):
    # a rep may import leads only: customers are not offered, and the service refuses them
    client.force_login(users["rep1"])
    assert 'value="customers"' not in client.get(reverse("transfers:import-new")).content.decode()
    assert upload(client, "a.csv", b"name\nx\n").status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("photo.png", b"\x89PNG\r\n", "cannot be imported"),
        ("bad.csv", b"name\n\x81\x20\xff\xfe\x80\n", "UTF-8"),
        ("broken.xlsx", b"PK\x03\x04garbage", "damaged"),
        ("blank.csv", b"\n\n,,\n", "no rows"),
    ],
)
def test_bad_files_get_a_clear_message_not_a_500(client, users, name, content, message):
    client.force_login(users["admin"])
    response = upload(client, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_too_large_file_is_refused(client, users, settings):
    settings.IMPORT_MAX_BYTES = 10
    client.force_login(users["admin"])
    response = upload(client, "big.csv", csv_bytes([["名称"], ["一个很长的客户名称"]]))
    assert response.status_code == 400 and "larger than" in response.content.decode()


def test_starting_without_a_name_column_is_refused(client, users):
    # given an XLSX whose name column the user set to "ignore"
    client.force_login(users["admin"])
    upload(client, "a.xlsx", xlsx_bytes([["客户名称", "手机"], ["甲", "13800000001"]]))
    job = ImportJob.objects.get()
    data = {**mapping_post(job), "col_0": "", "start": "1"}
    # when the import is started
    response = client.post(reverse("transfers:import-mapping", args=[job.pk]), data)
    # then the page explains, and nothing starts
    assert response.status_code == 200
    assert "Choose the column that holds the name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == Status.PENDING and not Customer.objects.exists()


def test_job_index_lists_only_my_jobs(client, users):
    client.force_login(users["admin"])
    upload(client, "mine.csv", csv_bytes([["名称"], ["甲"]]))
    client.force_login(users["manager"])
    page = client.get(reverse("transfers:job-index")).content.decode()
    assert "mine.csv" not in page
    client.force_login(users["admin"])
    assert "mine.csv" in client.get(reverse("transfers:job-index")).content.decode()
