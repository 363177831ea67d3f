import factory

from guanxi.sales.models import AssignmentRule, Lead
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
