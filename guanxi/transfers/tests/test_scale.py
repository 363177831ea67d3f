"""A 20,000-row import runs in bounded memory (streamed, batched)."""

import time
import tracemalloc

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import TagFactory
from guanxi.transfers import services
from guanxi.transfers.models import Status
from guanxi.transfers.tests.conftest import csv_bytes, make_upload

pytestmark = pytest.mark.django_db

ROWS = 20_000
CITIES = ["杭州市", "上海市", "北京市", "深圳市", "成都市"]


def generated_csv(rows: int) -> bytes:
    header = ["客户名称", "手机", "邮箱", "城市", "客户等级", "标签", "负责人"]
    data = [
        [
            f"测试客户{i}号贸易有限公司",
            f"139{i:08d}",
            f"c{i}@example.cn",
            CITIES[i % 5],
            ["重点客户", "普通客户"][i % 2],
            "展会,老客户" if i % 3 else "",
            "rep1",
        ]
        for i in range(rows)
    ]
    data[123][1] = "12345"  # one bad row, reported, not fatal
    return csv_bytes([header, *data], "utf-8-sig")


def _start(user, rows: int):
    TagFactory(name="展会")
    job = services.import_job_create(
        actor=user, kind="customers", upload=make_upload("big.csv", generated_csv(rows))
    )
    services.import_job_configure(
        actor=user, job=job, mapping=job.mapping, duplicate_mode="skip", all_or_nothing=False
    )
    job.status = Status.RUNNING
    job.save()
    return job


def test_20k_row_csv_imports_with_constant_python_heap(users, capsys):
    # given a generated 20,000-row CSV (UTF-8 with BOM), one row bad
    job = _start(users["manager"], ROWS)
    # when it is imported, with tracemalloc switched on for the last 2,000 rows only
    # (tracing every allocation makes Django ~4x slower; a leak would show there too)
    real_commit = services._commit_batch
    heap: list[int] = []

    def commit(job, results, offset):
        done = real_commit(job, results, offset)
        if offset + len(results) >= ROWS - 2_000 and not tracemalloc.is_tracing():
            tracemalloc.start()
        elif tracemalloc.is_tracing():
            heap.append(tracemalloc.get_traced_memory()[0])
        return done

    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_commit_batch", commit)
        job = services.import_job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # then every good row is in and the bad one reported
    assert (job.status, job.created, job.failed) == (Status.DONE, ROWS - 1, 1)
    assert Customer.objects.count() == ROWS - 1
    assert Customer.objects.filter(owner=users["rep1"], tags__name="老客户").count() > 13_000
    # and the heap neither peaks high nor grows from batch to batch
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert heap[-1] - heap[0] < 2 * 1024 * 1024, f"heap grew {heap}"
    with capsys.disabled():
        print(
            f"\n20k import: {seconds:.1f} s ({ROWS / seconds:.0f} rows/s incl. traced tail), "
            f"traced peak {peak / 1e6:.1f} MB, heap per batch {[h // 1000 for h in heap]} kB"
        )
