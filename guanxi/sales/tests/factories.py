from decimal import Decimal

import factory
from django.utils import timezone

from guanxi.sales.models import AssignmentRule, Lead, Opportunity
from guanxi.sales.services import lead_prepare


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead saved directly (no routing, no audit entry): use services in the tests of
    behaviour, this for the data around them."""

    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"李四{n}")
    company = factory.Sequence(lambda n: f"苏州恒瑞{n}号科技有限公司")
    mobile = factory.Sequence(lambda n: f"1391234{n:04d}")
    province = "江苏省"
    city = "苏州市"
    owner = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        lead = model_class(*args, **kwargs)
        lead_prepare(lead)
        lead.save()
        return lead


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"规则{n}")
    method = AssignmentRule.Method.USER


def default_pipeline():
    """The default pipeline the data migration created."""
    from guanxi.sales.services import pipeline_default

    pipeline = pipeline_default()
    assert pipeline is not None
    return pipeline


class OpportunityFactory(factory.django.DjangoModelFactory):
    """An opportunity saved directly in the default pipeline's first stage (no history,
    no audit entry): use services in the tests of behaviour."""

    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"数控机床采购{n}")
    customer = factory.SubFactory("guanxi.customers.tests.factories.CustomerFactory")
    amount = Decimal("100000.00")
    owner = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        pipeline = kwargs.pop("pipeline", None) or default_pipeline()
        stage = kwargs.pop("stage", None) or pipeline.stages.order_by("order").first()
        opp = model_class(*args, pipeline=pipeline, stage=stage, **kwargs)
        opp.probability = stage.probability
        opp.stage_entered_at = timezone.now()
        if opp.owner_id and not opp.team_id:
            opp.team_id = opp.owner.team_id
        opp.save()
        return opp
