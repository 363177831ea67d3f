"""Covering indexes for the kanban board and the forecast (PostgreSQL).

Both read every open (or open and won) opportunity in the viewer's scope: at 2,000,000
opportunities the board's count and sum per column took ~1 s and the forecast's
aggregate ~2 s, reading the table from the heap. With the columns they need included, and
the rows they skip left out, both become index-only scans. A rep's board (own scope) reads
its totals and each column's newest cards from ``opp_board_owner_idx`` instead of
filtering every open opportunity of the pipeline (~100 ms per column → < 1 ms).
See bench/seed_sales.py and docs/performance.md, "Sales at scale".

``INCLUDE`` is PostgreSQL-only (Django warns about it on SQLite), so these are plain SQL
and not in the model state; SQLite gets nothing. Built ``CONCURRENTLY`` so that writes go
on while a large table is indexed.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS opp_board_idx ON sales_opportunity "
    "(pipeline_id, stage_id) INCLUDE (owner_id, team_id, amount, id) "
    "WHERE status = 'open' AND deleted_at IS NULL",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS opp_board_owner_idx ON sales_opportunity "
    "(owner_id, pipeline_id, stage_id, updated_at DESC) INCLUDE (team_id, amount, id) "
    "WHERE status = 'open' AND deleted_at IS NULL",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS opp_forecast_idx ON sales_opportunity "
    "(pipeline_id, expected_close_date) "
    "INCLUDE (status, forecast_category, stage_id, owner_id, team_id, amount, id) "
    "WHERE deleted_at IS NULL AND status IN ('open', 'won')",
]
POSTGRES_BACKWARD = [
    "DROP INDEX CONCURRENTLY IF EXISTS opp_board_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS opp_board_owner_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS opp_forecast_idx",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("sales", "0004_stage_probability_max")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
