"""Trigram search index on ``Customer.search_text``.

PostgreSQL: the ``pg_trgm`` extension and a GIN index. SQLite: an external-content FTS5
table with the ``trigram`` tokenizer, kept in step by triggers.
"""

from django.db import migrations

FTS = "customers_customer_fts"

SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search_text, "
    "content='customers_customer', content_rowid='id', tokenize='trigram')",
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ai AFTER INSERT ON customers_customer
        BEGIN INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END""",
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ad AFTER DELETE ON customers_customer
        BEGIN INSERT INTO {FTS}({FTS}, rowid, search_text)
              VALUES ('delete', old.id, old.search_text); END""",
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_au
        AFTER UPDATE OF search_text ON customers_customer
        BEGIN INSERT INTO {FTS}({FTS}, rowid, search_text)
              VALUES ('delete', old.id, old.search_text);
              INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END""",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS customers_customer_fts_ai",
    "DROP TRIGGER IF EXISTS customers_customer_fts_ad",
    "DROP TRIGGER IF EXISTS customers_customer_fts_au",
    f"DROP TABLE IF EXISTS {FTS}",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS cust_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS cust_search_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_customer_relations")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
