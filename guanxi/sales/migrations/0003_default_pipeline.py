"""The default pipeline, 标准销售流程, with the demo company's own stage names (data)."""

from django.db import migrations

PIPELINE = "标准销售流程"
STAGES = [
    ("初步接洽", 10, "open"),
    ("需求确认", 30, "open"),
    ("方案报价", 50, "open"),
    ("商务谈判", 70, "open"),
    ("赢单", 100, "won"),
    ("输单", 0, "lost"),
]


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.filter(is_default=True).exists():
        return
    pipeline = Pipeline.objects.create(name=PIPELINE, is_default=True, currency="CNY")
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, order=(i + 1) * 10, probability=p, kind=kind)
        for i, (name, p, kind) in enumerate(STAGES)
    )


def remove_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Opportunity = apps.get_model("sales", "Opportunity")
    for pipeline in Pipeline.objects.filter(name=PIPELINE, is_default=True):
        if not Opportunity.objects.filter(pipeline=pipeline).exists():
            pipeline.delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0002_opportunities_and_pipelines")]

    operations = [migrations.RunPython(create_default_pipeline, remove_default_pipeline)]
