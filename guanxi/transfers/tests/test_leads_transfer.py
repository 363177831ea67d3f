"""Importing and exporting sales leads: through the sales services, scoped by role."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from guanxi.activities.models import AuditEntry, Notification
from guanxi.customers.tests.factories import ChannelFactory
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import AssignmentRuleFactory, LeadFactory
from guanxi.transfers import services
from guanxi.transfers.models import ExportJob, ImportIssue, ImportJob, Status
from guanxi.transfers.tests.conftest import csv_bytes, make_upload, xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "公司名称",
    "职务",
    "手机",
    "邮箱",
    "省份",
    "城市",
    "来源渠道",
    "市场活动",
    "意向等级",
    "负责人",
    "备注",
]


def row(
    name="王芳",
    mobile="",
    email="",
    *,
    company="苏州恒瑞电子",
    intent="",
    owner="",
    channel="",
    province="江苏省",
    city="苏州市",
):
    """One data row under HEADER."""
    return [
        *(name, company, "采购经理", mobile, email, province, city),
        *(channel, "2026春季展", intent, owner, "展会名片"),
    ]


def run_import(user, rows, *, mode="skip", name="leads.csv", content=None, batch_size=500):
    if content is None:
        content = csv_bytes([HEADER, *rows], "utf-8-sig")
    job = services.import_job_create(actor=user, kind="leads", upload=make_upload(name, content))
    services.import_job_configure(
        actor=user, job=job, mapping=job.mapping, duplicate_mode=mode, all_or_nothing=False
    )
    job.status = Status.RUNNING
    job.save()
    return services.import_job_run(job_id=job.pk, batch_size=batch_size)


def issues(job):
    return [(i.row, i.field, i.level, i.message) for i in ImportIssue.objects.filter(job=job)]


def grant(user, codename):
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


# --- import: happy paths -------------------------------------------------------------------


def test_bom_csv_with_chinese_headers_creates_leads_through_the_service(users):
    # given a manager's UTF-8-with-BOM file with Chinese headers and a known channel
    manager = users["manager"]
    ChannelFactory(name="展会")
    rows = [
        row(
            "王芳", "+86 139-1234-5678", "WANG@X.CN", intent="A级", owner="manager", channel="展会"
        ),
        row("李雷", "", "li@x.cn", intent="c", owner="manager"),
    ]
    # when it is imported
    job = run_import(manager, rows)
    # then the columns were recognised and both leads exist, normalised and marked imported
    assert job.mapping == [
        *("name", "company", "title", "mobile", "email", "province", "city"),
        *("channel", "campaign", "intent", "owner", "notes"),
    ]
    assert (job.status, job.created, job.failed, job.skipped) == (Status.DONE, 2, 0, 0)
    wang = Lead.objects.get(name="王芳")
    assert (wang.mobile, wang.email, wang.intent, wang.channel.name) == (
        "13912345678",
        "wang@x.cn",
        "A",
        "展会",
    )
    assert (wang.owner, wang.team_id, wang.source) == (manager, manager.team_id, "import")
    assert (wang.company, wang.title, wang.campaign, wang.notes) == (
        "苏州恒瑞电子",
        "采购经理",
        "2026春季展",
        "展会名片",
    )
    assert wang.name_initials == "wf"
    assert Lead.objects.get(name="李雷").intent == "C"
    # and each lead has the service's own audit entry
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=wang.pk)
    assert entry.action == AuditEntry.Action.CREATE and entry.actor == manager
    assert ImportJob.objects.get(pk=job.pk).error_file == ""


def test_xlsx_with_english_headers_and_numeric_mobile_cells(users):
    # given an Excel file where the mobile column holds numbers
    content = xlsx_bytes(
        [
            ["Name", "Company", "Mobile", "E-mail", "Intent level", "Owner"],
            ["Alice Wang", "Acme", 13900000001, "", "B", "admin"],
            ["", "Only A Company Ltd", "", "info@company.cn", "", "admin"],
        ]
    )
    # when the administrator imports it
    job = run_import(users["admin"], [], name="leads.xlsx", content=content)
    # then both rows are leads (a company alone is enough: it becomes the name)
    assert (job.status, job.created, job.failed) == (Status.DONE, 2, 0)
    assert Lead.objects.get(name="Alice Wang").mobile == "13900000001"
    assert Lead.objects.get(company="Only A Company Ltd").name == "Only A Company Ltd"


# --- import: bad rows ----------------------------------------------------------------------


def test_bad_rows_are_reported_with_field_and_reason_and_good_rows_imported(users):
    # given one good row and four bad ones
    ChannelFactory(name="展会")
    rows = [
        row("好线索", "13900000001", owner="admin"),
        row("坏手机", "12345", owner="admin"),
        row("未知渠道", "13900000002", owner="admin", channel="抖音直播"),
        row("坏意向", "13900000003", owner="admin", intent="Z级"),
        row("无联系方式", "", "", owner="admin"),
        row("", "13900000004", company="", owner="admin"),
    ]
    # when imported
    job = run_import(users["admin"], rows)
    # then the good row is in and each bad row is reported with its field and reason
    assert (job.created, job.failed) == (1, 5)
    assert list(Lead.objects.values_list("name", flat=True)) == ["好线索"]
    reported = {(r, f): m for r, f, _level, m in issues(job)}
    assert set(reported) == {
        (3, "mobile"),
        (4, "channel"),
        (5, "intent"),
        (6, "mobile"),
        (7, "name"),
    }
    assert "抖音直播" in reported[(4, "channel")]
    assert "Z级" in reported[(5, "intent")]
    assert "at least one way to reach" in reported[(6, "mobile")]
    # and the error report holds the reasons next to the original values
    job.refresh_from_db()
    with job.error_file.open("rb") as f:
        report = list(csv.reader(io.StringIO(f.read().decode("utf-8-sig"))))
    assert report[0][:4] == ["Row", "Result", "Field", "Reason"]
    assert report[2][:3] == ["4", "Error", "Source channel"] and "抖音直播" in report[2]


def test_every_problem_of_a_row_is_reported_not_only_the_first(users):
    job = run_import(users["admin"], [row("两处错", "12345", "not-an-email", owner="admin")])
    assert {f for _r, f, _l, _m in issues(job)} == {"mobile", "email"}


def test_a_rep_may_not_import_leads_for_someone_else(users):
    # given rep1 (no right to assign leads) names rep2 as owner of one row
    rows = [row("给自己", "13900000001", owner="rep1"), row("给别人", "13900000002", owner="rep2")]
    # when imported
    job = run_import(users["rep1"], rows)
    # then only the row rep1 owns is created
    assert (job.created, job.failed) == (1, 1)
    assert issues(job)[0][:2] == (3, "owner")
    assert Lead.objects.get().owner == users["rep1"]


def test_unknown_or_inactive_owner_is_a_row_error(users):
    job = run_import(users["admin"], [row("甲", "13900000001", owner="nobody")])
    assert issues(job)[0][1] == "owner" and "nobody" in issues(job)[0][3]


def test_all_or_nothing_imports_no_lead_when_a_row_is_bad(users):
    # given a file with one good and one bad row, imported all-or-nothing
    content = csv_bytes([HEADER, row("好", "13900000001"), row("坏", "12345")], "utf-8-sig")
    job = services.import_job_create(
        actor=users["admin"], kind="leads", upload=make_upload("a.csv", content)
    )
    services.import_job_configure(
        actor=users["admin"],
        job=job,
        mapping=job.mapping,
        duplicate_mode="skip",
        all_or_nothing=True,
    )
    job.status = Status.RUNNING
    job.save()
    # when it runs
    job = services.import_job_run(job_id=job.pk)
    # then nothing is written and the bad row is reported
    assert (job.status, job.created, job.failed) == (Status.DONE, 0, 1)
    assert not Lead.objects.exists()
    assert "Nothing was imported" in job.message


# --- import: duplicates --------------------------------------------------------------------


@pytest.fixture
def existing(users):
    """rep1's open lead (mobile 13900000001) and rep2's (e-mail dup@x.cn); a closed one."""
    by_mobile = LeadFactory(name="旧线索甲", mobile="13900000001", owner=users["rep1"])
    by_email = LeadFactory(name="旧线索乙", mobile="", email="dup@x.cn", owner=users["rep2"])
    LeadFactory(name="已转化", mobile="13900000009", status=Lead.Status.CONVERTED)
    return {"mobile": by_mobile, "email": by_email}


def _dup_rows():
    return [
        row("新甲", "139 0000 0001", intent="A", owner="manager"),  # same mobile as rep1's
        row("新乙", "", "DUP@x.cn", intent="B", owner="manager"),  # same e-mail as rep2's
        row("转化过", "13900000009", owner="manager"),  # only a converted lead: not a duplicate
        row("新丙", "13900000005", owner="manager"),
        row("新丙重复", "13900000005", owner="manager"),  # same as the row above
    ]


def test_skip_mode_skips_rows_matching_open_leads_by_mobile_then_email(users, existing):
    job = run_import(users["manager"], _dup_rows(), mode="skip")
    assert (job.created, job.updated, job.skipped, job.failed) == (2, 0, 3, 0)
    notes = {r: m for r, _f, level, m in issues(job) if level == "skipped"}
    assert "same mobile" in notes[2] and "same e-mail" in notes[3]
    assert "row 5" in notes[6]
    assert set(Lead.objects.filter(source="import").values_list("name", flat=True)) == {
        "转化过",
        "新丙",
    }


def test_update_mode_updates_matches_the_importer_may_edit(users, existing):
    # when the manager (team scope: rep1 and rep2 are in the team) imports in update mode
    job = run_import(users["manager"], _dup_rows(), mode="update")
    # then both matches are updated through lead_update, which logs the change
    assert (job.created, job.updated, job.skipped, job.failed) == (2, 2, 1, 0)
    by_mobile = Lead.objects.get(pk=existing["mobile"].pk)
    assert (by_mobile.name, by_mobile.intent, by_mobile.owner) == ("新甲", "A", users["manager"])
    assert AuditEntry.objects.filter(
        subject_type="lead", subject_id=by_mobile.pk, action=AuditEntry.Action.UPDATE
    ).exists()
    assert Lead.objects.get(pk=existing["email"].pk).intent == "B"


def test_update_mode_refuses_a_match_the_importer_may_not_edit(users, existing):
    # given rep1 imports a row matching rep2's lead
    job = run_import(users["rep1"], [row("改别人的", "", "dup@x.cn", owner="rep1")], mode="update")
    # then it is an error, and rep2's lead is unchanged
    assert (job.updated, job.failed) == (0, 1)
    assert "may not change" in issues(job)[0][3]
    assert Lead.objects.get(pk=existing["email"].pk).name == "旧线索乙"


def test_create_mode_creates_even_when_a_match_exists(users, existing):
    job = run_import(users["manager"], _dup_rows(), mode="create")
    assert (job.created, job.skipped) == (5, 0)
    assert Lead.objects.filter(mobile_normalized="13900000001").count() == 2


# --- import: routing -----------------------------------------------------------------------


def test_rows_without_owner_are_routed_by_the_assignment_rules(users):
    # given a rule sending 江苏省 leads to rep2, and a row from Beijing that no rule covers
    AssignmentRuleFactory(name="江苏", province="江苏省", user=users["rep2"])
    rows = [
        row("江苏线索", "13900000001"),
        row("江苏线索二", "13900000003"),
        row("江苏线索三", "13900000004"),
        row("北京线索", "13900000002", province="北京市", city="北京市"),
    ]
    # when the manager imports it with the owner column empty
    job = run_import(users["manager"], rows)
    # then the Jiangsu leads went to rep2 (told once, not per row), the other stays unassigned
    assert job.created == 4
    routed = Lead.objects.get(name="江苏线索")
    assert (routed.owner, routed.team_id) == (users["rep2"], users["rep2"].team_id)
    assert Lead.objects.get(name="北京线索").owner is None
    assert Notification.objects.filter(user=users["rep2"], kind="assigned").count() == 1
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=routed.pk)
    assert "江苏" in entry.message


# --- import: permission and pages ----------------------------------------------------------


def test_service_agent_may_not_import_leads(client, users):
    # given a service agent (no sales.add_lead)
    agent = users["agent1"]
    # then the service refuses, and the pages answer 403
    with pytest.raises(PermissionDenied):
        services.import_job_create(
            actor=agent, kind="leads", upload=make_upload("a.csv", csv_bytes([HEADER]))
        )
    client.force_login(agent)
    assert client.get(reverse("transfers:import-new") + "?kind=leads").status_code == 403
    response = client.post(
        reverse("transfers:import-new"),
        {"kind": "leads", "file": make_upload("a.csv", csv_bytes([HEADER, row()]))},
    )
    assert response.status_code == 403 and not ImportJob.objects.exists()


def test_kind_menu_offers_only_what_the_user_may_import(client, users):
    # a rep may add leads but not import customers: only leads are offered
    client.force_login(users["rep1"])
    index = client.get(reverse("transfers:job-index")).content.decode()
    assert "?kind=leads" in index and "?kind=customers" not in index
    page = client.get(reverse("transfers:import-new")).content.decode()
    assert 'value="leads"' in page and 'value="customers"' not in page
    response = client.post(
        reverse("transfers:import-new"),
        {"kind": "customers", "file": make_upload("a.csv", b"name\nx\n")},
    )
    assert response.status_code == 400 and not ImportJob.objects.exists()
    # the manager may import all three
    client.force_login(users["manager"])
    page = client.get(reverse("transfers:import-new") + "?kind=leads").content.decode()
    assert 'value="customers"' in page and '<option value="leads" selected>' in page


def test_marketer_imports_leads_through_the_pages(
    client, users, django_capture_on_commit_callbacks
):
    # given a marketer (may add leads, not edit them) uploads a campaign list
    AssignmentRuleFactory(name="全部", user=users["rep1"])
    client.force_login(users["marketer1"])
    content = csv_bytes([["姓名", "手机", "意向"], ["展会客户", "13900000001", "B级"]], "utf-8-sig")
    response = client.post(
        reverse("transfers:import-new"), {"kind": "leads", "file": make_upload("展会.csv", content)}
    )
    job = ImportJob.objects.get()
    assert response.url == reverse("transfers:import-mapping", args=[job.pk])
    data = {"col_0": "name", "col_1": "mobile", "col_2": "intent", "duplicate_mode": "skip"}
    # when previewing, then starting
    preview = client.post(response.url, {**data, "preview": "1"}, headers={"HX-Request": "true"})
    assert "will be created" in preview.content.decode() and not Lead.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {**data, "start": "1"})
    # then the lead is routed by the catch-all rule and the job page shows the count
    job.refresh_from_db()
    assert (job.status, job.created) == (Status.DONE, 1)
    assert Lead.objects.get().owner == users["rep1"]
    fragment = client.get(
        reverse("transfers:import-detail", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert 'data-count="created">1<' in fragment.content.decode()


def test_mapping_without_name_or_company_column_is_refused(users):
    job = services.import_job_create(
        actor=users["admin"],
        kind="leads",
        upload=make_upload("a.csv", csv_bytes([["手机", "备用"], ["13900000001", "x"]])),
    )
    with pytest.raises(Exception, match="name or the company"):
        services.import_job_configure(
            actor=users["admin"],
            job=job,
            mapping=job.mapping,
            duplicate_mode="skip",
            all_or_nothing=False,
        )


def test_300_rows_import_without_errors_at_a_bounded_cost_per_row(users):
    # given a 300-row file, half routed by a rule, half owned by the importer
    AssignmentRuleFactory(name="江苏", province="江苏省", user=users["rep1"])
    owners = ["", "manager"]
    rows = [
        row(f"线索{i}", f"139{i:08d}", f"l{i}@x.cn", intent="ABCD"[i % 4], owner=owners[i % 2])
        for i in range(300)
    ]
    # when imported in batches of 100
    with CaptureQueriesContext(connection) as queries:
        job = run_import(users["manager"], rows, batch_size=100)
    # then every row is a lead, with no error, at a per-row cost that does not grow
    assert (job.status, job.created, job.failed) == (Status.DONE, 300, 0)
    assert Lead.objects.filter(source="import").count() == 300
    assert Lead.objects.filter(owner=users["rep1"]).count() == 150
    assert len(queries) < 300 * 20, len(queries)


# --- export --------------------------------------------------------------------------------


@pytest.fixture
def leads(users):
    places = {"rep1": ("上海线索", "A"), "rep2": ("杭州线索", "B"), "rep3": ("北京线索", "A")}
    made = {
        rep: LeadFactory(name=name, owner=users[rep], team=users[rep].team, intent=intent)
        for rep, (name, intent) in places.items()
    }
    return {**made, "pool": LeadFactory(name="无人线索", owner=None)}


def export(client, user, **params):
    client.force_login(user)
    return client.get(reverse("transfers:export"), {"records": "leads", "format": "csv", **params})


def csv_names(response) -> set[str]:
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {r[0] for r in rows[1:]}


def test_export_is_scoped_by_role(client, users, leads):
    # a rep needs the export permission, and then exports only their own leads
    assert export(client, users["rep1"]).status_code == 403
    assert csv_names(export(client, grant(users["rep1"], "export_lead"))) == {"上海线索"}
    # the manager exports the team's, the executive all
    assert csv_names(export(client, users["manager"])) == {"上海线索", "杭州线索"}
    everything = {"上海线索", "杭州线索", "北京线索", "无人线索"}
    assert csv_names(export(client, users["exec1"])) == everything
    # a service agent gets nothing: no permission, and no lead scope even when granted it
    assert export(client, users["agent1"]).status_code == 403
    assert csv_names(export(client, grant(users["agent1"], "export_lead"))) == set()


def test_export_follows_the_lead_list_filters_and_is_audited(client, users, leads):
    response = export(client, users["exec1"], intent="A", q="北京")
    assert csv_names(response) == {"北京线索"}
    assert csv_names(export(client, users["exec1"], owner="none")) == {"无人线索"}
    job = ExportJob.objects.filter(kind="leads").first()
    assert job is not None and job.filters == {"owner": "none"}
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).first()
    assert entry is not None and entry.changes["rows"] == [None, 1]


def test_xlsx_export_round_trips_into_an_import_as_duplicates(client, users, leads):
    # given the executive's XLSX export of all leads
    response = export(client, users["exec1"], format="xlsx")
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:4] == ["Name", "Company", "Job title", "Mobile"]
    assert sheet.max_row == 5
    # when the admin imports the same file
    job = run_import(users["admin"], [], name="leads.xlsx", content=content)
    # then every column maps back and every row is recognised as an existing lead
    assert "owner" in job.mapping and "intent" in job.mapping
    assert (job.created, job.skipped, job.failed) == (0, 4, 0)


def test_vcard_export_of_leads_is_refused(client, users, leads):
    response = export(client, users["exec1"], format="vcf")
    assert response.status_code == 400
